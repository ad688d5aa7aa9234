"""A t-SNE gradient loop over a sparse affinity graph: openTSNE's descent, without its extras.

The refinement of a landmark layout (:mod:`explorer.projection.landmark_refine`) runs a few
hundred t-SNE iterations over 10^5-10^7 points. openTSNE's ``TSNEEmbedding.optimize`` spends
much of that on things the refinement does not need: the KL divergence, evaluated at every
callback (at 10^6 points its attraction pass costs 1.34 CPU s with the divergence against 0.49 s
without) and the exaggerated copy of P at every call. :func:`optimise` is the same gradient
descent (openTSNE's delta-bar-delta gains, momentum, step-norm clip at 5, re-centring each
iteration):

- the repulsion is openTSNE's FFT interpolation (``_tsne.estimate_negative_gradient_fft_2d``)
  re-done as numba kernels and a threaded scipy FFT (:func:`explorer.projection.tsne_fft.negative_gradient`:
  equal to openTSNE's to 1e-9, on ``n_jobs`` threads where openTSNE's runs on one holding the
  GIL), with at most ``max_intervals`` intervals a side (MAX_INTERVALS = 200: a layout up to 200
  units wide keeps openTSNE's one interval a unit; 64 intervals, two or three units each, cost
  half (one 10^6 repulsion pass 0.21 against 0.42 CPU s, same 10-NN accuracy at 10^5) but drew
  the interpolation grid as a square of stripes into the mixed-up points in the middle of the
  map, at 10^5 and at 10^6);
- the attraction over the rows of P and the update are numba kernels (openTSNE's
  ``estimate_positive_gradient_nn`` took 0.066 CPU s a pass at 10^5 points x 55 neighbours,
  the kernel 0.022 s, equal to 1e-19); the divergence is never evaluated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Event

import numpy as np

from explorer.projection.stream import Cancelled

MAX_INTERVALS = 200  # FFT intervals a side (openTSNE: one a unit of the layout, at least 50)
MIN_GAIN = 0.01
MAX_STEP = 5.0  # openTSNE's max_step_norm
SINGLE = True  # the attraction in float32 (optimise's ``single`` default)


@dataclass
class Descent:
    """The optimiser's state, kept between phases as openTSNE keeps its ``gradient_descent``:
    ``update`` and ``gains`` (N, 2) float64 (created on the first call)."""

    update: np.ndarray | None = None
    gains: np.ndarray | None = None
    done: int = field(default=0)  # iterations run so far (frames are numbered by it)


def grid_intervals(y: np.ndarray, max_intervals: int = MAX_INTERVALS) -> int:
    """openTSNE's ``ints_in_interval`` for a layout (N, 2): units of the layout per FFT interval,
    so that the grid has at most ``max_intervals`` intervals a side."""
    spread = float(np.ptp(y, axis=0).max()) if len(y) else 0.0
    return max(1, int(np.ceil(spread / max_intervals)))


_kernels = None


def _compile():
    """The numba kernels (compiled once per machine, cached on disk): (attract, attract32, step)."""
    global _kernels
    if _kernels is not None:
        return _kernels
    import numba

    from explorer.projection.umap_layout import ensure_numba_cache_dir

    ensure_numba_cache_dir()

    @numba.njit(parallel=True, cache=True, nogil=True, fastmath=True)
    def attract(indptr, indices, data, scale, y, grad):  # pragma: no cover (numba)
        """grad[i] += scale * sum_j P_ij (y_i - y_j) / (1 + |y_i - y_j|^2), rows of a CSR P."""
        for i in numba.prange(len(indptr) - 1):
            y0 = y[i, 0]
            y1 = y[i, 1]
            g0 = 0.0
            g1 = 0.0
            for s in range(indptr[i], indptr[i + 1]):
                j = indices[s]
                d0 = y0 - y[j, 0]
                d1 = y1 - y[j, 1]
                w = data[s] / (1.0 + d0 * d0 + d1 * d1)
                g0 += w * d0
                g1 += w * d1
            grad[i, 0] += scale * g0
            grad[i, 1] += scale * g1

    @numba.njit(parallel=True, cache=True, nogil=True, fastmath=True)
    def attract32(indptr, indices, data, scale, y, grad):  # pragma: no cover (numba)
        """attract with P's data and y (N, 2) float32 (half the memory traffic), grad float64."""
        one = np.float32(1.0)
        for i in numba.prange(len(indptr) - 1):
            y0 = y[i, 0]
            y1 = y[i, 1]
            g0 = np.float32(0.0)
            g1 = np.float32(0.0)
            for s in range(indptr[i], indptr[i + 1]):
                j = indices[s]
                d0 = y0 - y[j, 0]
                d1 = y1 - y[j, 1]
                w = data[s] / (one + d0 * d0 + d1 * d1)
                g0 += w * d0
                g1 += w * d1
            grad[i, 0] += scale * g0
            grad[i, 1] += scale * g1

    @numba.njit(parallel=True, cache=True, nogil=True)
    def step(y, grad, update, gains, momentum, lr, min_gain, max_step):  # pragma: no cover (numba)
        """openTSNE's update: gains up 0.2 where the gradient's sign flips against the last update
        (x0.8 + min_gain where not), momentum, the update's norm clipped at max_step."""
        for i in numba.prange(len(y)):
            for c in range(2):
                u, g = update[i, c], grad[i, c]
                if ((u > 0) - (u < 0)) != ((g > 0) - (g < 0)):
                    gains[i, c] += 0.2
                else:
                    gains[i, c] = gains[i, c] * 0.8 + min_gain
                update[i, c] = momentum * u - lr * gains[i, c] * g
            norm = np.sqrt(update[i, 0] ** 2 + update[i, 1] ** 2)
            if norm > max_step:
                update[i, 0] = update[i, 0] / norm * max_step
                update[i, 1] = update[i, 1] / norm * max_step
            y[i, 0] += update[i, 0]
            y[i, 1] += update[i, 1]

    _kernels = (attract, attract32, step)
    return _kernels


def optimise(
    y: np.ndarray,
    P,
    n_iter: int,
    state: Descent,
    exaggeration: float = 1.0,
    momentum: float = 0.8,
    learning_rate: float | None = None,
    emit: Callable[[int, np.ndarray], None] | None = None,
    stop: Event | None = None,
    every: int = 4,
    n_jobs: int = 1,
    max_intervals: int | None = None,
    single: bool | None = None,
) -> np.ndarray:
    """``n_iter`` iterations of t-SNE's gradient descent on ``y`` (N, 2) float64, in place.

    ``P``: the symmetric (N, N) CSR affinities (summing to 1), multiplied by ``exaggeration``
    for these iterations; ``learning_rate`` default N / exaggeration (openTSNE's "auto").
    ``emit(iteration, y)`` every ``every`` iterations (numbered from ``state.done``); a set
    ``stop`` raises :class:`Cancelled` at the next iteration. ``n_jobs`` threads for the
    attraction; ``max_intervals`` default MAX_INTERVALS. ``single``: the attraction reads P and
    a copy of ``y`` in float32 (at 10^6 points and 52 million entries of P the pass is bound by
    memory: 0.45 against 0.61 CPU s); the rest stays float64. Default SINGLE; False gives
    openTSNE's descent to 1e-6. Returns ``y``.
    """
    import numba

    from explorer.projection.tsne_fft import negative_gradient

    attract64, attract32, step = _compile()
    single = SINGLE if single is None else bool(single)
    n = len(y)
    max_intervals = max_intervals or MAX_INTERVALS
    if n_iter <= 0 or n == 0:
        return y
    if state.update is None:
        state.update = np.zeros_like(y)
        state.gains = np.ones_like(y)
    lr = float(learning_rate) if learning_rate else n / exaggeration
    indices = np.asarray(P.indices, np.int32)
    indptr = np.asarray(P.indptr, np.int64)
    data = np.asarray(P.data, np.float32 if single else np.float64)
    grad = np.empty_like(y)
    y32 = np.empty(y.shape, np.float32) if single else None
    before = numba.get_num_threads()
    threads = max(1, min(int(n_jobs), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(threads)
    try:
        for _ in range(n_iter):
            if stop is not None and stop.is_set():
                raise Cancelled
            grad[:] = 0.0
            negative_gradient(y, grad, 3, 50, grid_intervals(y, max_intervals), workers=threads)
            if single:
                np.copyto(y32, y, casting="same_kind")
                attract32(indptr, indices, data, np.float32(exaggeration), y32, grad)
            else:
                attract64(indptr, indices, data, float(exaggeration), y, grad)
            step(y, grad, state.update, state.gains, float(momentum), lr, MIN_GAIN, MAX_STEP)
            y -= y.mean(axis=0)
            state.done += 1
            if emit is not None and state.done % every == 0:
                emit(state.done, y)
    finally:
        numba.set_num_threads(before)
    return y
