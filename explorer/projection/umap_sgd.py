"""UMAP's layout optimisation over a fuzzy graph as our own numba kernel, on all free cores.

umap-learn's ``optimize_layout_euclidean`` (with a seed) runs on one thread, edge by edge, and
draws every negative sample uniformly from all N points. :func:`optimise` runs the same
stochastic gradient descent (the same attraction and repulsion, gradient clip at 4, learning
rate falling linearly to 0, edges sampled ``weight / max weight`` of the epochs, ``negative_rate``
negatives a sample) with three changes:

- the rows (head points) are split into blocks run in parallel (numba ``prange``, Hogwild-style
  unsynchronised updates as umap-learn's ``parallel=True``), each block with its own seeded
  random stream, so a run on one thread repeats exactly;
- the negatives of one sample are computed from one head position and their pushes summed
  (umap-learn moves the head after each): the same expected gradient; the chain of dependent
  ``powf`` calls was the epoch's cost (at 10^5, one thread: 30 epochs 2.0-2.5 against 3.1-3.4
  CPU s);
- ``local`` > 0: that share of the negatives is drawn from a window of ``window`` rows around
  the head row instead of from all rows. With the rows sorted so that neighbours in the layout
  are near in memory (:func:`explorer.projection.landmark_search.cell_order`), a window is a
  patch of the map around the point: the repulsion that shapes a cluster's edges is sampled
  ``N / (2 window)`` times more often, and each such sample is weighted down by that factor
  (importance sampling of the uniform draw, so the expected gradient is UMAP's own); memory
  reads stay in cache.

Cost (10^6 points, 2.3 x 10^7 edges, one thread, load 7-9): all negatives uniform 4.7 CPU s
at the 5th epoch (random reads over the whole layout miss the caches), 80-90% local 1.8 s;
at 10^5 0.2 s an epoch (umap-learn's 0.37 s). The per-edge arrays are 32-bit: an epoch streams
them all.

Inputs: ``y`` (N, 2) float32 start (changed in place and returned), the symmetric fuzzy graph
as CSR (``indptr`` (N+1,), ``indices`` (E,), ``weights`` (E,)) with the same row order as
``y``. Pure numpy/numba: no Qt, no torch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from threading import Event

import numpy as np

from explorer.projection.stream import Cancelled

BLOCK_ROWS = 4096  # rows per parallel block (each block has its own random stream)


@functools.cache
def _compile():
    """The epoch kernel (compiled once per machine, cached on disk)."""
    import numba

    from explorer.projection.umap_layout import ensure_numba_cache_dir

    ensure_numba_cache_dir()

    @numba.njit(parallel=True, cache=True, nogil=True, fastmath=True)
    def epoch(  # pragma: no cover (numba)
        y,
        indptr,
        indices,
        eps,
        next_s,
        next_neg,
        rate,
        a,
        b,
        gamma,
        alpha,
        n,
        seeds,
        local,
        window,
        global_weight,
        block_rows,
    ):
        rows = indptr.shape[0] - 1
        blocks = (rows + block_rows - 1) // block_rows
        one, four, two = np.float32(1.0), np.float32(4.0), np.float32(2.0)
        att = np.float32(-2.0) * a * b  # float32 throughout: powf is half the cost of pow
        rep = two * gamma * b
        bm1 = b - one
        for blk in numba.prange(blocks):
            # xorshift64* stream of this block and epoch
            s = np.uint64(seeds[blk]) ^ (np.uint64(n + 1) * np.uint64(0x9E3779B97F4A7C15))
            if s == 0:
                s = np.uint64(1)
            for j in range(blk * block_rows, min(rows, (blk + 1) * block_rows)):
                lo = max(0, j - window)
                span = min(rows, j + window + 1) - lo
                # importance weight of a draw inside the window (uniformly it is 1 / rows)
                local_w = np.float32(1.0 / (rows * local / span + (1.0 - local)) if local > 0 else 1.0)
                yj0, yj1 = y[j, 0], y[j, 1]
                for e in range(indptr[j], indptr[j + 1]):
                    if next_s[e] > n:
                        continue
                    k = indices[e]
                    dx = yj0 - y[k, 0]
                    dy = yj1 - y[k, 1]
                    d2 = dx * dx + dy * dy
                    if d2 > 0:
                        pb = d2**bm1
                        coeff = att * pb / (a * pb * d2 + one)
                        gx = min(four, max(-four, coeff * dx)) * alpha
                        gy = min(four, max(-four, coeff * dy)) * alpha
                        yj0 += gx
                        yj1 += gy
                        y[k, 0] -= gx
                        y[k, 1] -= gy
                    next_s[e] += eps[e]
                    eps_neg = eps[e] / rate
                    negs = int((n - next_neg[e]) / eps_neg)
                    # the negatives of one sample all push from the head's position after its
                    # attraction, summed (umap-learn moves the head after each): the same
                    # expected gradient, and their powf calls no longer wait on each other
                    bx, by = yj0, yj1
                    sx, sy = np.float32(0.0), np.float32(0.0)
                    for _ in range(negs):
                        s ^= s >> np.uint64(12)
                        s ^= s << np.uint64(25)
                        s ^= s >> np.uint64(27)
                        r = (s * np.uint64(0x2545F4914F6CDD1D)) >> np.uint64(32)
                        u = np.float64(r) * (1.0 / 4294967296.0)
                        if u < local:
                            k = lo + int(u / local * span)
                        else:
                            k = int((u - local) / (1.0 - local) * rows)
                        if k >= rows:
                            k = rows - 1
                        if k == j:
                            continue
                        dx = bx - y[k, 0]
                        dy = by - y[k, 1]
                        d2 = dx * dx + dy * dy
                        if d2 <= 0:
                            continue
                        w = local_w if lo <= k < lo + span else global_weight
                        coeff = w * rep / ((np.float32(0.001) + d2) * (a * d2**b + one))
                        sx += min(four, max(-four, coeff * dx))
                        sy += min(four, max(-four, coeff * dy))
                    yj0 += sx * alpha
                    yj1 += sy * alpha
                    next_neg[e] += negs * eps_neg
                y[j, 0] = yj0
                y[j, 1] = yj1
            seeds[blk] = np.int64(s >> np.uint64(1))

    return epoch


def epochs_per_sample(weights: np.ndarray, n_epochs: int) -> np.ndarray:
    """umap-learn's ``make_epochs_per_sample``: (E,) float64 epochs between two samples of an
    edge, ``max weight / weight`` (-1 for a zero weight: never sampled)."""
    w = np.asarray(weights, np.float64)
    out = np.full(len(w), -1.0)
    if len(w) and w.max() > 0:
        pos = w > 0
        out[pos] = w.max() / w[pos]
    return out


def optimise(
    y: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    n_epochs: int,
    a: float,
    b: float,
    seed: int = 0,
    negative_rate: float = 5.0,
    gamma: float = 1.0,
    initial_alpha: float = 1.0,
    local: float = 0.0,
    window: int = 2048,
    threads: int = 1,
    emit: Callable[[int, np.ndarray], None] | None = None,
    stop: Event | None = None,
    every: int = 5,
    block_rows: int = BLOCK_ROWS,
) -> np.ndarray:
    """``n_epochs`` of UMAP's SGD on ``y`` (N, 2) float32 in place (see the module doc); returns
    ``y``. ``local`` (0..1) share of negatives drawn within ``window`` rows of the head row;
    ``threads`` numba threads over blocks of ``block_rows`` rows (each block its own seeded
    stream: the result depends on the seed and the block size, and on one thread repeats
    exactly); ``emit(epoch, y)`` every ``every`` epochs; raises
    :class:`~explorer.projection.stream.Cancelled` when ``stop`` is set (checked each epoch)."""
    import numba

    if y.dtype != np.float32 or not y.flags.c_contiguous or y.ndim != 2 or y.shape[1] != 2:
        raise ValueError("optimise: y must be a C-contiguous (N, 2) float32 array")
    kernel = _compile()
    f32 = np.float32
    n = len(y)
    indptr = np.ascontiguousarray(indptr, np.int64)
    # the per-edge arrays in 32 bits: an epoch streams them all, and at 10^6 points (2 x 10^7
    # edges) that traffic, not the arithmetic, is what an epoch costs
    indices = np.ascontiguousarray(indices, np.int32 if n < 2**31 else np.int64)
    eps = epochs_per_sample(weights, n_epochs).astype(np.float32)
    eps[eps < 0] = np.inf  # never sampled
    rate = np.float32(negative_rate) if negative_rate > 0 else np.float32(1e-30)
    next_s = eps.copy()
    next_neg = eps / rate
    window = int(max(1, min(window, n)))
    local = float(min(max(local, 0.0), 1.0)) if n > 2 * window + 1 else 0.0
    # importance weights: a row outside the window is drawn with probability (1 - local) / n
    # (uniformly 1 / n); inside, local / span more (the kernel weighs those per row)
    global_weight = 1.0 / (1.0 - local) if local > 0 else 1.0
    blocks = (n + block_rows - 1) // block_rows
    seeds = np.random.default_rng(seed).integers(1, 2**62, size=max(blocks, 1), dtype=np.int64)
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        for epoch in range(n_epochs):
            if stop is not None and stop.is_set():
                raise Cancelled
            # umap-learn's schedule: epoch e runs at initial x (1 - (e - 1) / n_epochs), e >= 1
            alpha = initial_alpha * (1.0 - max(epoch - 1, 0) / float(n_epochs))
            kernel(
                y,
                indptr,
                indices,
                eps,
                next_s,
                next_neg,
                rate,
                f32(a),
                f32(b),
                f32(gamma),
                f32(alpha),
                epoch,
                seeds,
                local,
                window,
                f32(global_weight),
                block_rows,
            )
            if emit is not None and (epoch + 1) % every == 0:
                emit(epoch + 1, y)
    finally:
        numba.set_num_threads(before)
    return y
