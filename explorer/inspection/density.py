"""Density contours of a 2-D layout: a kernel density on a grid, cut at levels of enclosed mass.

The density is the points binned on a ``grid`` x ``grid`` raster and smoothed by a Gaussian
(bandwidth by Scott's rule, per axis): linear in N, so 10^6 points take well under a second.
Levels are highest-density regions: the contour at mass 0.5 encloses the densest half of the
points. Lines are polylines in layout coordinates, ready to draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MASSES = (0.25, 0.5, 0.75, 0.9)


@dataclass(frozen=True)
class Contours:
    """masses: (L,) enclosed mass of each level; levels: (L,) the density there (per unit area);
    lines: per level, a list of (M, 2) float32 polylines (x, y) in layout coordinates;
    density: (G, G) the smoothed density, rows along y; extent: (x0, x1, y0, y1) of the grid."""

    masses: tuple[float, ...]
    levels: np.ndarray
    lines: list[list[np.ndarray]]
    density: np.ndarray
    extent: tuple[float, float, float, float]


def kde_grid(layout: np.ndarray, grid: int = 128, bandwidth: float | None = None):
    """(density (grid, grid) rows along y, extent) of ``layout`` (N, 2) (see module doc)."""
    from scipy.ndimage import gaussian_filter

    xy = np.asarray(layout, dtype=np.float64)
    xy = xy[np.isfinite(xy).all(1)]
    if len(xy) < 2:
        raise ValueError("density contours need at least two points")
    std = xy.std(0)
    std[std <= 0] = 1.0
    bw = std * len(xy) ** (-1 / 6) * (bandwidth if bandwidth else 1.0)  # Scott's rule in 2-D
    lo, hi = xy.min(0) - 3 * bw, xy.max(0) + 3 * bw
    counts, _, _ = np.histogram2d(xy[:, 0], xy[:, 1], bins=grid, range=[[lo[0], hi[0]], [lo[1], hi[1]]])
    cell = (hi - lo) / grid
    density = gaussian_filter(counts.T, sigma=(bw[1] / cell[1], bw[0] / cell[0]), mode="constant")
    density /= len(xy) * cell[0] * cell[1]
    return density, (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))


def mass_levels(density: np.ndarray, masses=MASSES) -> np.ndarray:
    """The density value whose super-level set holds each fraction of the total mass."""
    flat = np.sort(density.ravel())[::-1]
    cum = np.cumsum(flat)
    cum /= cum[-1]
    return np.array([flat[min(len(flat) - 1, int(np.searchsorted(cum, m)))] for m in masses])


def density_contours(
    layout: np.ndarray, masses=MASSES, grid: int = 128, bandwidth: float | None = None
) -> Contours:
    """Contours of the kernel density of ``layout`` (N, 2) enclosing each of ``masses``.
    bandwidth: a factor on Scott's rule (None: 1)."""
    from skimage.measure import find_contours

    density, extent = kde_grid(layout, grid, bandwidth)
    levels = mass_levels(density, masses)
    x0, x1, y0, y1 = extent
    sx, sy = (x1 - x0) / grid, (y1 - y0) / grid
    lines = []
    padded = np.pad(density, 1)  # closes contours that touch the border
    for level in levels:
        polys = []
        for rc in find_contours(padded, level):
            r, c = rc[:, 0] - 1, rc[:, 1] - 1  # back to unpadded cell indices
            polys.append(np.stack([x0 + (c + 0.5) * sx, y0 + (r + 0.5) * sy], 1).astype(np.float32))
        lines.append(polys)
    return Contours(tuple(float(m) for m in masses), levels, lines, density.astype(np.float32), extent)
