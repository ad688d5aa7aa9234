"""Seeded pair and triplet sampling from class labels (for the metric models).

Items with label -1 (unknown) are never sampled.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np


def class_members(labels: np.ndarray) -> dict[int, np.ndarray]:
    """class -> indices of its items (classes with label >= 0 only)."""
    labels = np.asarray(labels)
    return {int(c): np.flatnonzero(labels == c) for c in np.unique(labels[labels >= 0])}


def balanced_pairs(
    labels: np.ndarray, n_pairs: int, rng: np.random.Generator, positive_fraction: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n_pairs`` index pairs (i, j) and same (1.0 = same class), about half of them positive.

    Positives: a random item of a class with two or more items, and another item of that class.
    Negatives: a random item and a random item of a different class. Returns (i, j, same) arrays.
    """
    labels = np.asarray(labels)
    groups = class_members(labels)
    multi = [c for c, m in groups.items() if len(m) >= 2]
    if len(groups) < 2:
        raise ValueError("pairs need at least two classes")
    n_pos = int(round(n_pairs * positive_fraction)) if multi else 0
    n_neg = n_pairs - n_pos
    # positives: class chosen in proportion to its size, then two distinct members
    pool = np.concatenate([groups[c] for c in multi]) if multi else np.zeros(0, np.int64)
    i_pos = rng.choice(pool, n_pos) if n_pos else np.zeros(0, np.int64)
    j_pos = np.empty_like(i_pos)
    for c in multi:
        sel = np.flatnonzero(labels[i_pos] == c)
        if len(sel) == 0:
            continue
        members = groups[c]
        # a different member: offset the anchor's position by 1..len-1 (never itself)
        pos = np.searchsorted(members, i_pos[sel])
        j_pos[sel] = members[(pos + rng.integers(1, len(members), len(sel))) % len(members)]
    # negatives: any labelled item, and one of another class
    labelled = np.flatnonzero(labels >= 0)
    i_neg = rng.choice(labelled, n_neg)
    j_neg = rng.choice(labelled, n_neg)
    clash = labels[i_neg] == labels[j_neg]
    while clash.any():
        j_neg[clash] = rng.choice(labelled, int(clash.sum()))
        clash = labels[i_neg] == labels[j_neg]
    i = np.concatenate([i_pos, i_neg])
    j = np.concatenate([j_pos, j_neg])
    same = np.concatenate([np.ones(n_pos, np.float32), np.zeros(n_neg, np.float32)])
    order = rng.permutation(len(i))
    return i[order], j[order], same[order]


def partner_pairs(
    n: int, n_pairs: int, rng: np.random.Generator, positive_fraction: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i, j, same) of a pair set of ``n`` items, for matching x_i against partners y_j:
    about ``positive_fraction`` of them j = i (an image and its own partner, same = 1.0), the
    rest j != i drawn at random (same = 0.0)."""
    if n < 2:
        raise ValueError("partner pairs need at least two items")
    i = rng.integers(0, n, n_pairs)
    same = rng.random(n_pairs) < positive_fraction
    j = np.where(same, i, (i + rng.integers(1, n, n_pairs)) % n)
    return i, j, same.astype(np.float32)


def class_balanced_batches(
    labels: np.ndarray, batch_size: int, rng: np.random.Generator, per_class: int = 4
) -> Iterator[np.ndarray]:
    """P x K batches (P classes, ``per_class`` = K items each) for in-batch triplet mining.

    One epoch yields about len(labelled items) / batch_size batches; classes with fewer than K
    items are sampled with replacement.
    """
    groups = class_members(labels)
    classes = np.array(sorted(groups))
    k = max(2, int(per_class))
    p = max(2, min(len(classes), batch_size // k))
    n_batches = max(1, -(-sum(len(m) for m in groups.values()) // batch_size))
    for _ in range(n_batches):
        chosen = rng.choice(classes, p, replace=False)
        idx = [rng.choice(groups[c], k, replace=len(groups[c]) < k) for c in chosen]
        yield np.concatenate(idx)


def class_held_out_split(
    labels: np.ndarray, fraction: float, seed: int, min_classes: int = 8
) -> tuple[np.ndarray, np.ndarray] | None:
    """Seeded (train, validation) index arrays with whole classes held out for validation.

    About ``fraction`` of the labelled classes (at least two, so validation has impostor pairs
    among unseen identities) go to validation; training keeps at least two. None when there are
    fewer than ``min_classes`` classes (then a split within classes is the only one possible).
    Items with unknown labels (-1) stay in training.
    """
    labels = np.asarray(labels)
    classes = np.unique(labels[labels >= 0])
    if fraction <= 0 or len(classes) < max(min_classes, 4):
        return None
    k = min(len(classes) - 2, max(2, int(round(fraction * len(classes)))))
    held = np.random.default_rng([seed, 17]).choice(classes, k, replace=False)
    val = np.isin(labels, held)
    return np.flatnonzero(~val), np.flatnonzero(val)
