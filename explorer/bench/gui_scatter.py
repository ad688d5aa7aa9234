"""Measurements of the scatter view's drawing, for ``explorer bench`` (explorer.bench.gui).

``make_renderer(xy, labels, size)`` gives the view's renderer behind a ``frame(rect)`` /
``close()`` surface; ``frame_times`` and ``hover_pick_ms`` measure it on ``scatter_points``.
"""

from __future__ import annotations

import time

import numpy as np


def scatter_points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) float32 points in 10 seeded Gaussian clusters and their int64 labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    centres = rng.normal(scale=8.0, size=(10, 2))
    xy = centres[labels] + rng.normal(size=(n, 2))
    return xy.astype(np.float32), labels.astype(np.int64)


def pan_zoom_ranges(xy: np.ndarray, frames: int) -> list[tuple[float, float, float, float]]:
    """A fixed sequence of view rectangles (x0, x1, y0, y1): zoom in towards a point while panning,
    then back out, as a user's wheel-and-drag would."""
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    out = []
    for k in range(frames):
        phase = k / max(1, frames - 1)
        zoom = 1.0 - 0.7 * np.sin(np.pi * phase)  # 1 -> 0.3 -> 1
        shift = half * 0.3 * np.array([np.cos(2 * np.pi * phase), np.sin(2 * np.pi * phase)])
        c, h = centre + shift, half * zoom
        out.append((float(c[0] - h[0]), float(c[0] + h[0]), float(c[1] - h[1]), float(c[1] + h[1])))
    return out


class PlotFrames:
    """A PlotWidget measured frame by frame: ``frame(rect)`` moves the view and renders it."""

    widget = None  # a pyqtgraph PlotWidget, set by the subclass

    def frame(self, rect) -> None:
        x0, x1, y0, y1 = rect
        self.widget.getViewBox().setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        self.widget.grab()

    def close(self) -> None:
        self.widget.close()
        self.widget.deleteLater()

    def frame_times_ms(self, rects, cpu: list | None = None) -> list[float]:
        """Milliseconds per frame over ``rects``, after one warm-up frame (caches, first paint);
        the CPU milliseconds of this process per frame are appended to ``cpu`` if given."""
        self.frame(rects[0])
        out = []
        for rect in rects:
            t, c = time.perf_counter(), time.process_time()
            self.frame(rect)
            out.append(1e3 * (time.perf_counter() - t))
            if cpu is not None:
                cpu.append(1e3 * (time.process_time() - c))
        return out


class _Renderer(PlotFrames):
    def __init__(self, xy: np.ndarray, labels: np.ndarray, size: tuple[int, int]) -> None:
        import pyqtgraph as pg

        from explorer.jobs.scatter.colours import class_palette
        from explorer.ui.scatter_render import PointCloud

        self.widget = pg.PlotWidget()
        self.widget.resize(*size)
        self.cloud = PointCloud(self.widget.getPlotItem())
        k = int(labels.max()) + 1 if len(labels) else 1
        self.cloud.set_points(xy, labels, class_palette(k))
        self.widget.show()


def make_renderer(xy: np.ndarray, labels: np.ndarray, size: tuple[int, int] = (800, 600)) -> _Renderer:
    return _Renderer(np.asarray(xy, np.float32), np.asarray(labels, np.int64), size)


def frame_times(n: int, frames: int = 20, size: tuple[int, int] = (800, 600), seed: int = 0) -> list[float]:
    """Milliseconds per pan/zoom frame (setRange + grab) of ``n`` clustered points."""
    xy, labels = scatter_points(n, seed)
    r = make_renderer(xy, labels, size)
    out = r.frame_times_ms(pan_zoom_ranges(xy, frames))
    r.close()
    return out


def hover_pick_ms(n: int, queries: int = 200, seed: int = 0) -> tuple[float, float]:
    """(index build seconds, median milliseconds per nearest-point pick) over ``n`` points."""
    from explorer.jobs.scatter.index import PointIndex

    xy, _ = scatter_points(n, seed)
    t = time.perf_counter()
    index = PointIndex(xy)
    build = time.perf_counter() - t
    rng = np.random.default_rng(seed)
    pts = xy[rng.integers(0, n, queries)] + rng.normal(scale=0.01, size=(queries, 2))
    scale = ((xy[:, 0].max() - xy[:, 0].min()) / 800, (xy[:, 1].max() - xy[:, 1].min()) / 600)
    times = []
    for x, y in pts:
        t = time.perf_counter()
        index.nearest(float(x), float(y), scale)
        times.append(1e3 * (time.perf_counter() - t))
    return build, float(np.median(times))
