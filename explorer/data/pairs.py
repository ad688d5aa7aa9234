"""Pairs and quadruples from data sets, numpy only (no torch, no models).

A relational model learns from pairs (x, y). They come from an ImageSet either directly (its
``partners``: the generated shift / rotation / stereo sets) or from sequences: in a folder with
one sub-folder per sequence (a video, a turning object), consecutive frames in natural sort order
form the pairs. An analogy test needs quadruples (x, y, x', y') where y' is x' under the same
transform as y is of x: pairs with equal true transform parameters, or, for sequences whose motion
is constant, two steps of the same sequence.
"""

from __future__ import annotations

import os
import re

import numpy as np

from explorer.core.errors import DataError
from explorer.core.imageset import ImageSet
from explorer.core.preprocess import to_float


def natural_key(text: str) -> list:
    """Sort key that orders "frame2" before "frame10"."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", text)]


def sequence_order(data: ImageSet) -> list[np.ndarray]:
    """Indices of each sequence (one per class, or one for an unlabelled set), frames in natural
    order of their file names (the data set's order when it has no paths)."""
    n = data.count
    labels = data.labels if data.labels is not None else np.zeros(n, dtype=np.int64)
    seqs = []
    for lab in np.unique(labels):
        idx = np.flatnonzero(labels == lab)
        if data.paths is not None:
            idx = np.array(
                sorted(idx, key=lambda i: natural_key(os.path.basename(str(data.paths[i])))),
                dtype=np.int64,
            )
        seqs.append(idx)
    return seqs


def sequence_pairs(data: ImageSet) -> tuple[np.ndarray, np.ndarray]:
    """(first, second) index arrays of consecutive frames within each sequence."""
    firsts, seconds = [], []
    for idx in sequence_order(data):
        firsts.append(idx[:-1])
        seconds.append(idx[1:])
    first = np.concatenate(firsts) if firsts else np.zeros(0, np.int64)
    second = np.concatenate(seconds) if seconds else np.zeros(0, np.int64)
    if len(first) == 0:
        raise DataError(
            f"{data.name or 'this data set'} has no image pairs: open a pair set (sample:shifts) "
            "or a folder of sequences with at least two frames per sub-folder."
        )
    return first, second


def image_pairs(data: ImageSet) -> tuple[np.ndarray, np.ndarray]:
    """All training pairs of ``data`` as float32 (N, C, H, W) arrays (x, y) in [0, 1]."""
    if not data.has_images:
        raise DataError(
            f"{data.name or 'this data set'} holds codes, not images: a relational model needs images."
        )
    if data.partners is not None:
        return data.float_images(), data.float_partners()
    first, second = sequence_pairs(data)
    images = data.float_images()
    return images[first], images[second]


# transform parameters (other keys, such as a patch's row and column, say where, not how)
TRANSFORM_KEYS = ("dx", "dy", "angle", "disparity", "omega", "vx", "vy", "factor")


def transform_keys(transforms: dict[str, np.ndarray], decimals: int = 3) -> np.ndarray | None:
    """One integer id per item such that equal ids mean equal true transforms, or None."""
    names = sorted(k for k in transforms if k in TRANSFORM_KEYS)
    if not names:
        return None
    cols = [np.round(np.asarray(transforms[k], dtype=np.float64), decimals) for k in names]
    table = np.stack(cols, axis=1)
    _, ids = np.unique(table, axis=0, return_inverse=True)
    return ids.ravel().astype(np.int64)


def quadruple_indices(
    data: ImageSet, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Index arrays (x, y, x', y') of up to ``count`` quadruples from ``data``.

    Pair sets with true transforms: two different pairs with equal transforms. Sequences: two
    different steps of the same sequence (constant motion assumed). None when none can be formed.
    When the data holds fewer than ``ALL_QUADRUPLES`` times ``count`` distinct quadruples they are
    drawn without repeats (so never more than there are: 6 frames gave "300 analogies" of 4);
    past that, with repeats (few at that ratio), as the scores on record were drawn.
    """
    if data.partners is not None:
        keys = transform_keys(data.transforms)
        if keys is None and data.labels is not None and len(np.unique(data.labels)) < data.count:
            keys = data.labels  # pairs of one sequence (as_pair_set): its motion is constant
        if keys is None:
            return None
        n = data.count
        order = np.argsort(keys, kind="stable")
        groups = np.split(order, np.flatnonzero(np.diff(keys[order])) + 1)
        groups = [g for g in groups if len(g) >= 2]
        if not groups:
            return None
        few = _distinct_quadruples(groups, count, rng)
        if few is not None:
            return few[0], few[0], few[1], few[1]
        i = rng.integers(0, n, size=count * 2)
        group_of = {int(j): g for g in groups for j in g}
        a, b = [], []
        for j in i:
            g = group_of.get(int(j))
            if g is None:
                continue
            k = int(rng.choice(g))
            if k == j:
                continue
            a.append(int(j))
            b.append(k)
            if len(a) == count:
                break
        a, b = np.array(a, np.int64), np.array(b, np.int64)
        return a, a, b, b  # partners are indexed like images
    first, second = sequence_pairs(data)
    seq_id = np.zeros(data.count, np.int64)
    for s, idx in enumerate(sequence_order(data)):
        seq_id[idx] = s
    pair_seq = seq_id[first]
    per_sequence = np.split(np.arange(len(first)), np.flatnonzero(np.diff(pair_seq)) + 1)
    few = _distinct_quadruples(per_sequence, count, rng)
    if few is not None:
        return (first[few[0]], second[few[0]], first[few[1]], second[few[1]]) if len(few[0]) else None
    a, b = [], []
    for _ in range(count * 4):
        p = int(rng.integers(0, len(first)))
        same = np.flatnonzero(pair_seq == pair_seq[p])
        q = int(rng.choice(same))
        if q != p:
            a.append(p)
            b.append(q)
        if len(a) == count:
            break
    if not a:
        return None
    a, b = np.array(a, np.int64), np.array(b, np.int64)
    return first[a], second[a], first[b], second[b]


ALL_QUADRUPLES = 10  # draw without repeats below this many distinct quadruples per one asked for


def _distinct_quadruples(groups: list[np.ndarray], count: int, rng: np.random.Generator):
    """(a, b) index arrays of up to ``count`` distinct ordered pairs a != b within one group, drawn
    without repeats, when the groups hold fewer than ALL_QUADRUPLES * count of them; else None."""
    sizes = np.array([len(g) for g in groups], np.int64)
    if int((sizes * (sizes - 1)).sum()) >= ALL_QUADRUPLES * count:
        return None
    pairs = [(int(g[i]), int(g[j])) for g in groups for i in range(len(g)) for j in range(len(g)) if i != j]
    pick = rng.permutation(len(pairs))[:count]
    a = np.array([pairs[k][0] for k in pick], np.int64)
    b = np.array([pairs[k][1] for k in pick], np.int64)
    return a, b


def quadruple_images(
    data: ImageSet, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Float32 images (x, y, x', y') of up to ``count`` quadruples of ``data`` (see above)."""
    idx = quadruple_indices(data, count, rng)
    if idx is None:
        return None
    ix, iy, jx, jy = idx
    if data.partners is not None:
        return data.float_images(ix), data.float_partners(iy), data.float_images(jx), data.float_partners(jy)
    return data.float_images(ix), data.float_images(iy), data.float_images(jx), data.float_images(jy)


def as_pair_set(data: ImageSet) -> ImageSet:
    """``data`` as a pair set the training engine takes: unchanged when it has partners, else one
    item per pair of consecutive frames (x = frame t, partner = frame t + 1, label = sequence)."""
    if data.partners is not None:
        return data
    if not data.has_images:
        raise DataError(
            f"{data.name or 'this data set'} holds codes, not images: a relational model needs images."
        )
    first, second = sequence_pairs(data)
    return ImageSet(
        images=data.images[first],
        partners=data.images[second],
        labels=None if data.labels is None else data.labels[first],
        class_names=list(data.class_names),
        paths=None
        if data.paths is None
        else [f"{data.paths[i]} -> {os.path.basename(str(data.paths[j]))}" for i, j in zip(first, second)],
        name=data.name,
        format=data.format,
        skipped=list(data.skipped),
        notes=list(data.notes)
        + [f"{len(first)} pairs of consecutive frames from {len(sequence_order(data))} sequences"],
    )


SEQUENCE_PX = 32  # looks_like_sequences compares frames subsampled to this size: on the GUI thread,
# 64 photos of 267x397 at full size took 240 ms


def looks_like_sequences(
    data: ImageSet, sequences: int = 8, frames: int = 8, share: float = 0.6, z: float = 3.0
) -> bool:
    """Whether ``data`` is a folder of sequences (a video or a turning object per sub-folder, what a
    relational model learns from) rather than a folder of classes: a folder set without partners,
    at least three frames per sub-folder, and for at least ``share`` of the frames of up to
    ``sequences`` sub-folders (spread over the set; their first ``frames`` frames), the closest
    other frame of the sub-folder (mean squared pixel difference) is a neighbour in natural file
    order. In a class's pictures that happens by chance (about 2 in ``frames - 1``), and so the
    hits must also stand ``z`` standard deviations above what chance gives (2 per sub-folder): a
    folder of two classes of three pictures each otherwise passed (chance alone gives 4 of its 6
    frames). Reads at most ``sequences * frames`` images."""
    if not data.has_images or data.partners is not None or not data.format.startswith("folder"):
        return False
    seqs = sequence_order(data)
    if len(seqs) < 2 or min(len(s) for s in seqs) < 3:
        return False
    picked = [seqs[int(i)] for i in np.linspace(0, len(seqs) - 1, min(sequences, len(seqs))).round()]
    hits = total = 0
    chance = chance_var = 0.0  # hits by chance: frame k's nearest is one of its m - 1 others
    for idx in picked:
        raw = np.asarray(data.images[idx[:frames]])
        m = len(raw)
        p = np.full(m, 2 / (m - 1))
        p[[0, -1]] = 1 / (m - 1)  # the first and last frames have one neighbour in order
        chance += float(p.sum())
        chance_var += float((p * (1 - p)).sum())
        step = max(1, -(-max(raw.shape[-2:]) // SEQUENCE_PX))  # nearest frames at <= 32 px a side
        x = to_float(raw[..., ::step, ::step]).reshape(len(raw), -1).astype(np.float64)
        sq = (x * x).sum(1)
        d = sq[:, None] + sq[None, :] - 2 * x @ x.T
        np.fill_diagonal(d, np.inf)
        nearest = np.argmin(d, axis=1)
        hits += int((np.abs(nearest - np.arange(len(x))) == 1).sum())
        total += len(x)
    return hits >= share * total and hits - chance >= z * np.sqrt(chance_var)


RUN_FRAMES = 8  # a sample of sequences keeps at least this many consecutive frames of each it takes


def spread_sample(data: ImageSet, count: int, seed: int = 0, runs: bool = False) -> np.ndarray:
    """Sorted indices of up to ``count`` items of ``data`` spread evenly over its classes (the
    sequences of :func:`sequence_order`; an unlabelled set is one), seeded. Each class gets an equal
    share (a smaller one all it has, the rest shared among the others). With ``runs`` (a folder of
    sequences, whose pairs are consecutive frames) a sequence's share is one run of consecutive
    frames in natural order at a seeded start, and when the shares would be shorter than
    RUN_FRAMES, a seeded choice of the sequences gets runs of that length instead; without, a
    class's share is a seeded random choice of its items."""
    rng = np.random.default_rng(seed)
    count = int(count)
    if count >= data.count:
        return np.arange(data.count, dtype=np.int64)
    groups = sequence_order(data)
    least = RUN_FRAMES if runs else 1
    if count < least * len(groups):
        keep = max(1, count // least)
        groups = [groups[int(i)] for i in np.sort(rng.choice(len(groups), keep, replace=False))]
    shares = {}
    left = count
    by_size = sorted(range(len(groups)), key=lambda g: len(groups[g]))
    for k, g in enumerate(by_size):
        shares[g] = min(len(groups[g]), left // (len(groups) - k))
        left -= shares[g]
    picks = []
    for g, idx in enumerate(groups):
        m = shares[g]
        if runs:
            start = int(rng.integers(0, len(idx) - m + 1))
            picks.append(idx[start : start + m])
        else:
            picks.append(rng.choice(idx, m, replace=False))
    return np.sort(np.concatenate(picks)).astype(np.int64)


def group_word(data: ImageSet) -> str:
    """What the sub-folders of ``data`` are, for a count in the UI: "sequences" for a folder of
    sequences (:func:`looks_like_sequences`), else "classes" (24 turning objects read "24 classes")."""
    return "sequences" if looks_like_sequences(data) else "classes"
