"""Landmarks for big layouts: which points to fit, their nearest landmarks, and placing the rest.

A t-SNE or UMAP of 10^6 codes is fitted on ``m`` landmarks (about 10,000-20,000) and every other
point is placed from its nearest landmarks. :func:`choose_landmarks` picks them so that small
classes and outliers are in the fit:

1. a share of the landmarks is spread over the classes when labels are given (stratified: each
   class gets its proportional share but at least ``min_per_class`` points, or all of its points
   when it is smaller), or drawn uniformly at random without labels;
2. the rest (``outlier_share``, 10% by default) are drawn by k-means++ (D²) sampling: with
   probability proportional to the squared distance to the nearest of 256 random "centres", so
   points far from everything (outliers, thin classes, sparse fringes) are much more likely to
   be picked than points in the dense middle of a class.

:func:`nearest_landmarks` is an exact search (FAISS's flat L2 index, in blocks, a generator so it
can be cancelled and report progress). :func:`weighted_place` puts a point at the weighted mean of
its landmarks' positions, and exactly on a landmark it duplicates.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from explorer.core.progress import Progress

CENTRES = 256
SEARCH_BLOCK = 8192  # queries per block: a cancel point every ~0.1-0.5 s at 10^4 landmarks


def free_cores() -> int:
    """Cores not already busy (1-minute load average), at least 1 (as for openTSNE)."""
    from explorer.projection.tsne import free_cores as cores

    return cores()


@contextmanager
def faiss_threads(n: int):
    """Run FAISS (OpenMP) on ``n`` threads for the block, then restore its setting."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def landmark_count(n: int) -> int:
    """How many landmarks an ``n``-point layout is fitted on: 2.5% of the points, at least
    2,500 and at most 5,000. The refinement over every point's own neighbours (with its early
    exaggeration phase) does most of the work: at 100,000 codes 2,651 landmarks reach 10-NN
    label accuracy 0.891, where 10,000 landmarks and the old short refinement reached 0.842
    in more time (the landmark fit alone took 80 CPU s)."""
    return int(min(n, max(2_500, min(5_000, n // 40))))


def _stratified(labels: np.ndarray, m: int, min_per_class: int, rng: np.random.Generator) -> np.ndarray:
    """About ``m`` indices spread over the classes of ``labels`` (N,) (label < 0: unlabelled,
    drawn like one more class); every class gets at least ``min_per_class`` (or all it has)."""
    labels = np.asarray(labels)
    groups = np.unique(labels)
    n = len(labels)
    picks = []
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], groups, side="left").tolist() + [n]
    for g in range(len(groups)):
        members = order[bounds[g] : bounds[g + 1]]
        quota = max(min_per_class, round(m * len(members) / n))
        quota = min(quota, len(members))
        picks.append(rng.choice(members, quota, replace=False))
    return np.concatenate(picks) if picks else np.zeros(0, np.int64)


def _d2_sample(codes: np.ndarray, count: int, exclude: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``count`` indices drawn with probability ~ squared distance to the nearest of CENTRES
    random points (one k-means++ step), never from ``exclude``."""
    import faiss

    n, d = codes.shape
    if count <= 0:
        return np.zeros(0, np.int64)
    centres = codes[np.sort(rng.choice(n, min(CENTRES, n), replace=False))]
    index = faiss.IndexFlatL2(d)
    index.add(np.ascontiguousarray(centres, dtype=np.float32))
    d2 = np.empty(n, dtype=np.float64)
    with faiss_threads(free_cores()):
        for start in range(0, n, 65536):
            block = np.ascontiguousarray(codes[start : start + 65536], dtype=np.float32)
            d2[start : start + len(block)] = index.search(block, 1)[0][:, 0]
    d2 = np.maximum(d2, 0.0)
    d2[exclude] = 0.0
    total = d2.sum()
    if total <= 0:
        return np.zeros(0, np.int64)
    count = min(count, int(np.count_nonzero(d2)))
    return rng.choice(n, count, replace=False, p=d2 / total)


def choose_landmarks(
    codes: np.ndarray,
    m: int,
    labels: np.ndarray | None = None,
    seed: int = 0,
    outlier_share: float = 0.1,
    min_per_class: int = 50,
) -> np.ndarray:
    """Sorted unique int64 indices of about ``m`` landmarks among ``codes`` (N, D); see the
    module docstring for how. All points when ``m >= N``."""
    x = np.asarray(codes)
    n = len(x)
    if m >= n:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    base_m = round(m * (1.0 - outlier_share))
    if labels is not None and len(labels) == n:
        base = _stratified(np.asarray(labels), base_m, min_per_class, rng)
    else:
        base = rng.choice(n, base_m, replace=False)
    base = np.unique(base)
    extra = _d2_sample(x, m - len(base), base, rng)
    return np.unique(np.concatenate([base, extra])).astype(np.int64)


def nearest_landmarks(
    codes: np.ndarray,
    landmark_codes: np.ndarray,
    k: int,
    block: int = SEARCH_BLOCK,
) -> Iterator[Progress]:
    """Exact k nearest landmarks of every code: (N, D) and (M, D) -> yields Progress per block,
    returns (indices (N, k) int64 into the landmarks, Euclidean distances (N, k) float32),
    nearest first."""
    import faiss

    x = np.asarray(codes)
    n = len(x)
    k = int(min(k, len(landmark_codes)))
    index = faiss.IndexFlatL2(landmark_codes.shape[1])
    index.add(np.ascontiguousarray(landmark_codes, dtype=np.float32))
    out_i = np.empty((n, k), dtype=np.int64)
    out_d = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, block):
        stop = min(n, start + block)
        with faiss_threads(free_cores()):
            d2, idx = index.search(np.ascontiguousarray(x[start:stop], dtype=np.float32), k)
        out_i[start:stop] = idx
        out_d[start:stop] = np.sqrt(np.maximum(d2, 0.0))
        yield Progress(step=stop, total=n, message="placing: nearest landmarks")
    return out_i, out_d


def weighted_place(
    neighbours: np.ndarray, weights: np.ndarray, landmark_xy: np.ndarray, distances: np.ndarray | None = None
) -> np.ndarray:
    """(N, k) landmark indices and non-negative weights, (M, 2) landmark positions -> (N, 2)
    float32 weighted means. A point whose nearest distance is 0 (a duplicate of a landmark)
    lands exactly on that landmark; a row of zero weights lands on its nearest landmark."""
    w = np.asarray(weights, dtype=np.float64)
    xy = np.asarray(landmark_xy, dtype=np.float64)
    total = w.sum(axis=1, keepdims=True)
    safe = np.where(total > 0, total, 1.0)
    out = np.einsum("nk,nkc->nc", w / safe, xy[neighbours])
    fallback = total[:, 0] <= 0
    if distances is not None:
        fallback |= np.asarray(distances)[:, 0] <= 0
    out[fallback] = xy[neighbours[fallback, 0]]
    return out.astype(np.float32)


def duplicates(distances: np.ndarray) -> np.ndarray:
    """Bool (N,): rows whose nearest landmark is at distance 0 (they are pinned to it)."""
    return np.asarray(distances)[:, 0] <= 0


def cells_to_probe(n: int, m: int, candidates: int = 1000, lo: int = 4, hi: int = 64) -> int:
    """How many landmark cells a point's neighbour search visits so that it sees about
    ``candidates`` points (cells hold n/m points on average): 27 at 10^5 points and 2,651
    landmarks, 5 at 10^6 and 5,000 (at least ``lo``: was 8, 1,600 candidates at 10^6, the
    largest stage of a 10^6 t-SNE after the refinement)."""
    return int(min(m, max(lo, min(hi, int(np.ceil(candidates * m / max(n, 1)))))))


def knn_graph(
    codes: np.ndarray,
    landmark_codes: np.ndarray,
    cells: np.ndarray,
    k: int,
    block: int = 16384,
) -> Iterator[Progress]:
    """Approximate k nearest neighbours of every code among all codes, through the landmarks.

    The landmarks are the cells of an inverted file (FAISS ``IndexIVFFlat`` with the landmarks
    as its coarse centroids, no training): each code goes into the cell of its nearest landmark
    ``cells[:, 0]``, and each code's neighbours are searched exactly among the points of its
    ``cells.shape[1]`` nearest landmarks' cells (already known from :func:`nearest_landmarks`, so
    no coarse search is repeated). codes (N, D), landmark_codes (M, D), cells (N, P) int64.
    Yields Progress per block; returns (indices (N, k) int64, distances (N, k) float32), each
    row nearest first and without the point itself (-1 / inf where a row found fewer).
    """
    import faiss
    from faiss.contrib.ivf_tools import add_preassigned, search_preassigned

    x = np.asarray(codes)
    n, d = x.shape
    m = len(landmark_codes)
    quantizer = faiss.IndexFlatL2(d)
    quantizer.add(np.ascontiguousarray(landmark_codes, dtype=np.float32))
    index = faiss.IndexIVFFlat(quantizer, d, m)
    index.is_trained = True
    cells = np.ascontiguousarray(cells, dtype=np.int64)
    for start in range(0, n, 262144):
        stop = min(n, start + 262144)
        # named arrays: faiss's add_preassigned keeps only a raw pointer to its ids argument
        part = np.ascontiguousarray(x[start:stop], dtype=np.float32)
        assign = np.ascontiguousarray(cells[start:stop, 0])
        ids = np.arange(start, stop, dtype=np.int64)
        add_preassigned(index, part, assign, ids=ids)
    index.nprobe = cells.shape[1]
    out_i = np.empty((n, k), dtype=np.int64)
    out_d = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, block):
        stop = min(n, start + block)
        with faiss_threads(free_cores()):
            d2, idx = search_preassigned(
                index,
                np.ascontiguousarray(x[start:stop], dtype=np.float32),
                k + 1,
                np.ascontiguousarray(cells[start:stop]),
            )
        rows = np.arange(start, stop)[:, None]
        not_self = idx != rows
        # drop the point itself (or the last neighbour when the point was not found)
        keep = np.where(not_self.all(axis=1, keepdims=True), np.arange(k + 1) < k, not_self)
        out_i[start:stop] = idx[keep].reshape(-1, k)
        dd = d2[keep].reshape(-1, k)
        out_d[start:stop] = np.where(out_i[start:stop] >= 0, np.sqrt(np.maximum(dd, 0.0)), np.inf)
        yield Progress(step=stop, total=n, message="neighbour graph")
    return out_i, out_d
