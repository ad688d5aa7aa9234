"""The k nearest so far, kept by insertion: the numba function the compiled kNN kernels share
(:mod:`explorer.projection.ivf_graph`, :mod:`explorer.projection.knn_descent`).

Imported only when those kernels compile (it imports numba). The kernels call it as an attribute
of this module: a numba function captured in a closure is compiled again in every process (the
disk cache missed it: 2 s a kernel), a module's attribute is cached with the kernel."""

from __future__ import annotations

import numba

from explorer.projection.umap_layout import ensure_numba_cache_dir

ensure_numba_cache_dir()


@numba.njit(cache=True, nogil=True, fastmath=True, inline="always")
def keep(best_d, best_i, d, s):  # pragma: no cover (numba)
    """Put candidate ``s`` at distance ``d`` into a row's k nearest so far (``best_d`` ascending,
    the farthest dropped) and return the new k-th distance; only for ``d`` below the k-th."""
    k = len(best_d)
    j = k - 1
    while j > 0 and best_d[j - 1] > d:
        best_d[j] = best_d[j - 1]
        best_i[j] = best_i[j - 1]
        j -= 1
    best_d[j] = d
    best_i[j] = s
    return best_d[k - 1]
