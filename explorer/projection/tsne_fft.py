"""t-SNE's repulsive forces by FFT-accelerated interpolation (FIt-SNE), on two cores.

The same computation as openTSNE's ``_tsne.estimate_negative_gradient_fft_2d`` (Linderman et
al. 2019; its box count rule, Lagrange interpolation on ``p`` equispaced nodes a box, the
squared Cauchy kernel convolved on the node grid by FFT), split so that each part runs
parallel and without the GIL:

- spreading the four charges of each point (1, y0, y1, |y|^2) onto the 3 x 3 nodes of its box
  and gathering the potentials back are numba kernels over point chunks (each thread spreads
  into a grid of its own, summed afterwards), where openTSNE's cython loops run on one thread
  holding the GIL;
- the convolution is ``scipy.fft.rfft2``/``irfft2`` of the four node grids at once with
  ``workers`` threads (openTSNE: numpy's FFT, one grid at a time, one thread).

At 10^6 points and a 200 x 200 box grid (600 nodes a side, 1,200-point FFTs) openTSNE's pass
took 0.42 CPU s on one thread; numbers for this one in docs/performance.md.
"""

from __future__ import annotations

import functools

import numpy as np

EPSILON = float(np.finfo(np.float64).eps)
C1, C5 = 1.0 / 6.0, 5.0 / 6.0  # the outer interpolation nodes of a box (the middle one at 1/2)
# openTSNE's (FFTW-friendly) box counts a side: 2^a 3^b 5^c 7^d 11^e 13^f, e + f <= 1
RECOMMENDED_BOXES = np.array(
    [20, 21, 22, 24, 25, 26, 27, 28, 30, 32, 33, 35, 36, 39, 40, 42, 44, 45, 48, 49, 50, 52, 54, 55, 56]
    + [60, 63, 64, 65, 66, 70, 72, 75, 77, 78, 80, 81, 84, 88, 90, 91, 96, 98, 99, 100, 104, 105, 108]
    + [110, 112, 117, 120, 125, 126, 128, 130, 132, 135, 140, 144, 147, 150, 154, 156, 160, 162, 165]
    + [168, 175, 176, 180, 182, 189, 192, 195, 196, 198, 200, 208, 210, 216, 220, 224, 225, 231, 234]
    + [240, 243, 245, 250, 252, 256, 260, 264, 270, 273, 275, 280, 288, 294, 297, 300, 308, 312, 315]
    + [320, 324, 325, 330, 336, 343, 350, 351, 352, 360, 364, 375, 378, 384, 385, 390, 392, 396, 400]
    + [405, 416, 420, 432, 440, 441, 448, 450, 455, 462, 468, 480, 486, 490, 495, 500, 504, 512, 520]
    + [525, 528, 539, 540, 546, 550, 560, 567, 576, 585, 588, 594, 600, 616, 624, 625, 630, 637, 640]
    + [648, 650, 660, 672, 675, 686, 693, 700, 702, 704, 720, 728, 729, 735, 750, 756, 768, 770, 780]
    + [784, 792, 800, 810, 819, 825, 832, 840, 864, 875, 880, 882, 891, 896, 900, 910, 924, 936, 945]
    + [960, 972, 975, 980, 990, 1000]
)


def box_count(spread: float, min_num_intervals: int, ints_in_interval: float) -> int:
    """openTSNE's boxes a side for a layout ``spread`` units wide: max(min_num_intervals,
    spread / ints_in_interval) rounded up to the next of RECOMMENDED_BOXES (at most 1,000)."""
    n = int(max(min_num_intervals, spread / ints_in_interval))
    if n >= RECOMMENDED_BOXES[205]:
        return 1000
    return int(RECOMMENDED_BOXES[np.searchsorted(RECOMMENDED_BOXES, n)])


@functools.cache
def _compile():
    """The numba kernels (compiled once per machine, cached on disk): (spread, gather, apply)."""
    import numba

    from explorer.projection.umap_layout import ensure_numba_cache_dir

    ensure_numba_cache_dir()

    @numba.njit(parallel=True, cache=True, nogil=True)
    def spread(y, coord_min, inv_width, n_boxes, grids):  # pragma: no cover (numba)
        """grids (T, n, n, 4) += each point's charges (1, y0, y1, |y|^2) at its box's nodes,
        thread t spreading the t-th chunk of the points into grids[t]."""
        chunks = grids.shape[0]
        n = len(y)
        for t in numba.prange(chunks):
            grid = grids[t]
            for i in range(t * n // chunks, (t + 1) * n // chunks):
                y0 = y[i, 0]
                y1 = y[i, 1]
                # the box of each coordinate and its quadratic Lagrange weights at the box's
                # 3 nodes (1/6, 1/2, 5/6 of the box): written out, numba caches no closures
                u = (y0 - coord_min) * inv_width
                bx = min(int(u), n_boxes - 1)
                f = u - bx
                lx = (4.5 * (f - 0.5) * (f - C5), -9.0 * (f - C1) * (f - C5), 4.5 * (f - C1) * (f - 0.5))
                u = (y1 - coord_min) * inv_width
                by = min(int(u), n_boxes - 1)
                f = u - by
                ly = (4.5 * (f - 0.5) * (f - C5), -9.0 * (f - C1) * (f - C5), 4.5 * (f - C1) * (f - 0.5))
                q3 = y0 * y0 + y1 * y1
                for a in range(3):
                    r = bx * 3 + a
                    for b in range(3):
                        c = by * 3 + b
                        w = lx[a] * ly[b]
                        grid[r, c, 0] += w
                        grid[r, c, 1] += w * y0
                        grid[r, c, 2] += w * y1
                        grid[r, c, 3] += w * q3

    @numba.njit(parallel=True, cache=True, nogil=True)
    def gather(y, coord_min, inv_width, n_boxes, potentials, phi, chunks):  # pragma: no cover (numba)
        """phi (N, 3) = the potentials (n, n, 4) interpolated at each point (terms 0-2); returns
        sum_i (1 + |y_i|^2) phi_0 - 2 y_i . (phi_1, phi_2) + phi_3 - N (the normalisation Z)."""
        n = len(y)
        parts = np.zeros(chunks)
        for t in numba.prange(chunks):
            total = 0.0
            for i in range(t * n // chunks, (t + 1) * n // chunks):
                y0 = y[i, 0]
                y1 = y[i, 1]
                # the box of each coordinate and its quadratic Lagrange weights at the box's
                # 3 nodes (1/6, 1/2, 5/6 of the box): written out, numba caches no closures
                u = (y0 - coord_min) * inv_width
                bx = min(int(u), n_boxes - 1)
                f = u - bx
                lx = (4.5 * (f - 0.5) * (f - C5), -9.0 * (f - C1) * (f - C5), 4.5 * (f - C1) * (f - 0.5))
                u = (y1 - coord_min) * inv_width
                by = min(int(u), n_boxes - 1)
                f = u - by
                ly = (4.5 * (f - 0.5) * (f - C5), -9.0 * (f - C1) * (f - C5), 4.5 * (f - C1) * (f - 0.5))
                f0 = 0.0
                f1 = 0.0
                f2 = 0.0
                f3 = 0.0
                for a in range(3):
                    r = bx * 3 + a
                    for b in range(3):
                        c = by * 3 + b
                        w = lx[a] * ly[b]
                        f0 += w * potentials[r, c, 0]
                        f1 += w * potentials[r, c, 1]
                        f2 += w * potentials[r, c, 2]
                        f3 += w * potentials[r, c, 3]
                phi[i, 0] = f0
                phi[i, 1] = f1
                phi[i, 2] = f2
                total += (1.0 + y0 * y0 + y1 * y1) * f0 - 2.0 * (y0 * f1 + y1 * f2) + f3
            parts[t] = total
        return parts.sum() - n

    @numba.njit(parallel=True, cache=True, nogil=True)
    def apply(y, phi, scale, grad):  # pragma: no cover (numba)
        """grad -= (y_i phi_0 - (phi_1, phi_2)) * scale."""
        for i in numba.prange(len(y)):
            grad[i, 0] -= (y[i, 0] * phi[i, 0] - phi[i, 1]) * scale
            grad[i, 1] -= (y[i, 1] * phi[i, 0] - phi[i, 2]) * scale

    return spread, gather, apply


def _kernel_grid(n: int, spacing: float) -> np.ndarray:
    """(2n, 2n) the squared Cauchy kernel 1 / (1 + r^2)^2 at node offsets (i, j) * spacing,
    embedded in a circulant grid as openTSNE's ``compute_kernel_tilde_2d`` does."""
    off = np.arange(n) * spacing
    v = 1.0 / (1.0 + off[:, None] ** 2 + off[None, :] ** 2) ** 2
    kt = np.zeros((2 * n, 2 * n))
    kt[n:, n:] = v
    kt[n:0:-1, n:] = v
    kt[n:, n:0:-1] = v
    kt[n:0:-1, n:0:-1] = v
    return kt


def negative_gradient(
    y: np.ndarray,
    grad: np.ndarray,
    n_interpolation_points: int = 3,
    min_num_intervals: int = 50,
    ints_in_interval: float = 1.0,
    workers: int = 1,
) -> float:
    """``grad`` (N, 2) float64 -= the normalised repulsive t-SNE gradient of ``y`` (N, 2) float64
    (dof 1), in place, as openTSNE's ``estimate_negative_gradient_fft_2d``; returns the
    normalisation sum_{i != j} 1 / (1 + |y_i - y_j|^2). ``workers``: threads for the FFT and for
    the numba kernels (at most numba's thread count)."""
    import numba
    import scipy.fft

    spread_k, gather_k, apply_k = _compile()
    n_pts = len(y)
    coord_min, coord_max = float(y.min()), float(y.max())
    n_boxes = box_count(coord_max - coord_min, min_num_intervals, ints_in_interval)
    box_width = (coord_max - coord_min) / n_boxes
    if n_interpolation_points != 3:
        raise ValueError("the numba repulsion interpolates on 3 nodes a box (openTSNE's default)")
    p = 3
    n = n_boxes * p
    inv_width = 1.0 / box_width
    threads = max(1, min(int(workers), numba.get_num_threads()))
    grids = np.zeros((threads, n, n, 4))
    spread_k(y, coord_min, inv_width, n_boxes, grids)
    charges = (grids[0] if threads == 1 else grids.sum(axis=0)).transpose(2, 0, 1)
    kernel_f = scipy.fft.rfft2(_kernel_grid(n, box_width / p), workers=threads)
    spectra = scipy.fft.rfft2(charges, s=(2 * n, 2 * n), workers=threads)
    spectra *= kernel_f
    potentials = scipy.fft.irfft2(spectra, s=(2 * n, 2 * n), workers=threads)[:, n:, n:]
    potentials = np.ascontiguousarray(potentials.transpose(1, 2, 0))
    phi = np.empty((n_pts, 3))
    sum_q = gather_k(y, coord_min, inv_width, n_boxes, potentials, phi, 4 * threads)
    apply_k(y, phi, 1.0 / (sum_q + EPSILON), grad)
    return float(sum_q)
