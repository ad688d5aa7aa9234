"""The scatter view colours a big layout (drawn as an image) in cell order: the same pictures and
codes as the colouring per row, for a lasso, a box, a selection made elsewhere, a search, hidden
classes and a zoomed-in view of single points."""

from __future__ import annotations

import numpy as np

from explorer.ui.context import AppContext


def test_a_big_layout_coloured_in_cell_order_draws_what_the_colouring_per_row_draws(qtbot, monkeypatch):
    from explorer.core.imageset import ImageSet
    from explorer.jobs.scatter.index import PointIndex
    from explorer.ui.views.scatter import View, drawing

    rng = np.random.default_rng(3)
    n = 80_000
    labels = rng.integers(0, 4, n)
    labels[::50] = -1  # unlabelled points (grey)
    codes = (np.array([[0, 0], [10, 0], [0, 10], [10, 10]])[labels] + rng.normal(size=(n, 2))).astype(
        np.float32
    )
    ctx = AppContext.standalone()
    ws = ctx.workspace
    ws.set_dataset(ImageSet(images=None, codes=codes, labels=labels, class_names=list("abcd")))
    v = View(ctx)
    qtbot.addWidget(v)
    v.resize(900, 600)
    v.show()
    qtbot.waitExposed(v)
    qtbot.waitUntil(lambda: not v.busy() and v.sides[0].layout is not None, timeout=60000)  # (a busy machine)
    side = v.sides[0]
    cloud = v.panel.cloud
    masks = []
    real_mask = PointIndex.cell_mask

    def cell_mask(self, rows):
        mask = real_mask(self, rows)
        masks.append(mask is not None)
        return mask

    monkeypatch.setattr(PointIndex, "cell_mask", cell_mask)

    def same_as_per_row(covered: float = 0.05) -> None:
        v._redraw()
        assert cloud._colourings[0][1][0] is True  # coloured in cell order
        image, scodes = cloud.image._buffer.copy(), cloud._density.scodes.copy()
        with monkeypatch.context() as m:
            m.setattr(drawing, "RASTER_ABOVE", 10**9)  # the colouring per row
            v._redraw()
            assert cloud._colourings[0][1][0] is False
            np.testing.assert_array_equal(cloud._density.scodes, scodes)
            np.testing.assert_array_equal(cloud.image._buffer, image)
        assert (image[..., 3] > 0).mean() > covered

    xy = side.layout
    lo, hi = np.nanmin(xy, 0), np.nanmax(xy, 0)
    t = np.linspace(0, 2 * np.pi, 40)[:-1]
    c, r = (lo + hi) / 2, (hi - lo) / 3
    poly = np.stack([c[0] + r[0] * np.cos(t) * (1 + 0.3 * np.sin(3 * t)), c[1] + r[1] * np.sin(t)], 1)
    v.lasso_finished(poly)
    assert 0 < len(ws.selection) < n and v.panel.held_index().last_rows() is not None
    assert ws.selection is v.panel.held_index().last_rows()  # handed over: no check, copy or comparison
    same_as_per_row()
    assert masks and all(masks)  # the mask came from the index (each redraw since the lasso)
    v.box_finished(float(lo[0]), float(lo[1]), float(c[0]), float(c[1]))
    same_as_per_row()
    ws.set_selection(np.arange(0, n, 3))  # made elsewhere: put in cell order
    same_as_per_row()
    v.search_edit.setText("b")
    same_as_per_row()
    v.search_edit.setText("")
    v._on_class_toggled(2, False)
    v.lasso_finished(poly)
    assert not np.isin(labels[ws.selection], [2]).any()
    same_as_per_row()
    v._on_class_toggled(2, True)  # the class shown again: its points in the lasso are not selected
    same_as_per_row()
    (x0, x1), (y0, y1) = v.panel.view_box.viewRange()
    cx, cy = (float(m) for m in np.median(xy[labels == 0], axis=0))  # the middle of class a
    v.panel.view_box.setRange(xRange=(cx - 0.3, cx + 0.3), yRange=(cy - 0.3, cy + 0.3), padding=0)
    grid = cloud._grid  # single points with their crosses, the emphasised on top:
    assert grid.count_in_range(*grid.cell_range(cx - 0.3, cx + 0.3, cy - 0.3, cy + 0.3)) < cloud.STAMP_BELOW
    same_as_per_row(covered=0.005)
    v.panel.view_box.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
    v._on_class_toggled(1, False)
    v._on_class_toggled(2, False)  # under RASTER_ABOVE points left: the point item, per row
    v._redraw()
    assert not cloud.raster and cloud.scatter.isVisible()
    held = cloud.scatter.data.copy()
    monkeypatch.setattr(drawing, "RASTER_ABOVE", 10**9)
    v._redraw()
    assert not cloud.raster
    for name in ("x", "y", "data"):
        np.testing.assert_array_equal(cloud.scatter.data[name], held[name])
    assert [b.color().getRgb() for b in cloud.scatter.data["brush"]] == [
        b.color().getRgb() for b in held["brush"]
    ]
    for s in v.sides:
        s.runner.shutdown()
