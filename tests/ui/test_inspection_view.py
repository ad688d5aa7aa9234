"""Inspection in the GUI: cluster badges and contours on the scatter; a label fixed in the
inspection panel changes everywhere (browser filter, scatter colour, retrieval ticks) and is
still fixed after the data set is closed and opened again."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.ui.context import AppContext


def _blob_set(n_per=40, seed=0):
    """Three far-apart classes of 8x8 images, as uint8."""
    from explorer.core.imageset import ImageSet

    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (3, 1, 8, 8))
    labels = np.repeat(np.arange(3), n_per)
    images = np.clip(base[labels] + rng.normal(0, 20, (len(labels), 1, 8, 8)), 0, 255).astype(np.uint8)
    return ImageSet(images, labels=labels, class_names=["ant", "bee", "cat"], name="blobs")


@pytest.fixture
def scatter(qtbot):
    from explorer.ui.views.scatter import View

    data = _blob_set()
    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(data)
    ctx.workspace.set_codes("pixels", data.float_images().reshape(data.count, -1))
    v = View(ctx)
    qtbot.addWidget(v)
    v.resize(900, 600)
    v.show()
    qtbot.waitUntil(lambda: not v.busy() and v.sides[0].faith is not None, timeout=90000)
    yield v
    v.overlays.shutdown()
    for s in v.sides:
        s.runner.shutdown()


def test_clusters_colour_the_points_and_label_each_cluster(scatter, qtbot):
    from explorer.jobs.scatter.colours import class_palette

    scatter.cluster_combo.setCurrentIndex(3)  # k-means on codes
    qtbot.waitUntil(lambda: scatter.overlays.clusters is not None and not scatter.busy(), timeout=60000)
    found = scatter.overlays.clusters
    assert found.count == 3 and all(c.purity == 1.0 for c in found.clusters)
    badges = scatter.overlays.badges()
    assert len(badges) == 3
    # each badge sits at its cluster's median and is at least as wide as its strip of 4 thumbnails
    centres = found.centres(scatter.sides[0].layout)
    for badge, (x, y) in zip(badges, centres):
        assert badge.pos().x() == pytest.approx(x) and badge.pos().y() == pytest.approx(y)
        assert badge.pixmap().width() >= 4 * 26
    # points take the colour of their cluster's majority class (so the class legend reads right)
    data = scatter.panel.cloud.scatter.data
    rows = data["data"].astype(int)
    pal = class_palette(3)
    for c in found.clusters:
        row = int(np.flatnonzero(found.labels == c.id)[0])
        brush = data["brush"][np.flatnonzero(rows == row)[0]]
        assert brush.color().getRgb()[:3] == tuple(int(v) for v in pal[c.majority][:3])
    scatter.cluster_combo.setCurrentIndex(0)
    assert scatter.overlays.badges() == [] and scatter.overlays.clusters is None


def test_badges_that_would_overlap_are_moved_apart(scatter, qtbot):
    scatter.cluster_combo.setCurrentIndex(3)
    qtbot.waitUntil(lambda: scatter.overlays.clusters is not None and not scatter.busy(), timeout=60000)
    vb = scatter.panel.plot_item.getViewBox()
    (x0, x1), (y0, y1) = vb.viewRange()
    vb.setRange(
        xRange=(x0 - 50 * (x1 - x0), x1 + 50 * (x1 - x0)),  # zoomed far out: all in one spot
        yRange=(y0 - 50 * (y1 - y0), y1 + 50 * (y1 - y0)),
        padding=0,
    )
    qtbot.wait(100)

    def screen_box(badge):  # where the badge is drawn, in scene pixels (it ignores the zoom)
        from PySide6.QtCore import QRectF

        c = vb.mapViewToScene(badge.pos())
        w, h = badge.pixmap().width(), badge.pixmap().height()
        return QRectF(c.x() - w / 2, c.y() - h / 2, w, h)

    boxes = [screen_box(b) for b in scatter.overlays.badges()]
    assert len(boxes) == 3
    assert not any(boxes[i].intersects(boxes[j]) for i in range(3) for j in range(i + 1, 3))
    vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)  # back in: back on their clusters
    qtbot.wait(100)
    centres = scatter.overlays.clusters.centres(scatter.sides[0].layout)
    for badge, (_x, y) in zip(scatter.overlays.badges(), centres):
        assert badge.pos().y() == pytest.approx(y)


def test_density_contours_on_demand(scatter):
    assert scatter.overlays.contour_items() == []
    scatter.contours_check.setChecked(True)
    items = scatter.overlays.contour_items()
    assert len(items) == 4  # one curve per mass level
    xs = np.concatenate([i.xData[np.isfinite(i.xData)] for i in items])
    layout = scatter.sides[0].layout
    assert layout[:, 0].min() - 5 < xs.min() and xs.max() < layout[:, 0].max() + 5
    scatter.contours_check.setChecked(False)
    assert scatter.overlays.contour_items() == []


@pytest.fixture
def window(qtbot, ctx):
    from explorer.ui.main_window import MainWindow

    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.show()
    return win


def _open(qtbot, win, spec):
    with qtbot.waitSignal(win.opened, timeout=60000):
        win.open_data(spec)


def _look_at(qtbot, win, key):
    """Bring view ``key`` forward, as a user does before using it: a hidden view gets the
    workspace's news when it is shown (explorer/ui/view_updates.py)."""
    win.show_view(key)
    assert not win.views[key].ctx.qws.waiting()


def test_accepting_a_suggestion_changes_the_label_everywhere_and_survives_reopening(qtbot, window, tmp_path):
    from explorer.jobs.scatter.colours import class_palette

    data = _blob_set()
    flipped = 7  # an "ant" labelled "cat"
    labels = data.labels.copy()
    labels[flipped] = 2
    path = tmp_path / "blobs.npz"
    np.savez(path, images=data.images[:, 0], labels=labels, class_names=np.array(data.class_names))
    _open(qtbot, window, str(path))
    ws = window.ctx.workspace
    window.loader.load_models(["pixels"])
    qtbot.waitUntil(lambda: "pixels" in ws.codes, timeout=90000)
    inspect = window.views["inspection"]
    _look_at(qtbot, window, "inspection")
    inspect.model_combo.setCurrentText("pixels")
    assert inspect.issues.item_label.isHidden()  # no empty black square before an item is chosen
    inspect.run()
    qtbot.waitUntil(lambda: inspect.report is not None, timeout=90000)
    assert inspect.issue_indices()[0] == flipped
    # the worst issue is shown beside the list at once, without taking the user's selection
    assert inspect.issues.current == flipped and not inspect.issues.item_label.isHidden()
    assert len(ws.selection) == 0
    inspect._on_issue_picked(flipped)
    assert not inspect.issues.item_label.isHidden()
    assert inspect.issues.accept_button.text() == "Accept “ant”"
    assert ws.selection.tolist() == [flipped] and ws.query_index == flipped
    assert inspect.issues.neighbours.count() == 8

    scatter, retrieval, browser = window.views["scatter"], window.views["retrieval"], window.views["browser"]
    _look_at(qtbot, window, "scatter")
    qtbot.waitUntil(lambda: scatter.sides[0].faith is not None and not scatter.busy(), timeout=90000)
    ws.set_query(0)  # an ant: is item 7 among its results, and ticked?
    _look_at(qtbot, window, "retrieval")
    retrieval.set_column_model(0, "pixels")
    qtbot.waitUntil(lambda: retrieval.columns[0].list.count() > 0, timeout=10000)

    def tick_of(item):
        col = retrieval.columns[0].list
        for r in range(col.count()):
            if int(col.item(r).data(0x0100)) == item:
                return col.item(r).text().split("#")[0].strip()
        return None

    assert tick_of(flipped) == "✗"
    browser.set_class_filter(0)
    assert flipped not in browser.shown_indices()

    _look_at(qtbot, window, "inspection")
    inspect.issues.accept_button.click()  # --------------------------------------------- the fix
    assert ws.dataset.labels[flipped] == 0
    _look_at(qtbot, window, "scatter")
    assert flipped in browser.shown_indices()  # browser filter
    data_ = scatter.panel.cloud.scatter.data  # scatter colour
    row = np.flatnonzero(data_["data"].astype(int) == flipped)[0]
    assert data_["brush"][row].color().getRgb()[:3] == tuple(int(v) for v in class_palette(3)[0][:3])
    _look_at(qtbot, window, "retrieval")
    assert tick_of(flipped) == "✓"  # retrieval ticks
    _look_at(qtbot, window, "inspection")
    assert flipped not in inspect.issue_indices()  # off the list
    assert inspect.issues.current != flipped  # the panel moved on to the next issue (or says none left)
    assert (tmp_path / "blobs.npz.labels.json").exists()  # saved beside the data, the data untouched
    assert np.load(path)["labels"][flipped] == 2

    _open(qtbot, window, "sample:digits")  # close it ...
    assert ws.dataset.count == 1797
    _open(qtbot, window, str(path))  # ... and open it again
    _look_at(qtbot, window, "scatter")
    assert ws.dataset.labels[flipped] == 0
    browser.set_class_filter(0)
    assert flipped in browser.shown_indices()


def test_duplicates_are_found_in_the_pixels_when_the_model_collapses_classes(qtbot):
    from explorer.core.imageset import ImageSet
    from explorer.ui.views.inspection import View

    data = _blob_set()
    images = np.concatenate([data.images, data.images[5:6]])  # item 120 copies item 5
    labels = np.concatenate([data.labels, data.labels[5:6]])
    data = ImageSet(images, labels=labels, class_names=data.class_names)
    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(data)
    ctx.workspace.set_codes("pixels", data.float_images().reshape(data.count, -1))
    collapsed = np.eye(3, dtype=np.float32)[labels] + 1e-4 * np.arange(data.count, dtype=np.float32)[:, None]
    ctx.workspace.set_codes("metric", collapsed)
    v = View(ctx)
    qtbot.addWidget(v)
    v.model_combo.setCurrentText("metric")
    for in_pixels, want in ((True, [[5, 120]]), (False, None)):
        v.pixels_check.setChecked(in_pixels)
        v.run()
        qtbot.waitUntil(lambda: v.report is not None and not v.busy(), timeout=60000)
        groups = [g.members.tolist() for g in v.duplicates.groups]
        if want is not None:
            assert groups == want and v.dups.grid.count() == 2
        else:
            assert groups != [[5, 120]]
        v.report = None
    v.shutdown()
