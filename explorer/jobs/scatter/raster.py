"""Rasterising points into an RGBA image, one write per point in draw order (later points on top),
with a 5-pixel cross per point while the view holds fewer than ``stamp_below`` of them; numba when
available, the same picture in numpy otherwise. Colours are packed RGBA (:func:`pack_rgba`). No Qt.
"""

from __future__ import annotations

import numpy as np


def pack_rgba(colours: np.ndarray) -> np.ndarray:
    """(K, 4) uint8 RGBA -> (K,) uint32 whose bytes in memory are R, G, B, A."""
    return np.ascontiguousarray(colours, dtype=np.uint8).view(np.uint32).ravel()


_KERNEL: list = []


def _raster_kernel():
    """The numba rasteriser (compiled once per machine, cached on disk), or None without numba."""
    if not _KERNEL:
        try:
            import numba
        except ImportError:
            _KERNEL.append(None)
            return None

        @numba.njit(cache=True, nogil=True, fastmath=True)
        def raster(x, y, packed, x0, ytop, sx, sy, stamp_below, out):  # pragma: no cover (numba)
            h, w = out.shape
            n = x.shape[0]
            visible = 0
            for i in range(n):  # the points, in order: later ones on top
                px = (x[i] - x0) * sx
                py = (ytop - y[i]) * sy
                if px >= 0 and px < w and py >= 0 and py < h:
                    out[int(py), int(px)] = packed[i]
                    visible += 1
            if visible >= stamp_below:
                return
            for i in range(n):  # then a "+" around each, on empty pixels only
                px = (x[i] - x0) * sx
                py = (ytop - y[i]) * sy
                if px >= -1 and px < w + 1 and py >= -1 and py < h + 1:
                    ix = int(np.floor(px))
                    iy = int(np.floor(py))
                    c = packed[i]
                    if 0 <= iy < h:
                        if 1 <= ix <= w and out[iy, ix - 1] == 0:
                            out[iy, ix - 1] = c
                        if 0 <= ix + 1 < w and out[iy, ix + 1] == 0:
                            out[iy, ix + 1] = c
                    if 0 <= ix < w:
                        if 1 <= iy <= h and out[iy - 1, ix] == 0:
                            out[iy - 1, ix] = c
                        if 0 <= iy + 1 < h and out[iy + 1, ix] == 0:
                            out[iy + 1, ix] = c

        _KERNEL.append(raster)
    return _KERNEL[0]


def _raster_numpy(x, y, packed, x0, ytop, sx, sy, stamp_below, out) -> None:
    """The same picture as the numba kernel, in numpy (about 3x slower)."""
    h, w = out.shape
    stride = w + 2  # a one-pixel frame takes the crosses' spill and every point outside the view
    px = (x - np.float32(x0)) * np.float32(sx)
    py = (np.float32(ytop) - y) * np.float32(sy)
    inside = (px >= 0) & (px < w) & (py >= 0) & (py < h)
    flat = (py.astype(np.int32) + 1) * stride + px.astype(np.int32) + 1
    flat[~inside] = 0  # a frame corner
    buf = np.zeros((h + 2) * stride, dtype=np.uint32)
    buf[flat] = packed  # numpy writes in order: later points win
    if np.count_nonzero(inside) < stamp_below:  # a "+" around each point, under every point
        centres = buf.copy()
        for off in (-stride, -1, 1, stride):
            buf[flat + off] = packed
        hit = centres != 0
        buf[hit] = centres[hit]
    out[...] = buf.reshape(h + 2, stride)[1:-1, 1:-1]
