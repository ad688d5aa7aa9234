"""How far to trust a picture: neighbourhood preservation and k-NN label accuracy of a layout."""

from __future__ import annotations

import numpy as np


def _knn(points: np.ndarray, k: int) -> np.ndarray:
    """Indices (N, k) of each point's k nearest other points (Euclidean)."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=k + 1).fit(points)
    idx = nn.kneighbors(return_distance=False, n_neighbors=k)  # excludes the point itself
    return idx


def faithfulness(
    codes: np.ndarray, layout: np.ndarray, k: int = 10, max_points: int = 20000, seed: int = 0
) -> tuple[float, np.ndarray]:
    """Share of each point's ``k`` nearest neighbours in code space that are also among its ``k``
    nearest in the plot.

    Returns (mean over points, per-point float32 (N,) in [0, 1]). Sets larger than ``max_points``
    are measured on a seeded random subset of that size (neighbours within the subset); the other
    points get NaN.
    """
    codes = np.asarray(codes, dtype=np.float32)
    layout = np.asarray(layout, dtype=np.float32)
    n = len(codes)
    per_point = np.full(n, np.nan, dtype=np.float32)
    if n < 2:
        return float("nan"), per_point
    idx = np.arange(n)
    if n > max_points:
        idx = np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))
    k = min(k, len(idx) - 1)
    high = _knn(codes[idx], k)
    low = _knn(layout[idx], k)
    # per row: how many of the code-space neighbours appear in the plot neighbours
    hits = (high[:, :, None] == low[:, None, :]).any(axis=2).sum(axis=1)
    per_point[idx] = hits / k
    return float(per_point[idx].mean()), per_point


def knn_label_accuracy(
    layout: np.ndarray, labels: np.ndarray, k: int = 10, sample: int | None = None, seed: int = 0
) -> float:
    """Leave-one-out k-NN classification accuracy in the plot: how well classes separate.

    layout (N, 2) (or any (N, D) points), labels (N,) int (< 0: unlabelled, left out). With
    ``sample`` and more labelled points than that, only a seeded random ``sample`` of them vote
    (their neighbours are still searched among all points), so a million points cost seconds.
    """
    labels = np.asarray(labels)
    keep = labels >= 0
    pts, lab = np.asarray(layout, dtype=np.float32)[keep], labels[keep]
    if len(lab) <= k:
        return float("nan")
    if sample is not None and len(lab) > sample:
        from sklearn.neighbors import NearestNeighbors

        rows = np.sort(np.random.default_rng(seed).choice(len(lab), sample, replace=False))
        idx = NearestNeighbors(n_neighbors=k + 1).fit(pts).kneighbors(pts[rows], return_distance=False)
        # drop each query itself (or its last neighbour when a duplicate took its place)
        not_self = idx != rows[:, None]
        keep_nb = np.where(not_self.all(axis=1, keepdims=True), np.arange(k + 1) < k, not_self)
        neigh, truth = lab[idx[keep_nb].reshape(-1, k)], lab[rows]
    else:
        neigh, truth = lab[_knn(pts, k)], lab  # (N, k)
    n_classes = int(lab.max()) + 1
    votes = np.zeros((len(truth), n_classes), dtype=np.int32)
    np.add.at(votes, (np.repeat(np.arange(len(truth)), k), neigh.ravel()), 1)
    return float((votes.argmax(1) == truth).mean())
