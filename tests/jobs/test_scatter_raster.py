"""The scatter renderer's rasteriser and point index, against brute force."""

from __future__ import annotations

import numpy as np

from explorer.jobs.scatter.index import PointIndex
from explorer.jobs.scatter.raster import _raster_kernel, _raster_numpy


def test_raster_kernel_and_numpy_draw_the_same_points_in_order():
    rng = np.random.default_rng(0)
    n = 5000
    x, y = rng.uniform(-1, 11, n).astype(np.float32), rng.uniform(-1, 11, n).astype(np.float32)
    packed = (np.arange(n) + 1).astype(np.uint32)
    args = (np.float32(0), np.float32(10), np.float32(8.0), np.float32(6.0))  # 80x60 px over [0,10]^2
    for stamp in (0, 10**9):
        outs = []
        for fn in filter(None, (_raster_kernel(), _raster_numpy)):
            out = np.zeros((60, 80), np.uint32)
            fn(x, y, packed, *args, stamp, out)
            outs.append(out)
        # every visible point's own pixel holds the last point drawn there
        px, py = (x * 8.0).astype(int), ((10 - y) * 6.0).astype(int)
        inside = (x >= 0) & (x < 10) & (y > 0) & (y <= 10) & (px < 80) & (py < 60)
        want = np.zeros((60, 80), np.uint32)
        want[py[inside], px[inside]] = packed[inside]
        for out in outs:
            hit = want != 0
            np.testing.assert_array_equal(out[hit], want[hit])
            if stamp == 0:  # no crosses: nothing else is drawn
                np.testing.assert_array_equal(out, want)


def test_point_index_lasso_rect_and_nearest_match_brute_force():
    rng = np.random.default_rng(1)
    xy = rng.normal(size=(3000, 2))
    index = PointIndex(xy)
    t = np.linspace(0, 2 * np.pi, 7)[:-1]
    hexagon = np.stack([np.cos(t), np.sin(t)], axis=1)
    got = index.in_polygon(hexagon)
    # brute force: inside a convex polygon = on the left of every edge
    edges = np.roll(hexagon, -1, axis=0) - hexagon
    rel = xy[:, None, :] - hexagon[None]
    cross = edges[None, :, 0] * rel[..., 1] - edges[None, :, 1] * rel[..., 0]
    np.testing.assert_array_equal(got, np.flatnonzero((cross > 0).all(axis=1)))
    np.testing.assert_array_equal(
        index.in_rect(0.5, -1, 0, 1),
        np.flatnonzero((xy[:, 0] >= 0) & (xy[:, 0] <= 0.5) & (abs(xy[:, 1]) <= 1)),
    )
    row = index.nearest(float(xy[7, 0]) + 1e-4, float(xy[7, 1]), scale=(1e-3, 1e-3))
    assert row == 7
    assert index.nearest(50.0, 50.0, scale=(1e-3, 1e-3)) is None  # nothing within 6 px
    allowed = np.ones(3000, bool)
    allowed[7] = False
    assert index.nearest(float(xy[7, 0]), float(xy[7, 1]), scale=(1e-3, 1e-3), allowed=allowed) != 7
