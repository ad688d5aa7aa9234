"""The pair protocol: which (i, j) pairs of a labelled set a verification score is measured on.

Up to ``all_pairs_limit`` labelled items every unordered pair is used (i < j). Past that a seeded
sample of ``sample_size`` pairs is drawn, half genuine (same class) and half impostor (different
classes), with every class that has at least two items given genuine pairs and every class taking
part in impostor pairs, so a large set is never dominated by impostors and no class goes unseen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ALL_PAIRS_LIMIT = 3000
SAMPLE_SIZE = 200_000


@dataclass(frozen=True)
class Pairs:
    """Pairs of item indices into a data set.

    i, j:     (P,) int64 indices, i != j.
    same:     (P,) bool, True for a genuine pair (same class).
    protocol: "all" (every pair of labelled items) or "sampled".
    """

    i: np.ndarray
    j: np.ndarray
    same: np.ndarray
    protocol: str

    def __len__(self) -> int:
        return len(self.i)

    @property
    def genuine(self) -> int:
        return int(self.same.sum())

    @property
    def impostor(self) -> int:
        return int(len(self.same) - self.same.sum())


def make_pairs(
    labels: np.ndarray,
    seed: int = 0,
    all_pairs_limit: int = ALL_PAIRS_LIMIT,
    sample_size: int = SAMPLE_SIZE,
    max_pairs: int | None = None,
) -> Pairs:
    """The verification pairs of a labelled set (labels (N,) int, -1 = unknown and left out).

    ``max_pairs`` caps the count for slow scorers (a pair classifier runs a network per pair):
    when all pairs would be more, a seeded balanced sample of ``max_pairs`` is drawn instead.
    """
    labels = np.asarray(labels, dtype=np.int64)
    known = np.flatnonzero(labels >= 0)
    classes, counts = np.unique(labels[known], return_counts=True)
    if len(classes) < 2 or not (counts >= 2).any():
        raise ValueError(
            "verification needs labelled items of at least two classes, one with two or more items"
        )
    n_all = len(known) * (len(known) - 1) // 2
    if max_pairs is not None and n_all > max_pairs:
        return _sample_pairs(labels, known, classes, int(max_pairs), np.random.default_rng(seed))
    if len(known) <= all_pairs_limit:
        a, b = np.triu_indices(len(known), k=1)
        i, j = known[a], known[b]
        return Pairs(i, j, labels[i] == labels[j], "all")
    size = sample_size if max_pairs is None else min(sample_size, int(max_pairs))
    return _sample_pairs(labels, known, classes, size, np.random.default_rng(seed))


def _sample_pairs(labels, known, classes, size, rng) -> Pairs:
    members = [known[labels[known] == c] for c in classes]
    # genuine: the same number from every class that has two or more items
    able = [m for m in members if len(m) >= 2]
    n_gen = size // 2
    per = np.full(len(able), n_gen // len(able))
    per[: n_gen - per.sum()] += 1
    gi, gj = [], []
    for m, k in zip(able, per):
        a = rng.integers(0, len(m), k)
        b = (a + rng.integers(1, len(m), k)) % len(m)  # never the same item
        gi.append(m[a])
        gj.append(m[b])
    # impostor: the first item cycles through every class in turn, the second from any other class
    n_imp = size - n_gen
    ca = np.arange(n_imp) % len(classes)
    rng.shuffle(ca)
    cb = (ca + rng.integers(1, len(classes), n_imp)) % len(classes)
    sizes = np.array([len(m) for m in members])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat = np.concatenate(members)
    ii = flat[starts[ca] + (rng.random(n_imp) * sizes[ca]).astype(np.int64)]
    jj = flat[starts[cb] + (rng.random(n_imp) * sizes[cb]).astype(np.int64)]
    i = np.concatenate(gi + [ii])
    j = np.concatenate(gj + [jj])
    order = rng.permutation(len(i))
    i, j = i[order], j[order]
    return Pairs(i, j, labels[i] == labels[j], "sampled")
