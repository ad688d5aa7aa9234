"""Neighbour searches of a landmark layout in blocks of matrix products (BLAS), not per point.

Placing 10^6 points needs each point's nearest landmarks, and refining them needs each point's
nearest points. Both are done group by group, so each distance computation is one matrix
product of a block of points against a block of candidates:

1. :func:`approx_nearest_landmarks`: the landmarks are grouped by k-means into about sqrt(M)
   groups; every point goes to the group of its nearest group centre, and the points of a group
   are compared with the landmarks of the ``probe`` groups nearest to that group's centre
   (about ``probe`` x sqrt(M) landmarks instead of all M). The search is exact when that covers
   all the landmarks (small M).
2. :func:`cell_knn_graph`: every point belongs to the cell of its nearest landmark; the points of
   a cell are compared with the points of the cells of that landmark's ``cells`` nearest
   landmarks (about a thousand candidates), which finds almost all true neighbours.

Both are generators (a progress record per group of work: cancel points well under a second).
:func:`cell_order` sorts points so that a cell's points are contiguous and neighbouring cells
are near each other in memory, which makes the refinement's gradient 3-5x faster at 10^6.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from explorer.core.progress import Progress

EXACT_LANDMARKS = 2048  # at or below this many landmarks the landmark search is exact
ROWS = 8192  # query rows per matrix product
EXACT_COLS = 16  # nearest landmarks whose distances are computed directly (placement uses <= 15)


def _sqdist(q: np.ndarray, c: np.ndarray, c2: np.ndarray) -> np.ndarray:
    """(a, D), (b, D), (b,) squared norms of c -> (a, b) float32 squared distances (>= 0)."""
    d = q @ c.T
    d *= -2.0
    d += c2[None, :]
    d += np.einsum("ij,ij->i", q, q)[:, None]
    np.maximum(d, 0.0, out=d)
    return d


def _topk(d: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns of the k smallest of each row of d (a, b), nearest first, and their values."""
    if k < d.shape[1]:
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(d.shape[1]), d.shape).copy()
    vals = np.take_along_axis(d, part, axis=1)
    order = np.argsort(vals, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(vals, order, axis=1)


def _refine(q: np.ndarray, c: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The chosen columns (a, k) of each query again, nearest first by distances computed
    directly (the matrix-product form is off by ~1e-3: a duplicate must come out at exactly 0).
    Returns (cols, Euclidean distances float32)."""
    diff = c[cols] - q[:, None, :]
    d = np.sqrt(np.einsum("akd,akd->ak", diff, diff))
    order = np.argsort(d, axis=1, kind="stable")
    return np.take_along_axis(cols, order, axis=1), np.take_along_axis(d, order, axis=1)


def _members(assign: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows sorted by group and the start of each group's run (groups + 1,)."""
    order = np.argsort(assign, kind="stable")
    starts = np.searchsorted(assign[order], np.arange(groups + 1))
    return order, starts


def approx_nearest_landmarks(
    codes: np.ndarray,
    landmark_codes: np.ndarray,
    k: int,
    probe: int = 8,
    seed: int = 0,
    exact: int = EXACT_COLS,
) -> Iterator[Progress]:
    """k nearest landmarks of every code (approximate above EXACT_LANDMARKS landmarks).

    codes (N, D), landmark_codes (M, D) -> yields Progress per group, returns (indices (N, k)
    int64 into the landmarks, Euclidean distances (N, k) float32), nearest first. Signature as
    :func:`explorer.projection.landmarks.nearest_landmarks` (a ``search`` for landmark_job).
    The first ``exact`` columns' distances are computed directly (a duplicate at exactly 0);
    further columns (the graph's probe cells: 64 of 100,000 landmarks for UMAP at 10^6) keep
    the matrix-product distances (off by ~1e-3), which spares a (rows, k, D) gather.
    """
    import faiss

    x = np.asarray(codes)
    lm = np.ascontiguousarray(landmark_codes, dtype=np.float32)
    n, m = len(x), len(lm)
    k = int(min(k, m))
    groups = max(1, int(round(np.sqrt(m))))
    if m <= EXACT_LANDMARKS or probe >= groups:
        centres, lm_group, near_groups = np.zeros((1, lm.shape[1]), np.float32), np.zeros(m, np.int64), None
        groups = 1
    else:
        km = faiss.Kmeans(lm.shape[1], groups, niter=10, seed=seed, max_points_per_centroid=10_000)
        km.train(lm)
        centres = km.centroids
        lm_group = km.index.search(lm, 1)[1][:, 0].astype(np.int64)
        near_groups = _topk(_sqdist(centres, centres, (centres**2).sum(1)), probe)[0]
    out_i = np.empty((n, k), dtype=np.int64)
    out_d = np.empty((n, k), dtype=np.float32)
    if groups == 1:
        assign = np.zeros(n, np.int64)
    else:
        index = faiss.IndexFlatL2(lm.shape[1])
        index.add(centres)
        assign = np.empty(n, np.int64)
        for start in range(0, n, 65536):
            block = np.ascontiguousarray(x[start : start + 65536], dtype=np.float32)
            assign[start : start + len(block)] = index.search(block, 1)[1][:, 0]
            yield Progress(step=0, total=n, message="nearest landmarks: groups")
    rows, starts = _members(assign, groups)
    lm_rows, lm_starts = _members(lm_group, groups)
    done = 0
    for g in range(groups):
        members = rows[starts[g] : starts[g + 1]]
        if len(members) == 0:
            continue
        if near_groups is None:
            cand = np.arange(m)
        else:
            cand = np.concatenate([lm_rows[lm_starts[h] : lm_starts[h + 1]] for h in near_groups[g]])
        c = lm[cand]
        c2 = (c**2).sum(1)
        kk = min(k, len(cand))
        for s in range(0, len(members), ROWS):
            part = members[s : s + ROWS]
            q = np.ascontiguousarray(x[part], dtype=np.float32)
            cols, d2 = _topk(_sqdist(q, c, c2), kk)
            e = min(kk, exact)
            cols[:, :e], out_d[part, :e] = _refine(q, c, cols[:, :e])
            out_d[part, e:kk] = np.sqrt(d2[:, e:])
            out_i[part, :kk] = cand[cols]
            if kk < k:  # fewer candidates than k (tiny groups): repeat the last one
                out_i[part, kk:] = out_i[part, kk - 1 : kk]
                out_d[part, kk:] = out_d[part, kk - 1 : kk]
            done += len(part)
            yield Progress(step=done, total=n, message="nearest landmarks")
    return out_i, out_d


def landmark_neighbours(landmark_codes: np.ndarray, p: int) -> np.ndarray:
    """(M, p) int64: each landmark's p nearest landmarks, itself first (exact)."""
    lm = np.ascontiguousarray(landmark_codes, dtype=np.float32)
    m = len(lm)
    p = int(min(p, m))
    out = np.empty((m, p), np.int64)
    c2 = (lm**2).sum(1)
    for s in range(0, m, 2048):
        d = _sqdist(lm[s : s + 2048], lm, c2)
        d[np.arange(len(d)), np.arange(s, s + len(d))] = -1.0  # itself first, even among duplicates
        out[s : s + len(d)] = _topk(d, p)[0]
    return out


def cell_order(cell: np.ndarray, landmark_xy: np.ndarray) -> np.ndarray:
    """A permutation of the points (N,) that keeps each landmark cell contiguous, with the cells
    in Z-order of their landmark's layout position (near in the plot, near in memory)."""
    xy = np.asarray(landmark_xy, dtype=np.float64)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    q = ((xy - lo) / np.maximum(hi - lo, 1e-12) * 65535).astype(np.uint64)
    key = np.zeros(len(xy), np.uint64)
    for bit in range(16):  # interleave the bits of x and y (a Morton code)
        key |= ((q[:, 0] >> np.uint64(bit)) & np.uint64(1)) << np.uint64(2 * bit)
        key |= ((q[:, 1] >> np.uint64(bit)) & np.uint64(1)) << np.uint64(2 * bit + 1)
    rank = np.empty(len(xy), np.int64)
    rank[np.argsort(key, kind="stable")] = np.arange(len(xy))
    return np.argsort(rank[np.asarray(cell)], kind="stable")


def cell_knn_graph(
    codes: np.ndarray, cell: np.ndarray, cell_neighbours: np.ndarray, k: int
) -> Iterator[Progress]:
    """Approximate k nearest neighbours of every code among all codes, cell by cell.

    codes (N, D); cell (N,) the nearest landmark of each code; cell_neighbours (M, P) each
    landmark's P nearest landmarks, itself first (:func:`landmark_neighbours`). The codes of
    cell c are compared with the codes of the cells cell_neighbours[c]. Yields Progress every
    few thousand points; returns (indices (N, k) int64, Euclidean distances (N, k) float32),
    nearest first, without the point itself (a row with fewer candidates than k repeats its
    farthest neighbour found).
    """
    x = np.asarray(codes)
    n = len(x)
    m = len(cell_neighbours)
    rows, starts = _members(np.asarray(cell, np.int64), m)
    out_i = np.empty((n, k), dtype=np.int64)
    out_d = np.empty((n, k), dtype=np.float32)
    done = next_report = 0
    for c in range(m):
        members = rows[starts[c] : starts[c + 1]]
        if len(members) == 0:
            continue
        cand = np.concatenate([rows[starts[h] : starts[h + 1]] for h in cell_neighbours[c]])
        cx = np.ascontiguousarray(x[cand], dtype=np.float32)
        c2 = (cx**2).sum(1)
        q = np.ascontiguousarray(x[members], dtype=np.float32)
        d = _sqdist(q, cx, c2)
        # the point itself: the first len(members) candidates are the cell's own points
        d[np.arange(len(members)), np.arange(len(members))] = np.inf
        kk = min(k, len(cand) - 1)
        if kk <= 0:  # a cell alone with one point and no neighbour cells: its own point
            out_i[members] = members[:, None]
            out_d[members] = 0.0
            continue
        cols, dist = _refine(q, cx, _topk(d, kk)[0])
        out_i[members, :kk] = cand[cols]
        out_d[members, :kk] = dist
        if kk < k:
            out_i[members, kk:] = out_i[members, kk - 1 : kk]
            out_d[members, kk:] = out_d[members, kk - 1 : kk]
        done += len(members)
        if done >= next_report:
            next_report = done + 20_000
            yield Progress(step=done, total=n, message="neighbour graph")
    yield Progress(step=n, total=n, message="neighbour graph")
    return out_i, out_d
