"""The kNN graph of 10^6 codes through landmark cells, as a numba kernel over cell-sorted codes.

Every code belongs to the cell of its nearest landmark; its neighbours are searched among the
codes of the cells of its own ``P`` nearest landmarks (an inverted file with the landmarks as
centroids and the cells already known from the placement search). FAISS's ``IndexIVFFlat``
(``search_preassigned``) does this at about 16 ns a candidate (10^6 codes x 1,600 candidates:
~200 CPU s). Here the codes are copied in cell order, so a cell's candidates are one contiguous
block, and a compiled loop computes each distance directly (float32, so a duplicate is at
exactly 0) and keeps the k best by insertion; the queries run in cell order too, over numba's
threads.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from explorer.core.progress import Progress

BLOCK = 32768  # queries per kernel call: a cancel point every ~0.5 s at 10^6 codes
_kernel = None


def _compile():
    """The numba kernel (compiled once per machine, cached on disk)."""
    global _kernel
    if _kernel is not None:
        return _kernel
    import numba

    from explorer.projection import knn_keep  # (it makes the numba cache directory)

    @numba.njit(parallel=True, cache=True, nogil=True, fastmath=True)
    def search(xs, starts, queries, probes, k, out_i, out_d):  # pragma: no cover (numba)
        dim = xs.shape[1]
        for r in numba.prange(len(queries)):
            q = queries[r]
            best_d = out_d[r]
            best_i = out_i[r]
            best_d[:] = np.inf
            best_i[:] = -1
            worst = np.inf
            for p in range(probes.shape[1]):
                c = probes[r, p]
                for s in range(starts[c], starts[c + 1]):
                    if s == q:
                        continue
                    d = np.float32(0.0)
                    for t in range(dim):
                        diff = xs[q, t] - xs[s, t]
                        d += diff * diff
                    if d < worst:
                        worst = knn_keep.keep(best_d, best_i, d, s)

    _kernel = search
    return search


def ivf_knn_graph(codes: np.ndarray, cells: np.ndarray, k: int, threads: int = 1) -> Iterator[Progress]:
    """Approximate k nearest neighbours of every code among all codes, through landmark cells.

    codes (N, D); cells (N, P) int64: each code's P nearest landmarks, nearest first (its own
    cell is ``cells[:, 0]``). Yields Progress per block of queries; returns (indices (N, k)
    int64, Euclidean distances (N, k) float32), each row nearest first and without the point
    itself (-1 / inf where a row found fewer than k). ``threads``: numba threads.
    """
    import numba

    search = _compile()
    x = np.asarray(codes)
    cells = np.asarray(cells, dtype=np.int64)
    n = len(x)
    m = int(cells.max()) + 1 if n else 0
    order = np.argsort(cells[:, 0], kind="stable")
    starts = np.searchsorted(cells[order, 0], np.arange(m + 1)).astype(np.int64)
    xs = np.ascontiguousarray(x[order], dtype=np.float32)
    out_i = np.empty((n, k), dtype=np.int64)
    out_d = np.empty((n, k), dtype=np.float32)
    bi = np.empty((min(BLOCK, n), k), dtype=np.int64)
    bd = np.empty((min(BLOCK, n), k), dtype=np.float32)
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        for start in range(0, n, BLOCK):
            stop = min(n, start + BLOCK)
            rows = np.arange(start, stop, dtype=np.int64)  # positions in cell order
            probes = np.ascontiguousarray(cells[order[start:stop]])
            search(xs, starts, rows, probes, k, bi[: stop - start], bd[: stop - start])
            found = bi[: stop - start]
            ids = np.where(found >= 0, order[np.maximum(found, 0)], -1)
            out_i[order[start:stop]] = ids
            out_d[order[start:stop]] = np.where(found >= 0, np.sqrt(bd[: stop - start]), np.inf)
            yield Progress(step=stop, total=n, message="neighbour graph")
    finally:
        numba.set_num_threads(before)
    return out_i, out_d
