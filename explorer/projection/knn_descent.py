"""Neighbour-of-neighbour search over an approximate kNN graph (NN-descent's local join).

The landmark cells' graph (:func:`~explorer.projection.ivf_graph.ivf_knn_graph`) finds about 78%
of each point's 14 true nearest neighbours at 10^5 codes: a true neighbour just across a cell
boundary the point did not probe is missed. A neighbour's neighbours are the cheapest better
candidates (the local join of NN-descent, as pynndescent runs it): a round looks at the ``k x k``
neighbours of each point's ``k`` neighbours and keeps the ``k`` nearest seen. One round: 0.85 of
the true neighbours at 10^5 (1.6 CPU s), three 0.89.

Numba, parallel over rows, without the GIL; a round reads the graph of the round before and
writes a new one (the result does not depend on the threads), a block of rows a call so that a
closed job stops within a block.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np

from explorer.core.progress import Progress

BLOCK = 32768  # rows a kernel call: ~0.5 CPU s at k = 14, D = 50 (a close waits for one call)


@functools.cache
def _compile():
    """The join kernel (compiled once per machine, cached on disk)."""
    import numba

    from explorer.projection import knn_keep  # (it makes the numba cache directory)

    @numba.njit(parallel=True, cache=True, nogil=True, fastmath=True)
    def join(x, g_i, g_d, start, stop, out_i, out_d):  # pragma: no cover (numba)
        k = g_i.shape[1]
        dim = x.shape[1]
        for i in numba.prange(start, stop):
            best_i = out_i[i]
            best_d = out_d[i]
            for c in range(k):
                best_i[c] = g_i[i, c]
                best_d[c] = g_d[i, c] * g_d[i, c]  # squared while searching
            worst = best_d[k - 1]
            for a in range(k):
                j = g_i[i, a]
                if j < 0:
                    continue
                for b in range(k):
                    s = g_i[j, b]
                    if s < 0 or s == i:
                        continue
                    seen = False
                    for c in range(k):
                        if best_i[c] == s:
                            seen = True
                            break
                    if seen:
                        continue
                    d = np.float32(0.0)
                    for t in range(dim):  # stops once past the k-th nearest
                        u = x[i, t] - x[s, t]
                        d += u * u
                        if d >= worst:
                            break
                    if d >= worst:
                        continue
                    worst = knn_keep.keep(best_d, best_i, d, s)
            for c in range(k):
                best_d[c] = np.sqrt(best_d[c])

    return join


def descend(
    codes: np.ndarray, indices: np.ndarray, distances: np.ndarray, rounds: int = 1, threads: int = 1
) -> Iterator[Progress]:
    """``rounds`` of neighbour-of-neighbour search, a generator (Progress per block of rows).

    codes (N, D); indices (N, k) int (each row nearest first, without the point itself; -1
    where missing) and their Euclidean distances (N, k) float32 (inf where missing). Returns new
    (indices (N, k) int64, distances (N, k) float32), each row nearest first, each neighbour at
    least as near as the one it replaced. ``threads``: numba threads."""
    import numba

    x = np.ascontiguousarray(codes, dtype=np.float32)
    g_i = np.ascontiguousarray(indices, dtype=np.int64)
    g_d = np.ascontiguousarray(distances, dtype=np.float32)
    n = len(g_i)
    if rounds <= 0 or n == 0 or g_i.shape[1] == 0:
        return g_i, g_d
    kernel = _compile()
    before = numba.get_num_threads()
    for r in range(rounds):
        out_i, out_d = np.empty_like(g_i), np.empty_like(g_d)
        for start in range(0, n, BLOCK):
            stop = min(n, start + BLOCK)
            numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
            try:
                kernel(x, g_i, g_d, start, stop, out_i, out_d)
            finally:
                numba.set_num_threads(before)
            yield Progress(step=r * n + stop, total=rounds * n, message="neighbours of neighbours")
        g_i, g_d = out_i, out_d
    return g_i, g_d
