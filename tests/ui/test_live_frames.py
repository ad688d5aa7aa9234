"""Frames of moving points (a training run's live frames, their glide, partial layouts) cost the
GUI thread about their positions, not a pyqtgraph style per point (issue 13 item 3)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from pyqtgraph.graphicsItems import ScatterPlotItem as spi

from explorer.jobs.scatter.colours import point_colours
from explorer.ui.context import AppContext

N = 5000


class _Count:
    """Counts pyqtgraph's per-point styling: brushes made or passed through and atlas keys."""

    def __init__(self, monkeypatch) -> None:
        self.brushes = 0
        self.keys = 0
        make, keys = spi._mkBrush, spi.SymbolAtlas._keys

        def counted_brush(*a, **k):
            self.brushes += 1
            return make(*a, **k)

        def counted_keys(atlas, styles):
            out = keys(atlas, styles)
            self.keys += len(out)
            return out

        monkeypatch.setattr(spi, "_mkBrush", counted_brush)
        monkeypatch.setattr(spi.SymbolAtlas, "_keys", counted_keys)

    def reset(self) -> None:
        self.brushes = self.keys = 0


@pytest.fixture
def panel(qtbot):
    from explorer.ui.scatter_plot import ScatterPanel

    p = ScatterPanel()
    qtbot.addWidget(p)
    p.resize(500, 400)
    p.show()
    qtbot.waitExposed(p)
    return p


def _pixel(panel, row: int) -> tuple[int, int, int]:
    image = panel.plot_widget.grab().toImage()
    at = panel.plot_widget.mapFromScene(panel.scene_pos_of(row))
    c = image.pixelColor(at.x(), at.y())
    return c.red(), c.green(), c.blue()


def test_a_frame_of_moved_points_styles_no_point_again_and_draws_them_where_they_went(
    panel, qtbot, monkeypatch
):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, N)
    cidx, palette = point_colours(labels, 10, None, np.zeros(N, bool))
    xy = rng.normal(size=(N, 2)).astype(np.float32)
    xy[0] = (-3.5, -3.5)
    xy[1] = (3.5, 3.5)  # two points alone in opposite corners
    count = _Count(monkeypatch)
    panel.set_layout(xy, cidx, palette, None, np.ones(N, bool))
    assert count.brushes <= len(palette) and count.keys <= len(palette)  # per colour, not per point
    panel.view_box.setRange(xRange=(-4, 4), yRange=(-4, 4), padding=0)
    colour0 = tuple(int(v) for v in palette[cidx[0]][:3])
    assert _pixel(panel, 0) == colour0

    count.reset()
    moved = xy.copy()
    moved[:, 0] *= -1  # every point moves: point 0 to the bottom right
    panel.set_layout(moved, cidx, palette, None, np.ones(N, bool))
    assert count.brushes == 0 and count.keys == 0  # no per-point style work
    x, y = panel.cloud.scatter.getData()
    np.testing.assert_array_equal(x, moved[:, 0])
    np.testing.assert_array_equal(y, moved[:, 1])
    assert panel.cloud.bounds().left() == pytest.approx(float(moved[:, 0].min()))
    qtbot.wait(10)
    assert _pixel(panel, 0) == colour0  # drawn at its new place, in its colour
    assert panel.pick(3.5, -3.5) == 0

    count.reset()  # a new colouring: the new colours, still per colour
    other = (cidx + 1) % len(palette)
    panel.set_layout(moved, other, palette, None, np.ones(N, bool))
    assert count.brushes <= len(palette) and count.keys <= len(palette)
    brushes = panel.cloud.scatter.data["brush"]
    assert brushes[0].color().getRgb()[:3] == tuple(int(v) for v in palette[other[0]][:3])


def test_live_frames_and_their_glide_restyle_no_point(qtbot, digits_set, monkeypatch):
    """A training run's next probe frame glides in 8 steps: none of them styles a point again."""
    from explorer.ui.views.scatter import View

    ds = digits_set.subset(np.arange(600))
    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(ds)
    ctx.workspace.set_codes("pixels", ds.float_images().reshape(600, -1))
    view = View(ctx)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    side = view.sides[0]
    qtbot.waitUntil(lambda: not view.busy() and side.faith is not None, timeout=20000)
    ws = ctx.workspace
    idx = np.arange(600)
    codes = ws.codes["pixels"]
    ws.add_probe_frame("run1", idx, 10, codes)
    qtbot.waitUntil(lambda: not view.busy() and view._live_prev is not None, timeout=20000)
    count = _Count(monkeypatch)
    draws = []
    monkeypatch.setattr(side.panel, "set_layout", _spy(side.panel.set_layout, draws))
    ws.add_probe_frame("run1", idx, 20, codes * 1.3 + 0.05)
    qtbot.waitUntil(lambda: side.tag[2] == 1 and not view.busy(), timeout=20000)
    qtbot.waitUntil(lambda: not side.glide_timer.isActive(), timeout=5000)
    assert len(draws) >= 4  # glide steps were drawn
    assert count.brushes == 0 and count.keys == 0
    np.testing.assert_array_equal(np.column_stack(side.panel.cloud.scatter.getData()), side.layout)
    for s in view.sides:
        s.runner.shutdown()


def _spy(fn, calls):
    def wrapped(*a, **k):
        calls.append(1)
        return fn(*a, **k)

    return wrapped


def test_brushes_are_made_once_per_palette(panel):
    cloud = panel.cloud
    palette = np.array([[255, 0, 0, 255], [0, 0, 255, 255]], np.uint8)
    first = cloud._brushes(palette)
    assert cloud._brushes(palette.copy()) is first
    assert isinstance(first[0], pg.QtGui.QBrush) and cloud._brushes(palette[::-1].copy()) is not first


def test_a_colour_keeps_its_brush_across_palettes_so_the_symbol_atlas_stops_growing(panel):
    """Recolouring back and forth (a selection's dimmed palette and back) reuses each colour's
    brush, so pyqtgraph's symbol atlas (keyed by brush object) gets no new symbols after the first
    round (a fresh brush per palette added K symbols, and a rebuilt atlas, every recolour)."""
    cloud = panel.cloud
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(300, 2)).astype(np.float32)
    codes = rng.integers(0, 4, 300)
    bright = np.array([[255, 0, 0, 255], [0, 0, 255, 255], [0, 160, 0, 255], [90, 90, 90, 255]], np.uint8)
    dim = bright.copy()
    dim[:, 3] = 60
    sizes = []
    for palette in (bright, dim, bright, dim, bright):
        cloud.set_points(xy, codes, palette.copy())
        sizes.append(len(cloud.scatter.fragmentAtlas))
    assert sizes[1] == sizes[2] == sizes[3] == sizes[4] and sizes[1] > sizes[0]
    again = cloud._brushes(bright.copy())
    assert [b.color().getRgb() for b in again] == [tuple(c) for c in bright.tolist()]
    assert all(a is b for a, b in zip(cloud._brushes(bright[::-1].copy()), again[::-1]))
    assert cloud.scatter.data["brush"][0] is again[codes[cloud.scatter.data["data"][0]]]


def test_the_numpy_filled_point_table_is_what_setdata_makes_and_draws_the_same(qtbot):
    """PointCloud fills pyqtgraph's point table itself (no per-point Python); the same points
    through pyqtgraph's own setData give the same table and the same pixels (a pyqtgraph whose
    table differs falls back to setData)."""
    from explorer.ui.scatter_plot import ScatterPanel

    rng = np.random.default_rng(1)
    n = 2000
    labels = rng.integers(0, 10, n)
    emph = np.zeros(n, bool)
    emph[:50] = True
    cidx, palette = point_colours(labels, 10, None, emph)
    xy = rng.normal(size=(n, 2)).astype(np.float32)
    hidden = labels != 3
    panels = []
    for fast in (True, False):
        p = ScatterPanel()
        qtbot.addWidget(p)
        p.resize(400, 300)
        p.show()
        if not fast:
            p.cloud._restyle = lambda *a: False  # pyqtgraph's setData
        p.set_layout(xy, cidx, palette, None, hidden, on_top=emph)
        p.set_layout(xy[::-1].copy(), cidx[::-1].copy(), palette, None, hidden[::-1].copy())  # another size
        p.set_layout(xy, cidx, palette, None, hidden, on_top=emph)
        p.view_box.setRange(xRange=(-3, 3), yRange=(-3, 3), padding=0)
        panels.append(p)
    qtbot.waitExposed(panels[1])
    a, b = (p.cloud.scatter.data for p in panels)
    assert a.dtype == b.dtype and len(a) == len(b) == int(hidden.sum())
    for name in ("x", "y", "size", "visible", "data"):
        np.testing.assert_array_equal(a[name], b[name])
    assert all(s is None for s in a["symbol"]) and all(s is None for s in a["pen"])
    colours = [br.color().getRgb() for br in a["brush"]]
    assert colours == [br.color().getRgb() for br in b["brush"]]
    images = [p.plot_widget.grab().toImage() for p in panels]
    assert images[0] == images[1]


def test_a_glide_ends_on_time_when_its_frames_are_slow(qtbot, digits_set, monkeypatch):
    """Each glide step is a redraw; when redraws are slow (a busy machine) the glide takes fewer
    steps and still ends about GLIDE_S after it began, on the new frame's layout."""
    import time

    from explorer.ui.views.scatter import View
    from explorer.ui.views.scatter.live import GLIDE_FRAMES, GLIDE_S

    ds = digits_set.subset(np.arange(300))
    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(ds)
    ctx.workspace.set_codes("pixels", ds.float_images().reshape(300, -1))
    view = View(ctx)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    side = view.sides[0]
    ws, idx, codes = ctx.workspace, np.arange(300), ctx.workspace.codes["pixels"]
    ws.add_probe_frame("run1", idx, 10, codes)
    qtbot.waitUntil(lambda: not view.busy() and view._live_prev is not None, timeout=20000)
    draws = []
    slow = side.panel.set_layout

    def slow_draw(*args, **kwargs):
        draws.append(time.perf_counter())
        time.sleep(0.07)  # a redraw that takes more than two glide intervals
        return slow(*args, **kwargs)

    monkeypatch.setattr(side.panel, "set_layout", slow_draw)
    ws.add_probe_frame("run1", idx, 20, codes * 1.3 + 0.05)
    qtbot.waitUntil(lambda: side.glide_timer.isActive(), timeout=20000)
    qtbot.waitUntil(lambda: not side.glide_timer.isActive(), timeout=5000)
    steps = side.glide_step
    assert steps < GLIDE_FRAMES - 2  # frames were dropped, not waited for
    assert draws[-1] - draws[0] < GLIDE_S + 0.2
    np.testing.assert_array_equal(np.column_stack(side.panel.cloud.scatter.getData()), side.layout)
    for s in view.sides:
        s.runner.shutdown()


def test_the_live_budget_sets_the_glide_steps_and_is_charged(qtbot, digits_set, monkeypatch):
    """A live frame's glide gets as many steps as its run's LiveBudget allows: none (a jump, one
    draw) when the budget is spent, all when it is ample; the frame's layout job and its draws are
    charged to the budget."""
    from explorer.core.live_budget import LiveBudget
    from explorer.ui.views.scatter import View
    from explorer.ui.views.scatter.live import GLIDE_FRAMES

    ds = digits_set.subset(np.arange(300))
    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(ds)
    view = View(ctx)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    side = view.sides[0]
    budget = LiveBudget(share=0.04)
    ctx.services["live_budgets"] = {"run1": budget}
    ws, idx = ctx.workspace, np.arange(300)
    codes = ds.float_images().reshape(300, -1)
    budget.admit()
    ws.add_probe_frame("run1", idx, 0, codes)
    qtbot.waitUntil(lambda: not view.busy() and view._live_prev is not None, timeout=20000)
    assert budget.total_spent > 0  # the first frame's layout and draw
    draws = []
    real = side.panel.set_layout
    monkeypatch.setattr(side.panel, "set_layout", lambda *a, **k: (draws.append(1), real(*a, **k))[1])

    # spent: the training since the last frame bought 4% of 0.1 s = 4 ms, a frame costs more
    budget.work(0.1)
    budget.admit(force=True)
    budget.spend(1.0)
    ws.add_probe_frame("run1", idx, 10, codes * 1.3 + 0.05)
    qtbot.waitUntil(
        lambda: not view.busy() and side.shown_tag is not None and side.shown_tag[2] == 1, timeout=20000
    )
    qtbot.wait(100)
    assert not side.glide_timer.isActive() and len(draws) == 1  # a jump: one draw, no glide

    # ample: 100 s of training since the last frame
    draws.clear()
    budget.work(100.0)
    budget.admit()
    spent = budget.total_spent
    ws.add_probe_frame("run1", idx, 20, codes * 0.7 - 0.05)
    qtbot.waitUntil(lambda: side.glide_timer.isActive(), timeout=20000)
    assert side.glide_steps == GLIDE_FRAMES
    qtbot.waitUntil(lambda: not side.glide_timer.isActive(), timeout=5000)
    assert len(draws) >= 2 and budget.total_spent > spent
    np.testing.assert_array_equal(np.column_stack(side.panel.cloud.scatter.getData()), side.layout)
    for s in view.sides:
        s.runner.shutdown()
