"""The scatter view: layouts drawn and stored, lasso/box/hover/click, legend, live frames, export."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.ui.context import AppContext


@pytest.fixture
def small_set(digits_set):
    return digits_set.subset(np.arange(300))


def _wait_done(qtbot, view, side=0, timeout=20000):
    s = view.sides[side]
    qtbot.waitUntil(lambda: not view.busy() and s.layout is not None and s.faith is not None, timeout=timeout)
    return s


@pytest.fixture
def view(qtbot, small_set):
    from explorer.ui.views.scatter import View

    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(small_set)
    ctx.workspace.set_codes("pixels", small_set.float_images().reshape(300, -1))
    v = View(ctx)
    qtbot.addWidget(v)
    v.resize(1000, 650)
    v.show()
    qtbot.waitExposed(v)
    _wait_done(qtbot, v)
    yield v
    for s in v.sides:
        s.runner.shutdown()


def test_pca_layout_is_drawn_stored_and_measured(view):
    ws = view.ctx.workspace
    layout = ws.layouts[("pixels", "pca")]
    assert layout.shape == (300, 2)
    np.testing.assert_array_equal(view.sides[0].layout, layout)
    assert view.panel.cloud.scatter.data.shape[0] == 300  # small set: one ScatterPlotItem
    mean = view.sides[0].faith[0]
    assert 0.0 < mean < 1.0 and f"{mean:.2f}" in view.faith_label.text()
    assert view.legend.count() == 10


def test_lasso_selects_exactly_the_points_inside(view):
    xy = view.sides[0].layout
    lo, hi = np.percentile(xy, 30, axis=0), np.percentile(xy, 70, axis=0)
    rect = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    view.lasso_finished(rect)
    want = np.flatnonzero((xy[:, 0] > lo[0]) & (xy[:, 0] < hi[0]) & (xy[:, 1] > lo[1]) & (xy[:, 1] < hi[1]))
    assert len(want) > 10
    np.testing.assert_array_equal(view.ctx.workspace.selection, want)
    # a triangle: lower-left half of the same box
    tri = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [lo[0], hi[1]]])
    view.lasso_finished(tri)
    u = (xy[:, 0] - lo[0]) / (hi[0] - lo[0])
    v = (xy[:, 1] - lo[1]) / (hi[1] - lo[1])
    want_tri = np.flatnonzero((u > 0) & (v > 0) & (u + v < 1))
    np.testing.assert_array_equal(view.ctx.workspace.selection, want_tri)
    # the selection is drawn last (on top) and ringed
    assert set(view.panel.cloud.scatter.data["data"].astype(int)[-len(want_tri) :]) == set(want_tri)
    assert len(view.panel.ring.data) == len(want_tri)


def test_box_selection_and_hidden_classes(view):
    xy = view.sides[0].layout
    labels = view.ctx.workspace.dataset.labels
    view.set_class_visible(3, False)
    x0, y0 = xy.min(axis=0) - 1
    x1, y1 = xy.max(axis=0) + 1
    view.box_finished(x0, y0, x1, y1)
    np.testing.assert_array_equal(view.ctx.workspace.selection, np.flatnonzero(labels != 3))
    assert 3 not in set(labels[view.panel.cloud.scatter.data["data"].astype(int)])
    around = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    view.lasso_finished(around)
    np.testing.assert_array_equal(view.ctx.workspace.selection, np.flatnonzero(labels != 3))
    view.set_class_visible(3, True)  # nothing hidden: no mask at all
    assert view._allowed(view.sides[0]) is None and view.panel.allowed is None
    view.lasso_finished(around)
    np.testing.assert_array_equal(view.ctx.workspace.selection, np.arange(len(labels)))


def _isolated_row(xy: np.ndarray) -> int:
    d = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    np.fill_diagonal(d, np.inf)
    return int(np.argmax(d.min(axis=1)))


def test_hover_shows_that_items_thumbnail_and_click_makes_it_the_query(view, qtbot):
    from explorer.ui.imaging import to_pixmap
    from explorer.ui.views.scatter import THUMB

    panel = view.panel
    row = _isolated_row(view.sides[0].layout)
    panel.hover_scene_pos(panel.scene_pos_of(row))
    assert panel.card.isVisible() and panel.card.row == row
    ds = view.ctx.workspace.dataset
    want = to_pixmap(ds.float_images([row])[0], THUMB).toImage()
    got = panel.card.image_label.pixmap().toImage()
    assert got.size() == want.size() and got == want
    assert panel.card.text_label.text() == f"#{row} · {ds.label_name(row)}"
    # far from every point: the card goes away
    box = panel.view_box.sceneBoundingRect()
    panel.hover_scene_pos(box.topLeft() + box.center() * 0)
    x, y = view.sides[0].layout[row]
    panel.view_box.on_click(float(x), float(y))
    assert view.ctx.workspace.query_index == row
    assert len(panel.marker.data) == 1


def test_stale_results_are_dropped_and_partials_arrive_in_order(view, qtbot):
    side = view.sides[0]
    steps = []
    side.runner.partial.connect(lambda tag, rec: steps.append(rec.step) if rec.payload is not None else None)
    old_tag, old_layout = side.tag, side.layout.copy()
    view.job_overrides = {"early_iter": 100, "n_iter": 150}
    view.set_method("tsne")
    assert side.tag != old_tag and side.tag[3] == "tsne"
    # a late result for the old (PCA) parameters changes nothing
    view._on_done(side, old_tag, (np.zeros((300, 2), np.float32), 0.0, np.zeros(300), None))
    view._on_partial(
        side,
        old_tag,
        __import__("explorer.core.progress", fromlist=["Progress"]).Progress(
            payload=np.zeros((300, 2), np.float32)
        ),
    )
    assert not np.array_equal(side.layout, np.zeros((300, 2)))
    _wait_done(qtbot, view, timeout=60000)
    assert steps == sorted(steps) and len(steps) >= 2
    assert ("pixels", "tsne") in view.ctx.workspace.layouts
    assert np.std(side.layout) > 3 * np.std(old_layout)  # t-SNE spreads the digits out


def test_search_for_a_whole_class_name_finds_only_that_class(qtbot, digits_300):
    """Issue 13 item 11: "obj1" also matched obj10-obj19."""
    from dataclasses import replace

    from explorer.ui.views.scatter import View

    data = replace(digits_300, class_names=[f"obj{k}" for k in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)])
    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(data)
    v = View(ctx)
    qtbot.addWidget(v)
    v.search_edit.setText("OBJ1")
    assert v._search_classes() == {0}
    v.search_edit.setText("obj")
    assert v._search_classes() == set(range(10))
    v.search_edit.setText("bj1")  # a part of names: every class containing it
    assert v._search_classes() == {0, 9}


def test_search_highlights_a_class(view):
    view.search_edit.setText("7")
    labels = view.ctx.workspace.dataset.labels
    drawn = view.panel.cloud.scatter.data["data"].astype(int)
    n7 = int((labels == 7).sum())
    assert set(labels[drawn[-n7:]]) == {7}  # the found class is drawn on top
    assert view.legend.item(7).font().bold()


def test_live_probe_frames_glide_and_scrub(view, qtbot):
    ws = view.ctx.workspace
    idx = np.arange(0, 300, 3)
    codes = ws.codes["pixels"][idx]
    ws.add_probe_frame("run1", idx, 10, codes)
    qtbot.waitUntil(
        lambda: not view.busy() and view.sides[0].tag[0] == "live" and view._live_prev is not None,
        timeout=20000,
    )
    first = view.sides[0].layout.copy()
    assert first.shape == (100, 2)
    ws.add_probe_frame("run1", idx, 20, -codes)  # the same structure, mirrored: PCA would flip
    qtbot.waitUntil(lambda: not view.busy() and view.sides[0].tag[2] == 1, timeout=20000)
    np.testing.assert_allclose(view.sides[0].layout, first, atol=1e-3)  # aligned: no jump
    assert view.frame_slider.maximum() == 1 and "step 20" in view.frame_label.text()
    view.frame_slider.setValue(0)  # scrub back: the cached first frame
    assert view.sides[0].tag[2] == 0 and "step 10" in view.frame_label.text()
    # a lasso in the live plot selects data set items, not plot rows
    xy = view.sides[0].layout
    big = np.array([[-1e9, -1e9], [1e9, -1e9], [1e9, 1e9], [-1e9, 1e9]])
    view.lasso_finished(big)
    np.testing.assert_array_equal(ws.selection, idx)
    view.live_check.setChecked(False)
    assert view.sides[0].tag[0] == "pixels" and len(xy) == 100


def test_follow_training_lets_go_when_the_run_ends_and_the_model_box_decides(view, qtbot):
    """Issue 13 item 6: after a run the Model box decides again (the run's model, once its codes
    are in); picking a model during a run stops following; the run's slider and its long label
    never widen the view past its window."""
    ws = view.ctx.workspace
    idx = np.arange(0, 300, 3)
    view.window().resize(1000, 650)
    narrow = view.minimumSizeHint().width()
    run = "siamese (a data set with a long name[0:2500]) #12"
    for step in (10, 20, 30):
        ws.add_probe_frame(run, idx, step, ws.codes["pixels"][idx] * step)
    qtbot.waitUntil(lambda: not view.busy() and view.sides[0].tag[0] == "live", timeout=20000)
    assert view.frame_slider.isVisible() and run in view.frame_label.toolTip()
    assert view.minimumSizeHint().width() <= max(narrow, 1000)  # the label is cut, not the tab widened
    # the run ends and its model joins; until its codes are in, its last frame stays
    ws.add_model(run, object())
    ws.end_run(run)
    assert view.sides[0].tag[0] == "live"
    ws.set_codes(run, ws.codes["pixels"][:, :16])
    qtbot.waitUntil(lambda: not view.busy() and view.sides[0].tag[0] == run, timeout=20000)
    assert view.model_combo.currentText() == run and view.sides[0].layout.shape == (300, 2)
    # the Model box decides now: another choice is shown, no frame comes back
    view.model_combo.setCurrentText("pixels")
    view.model_combo.activated.emit(view.model_combo.currentIndex())
    qtbot.waitUntil(lambda: not view.busy() and view.sides[0].tag[0] == "pixels", timeout=20000)
    # scrubbing back replays a frame; the end of the slider is "now" (the Model box)
    view.frame_slider.setValue(0)
    assert view.sides[0].tag[0] == "live" and "step 10" in view.frame_label.text()
    view.frame_slider.setValue(view.frame_slider.maximum())
    assert view.sides[0].tag[0] == "pixels"
    # a new run is followed; picking a model in the box during it stops following
    ws.add_probe_frame("run2", idx, 5, ws.codes["pixels"][idx])
    qtbot.waitUntil(lambda: view.sides[0].tag[0] == "live", timeout=20000)
    view.model_combo.activated.emit(view.model_combo.currentIndex())
    assert not view.live_check.isChecked() and view.sides[0].tag[0] == "pixels"
    ws.add_probe_frame("run2", idx, 6, ws.codes["pixels"][idx])
    assert view.sides[0].tag[0] == "pixels"
    # a run cancelled while its frames glide: back to the Model box, and no glide into that layout
    view.live_check.setChecked(True)
    ws.add_probe_frame("run3", idx, 1, ws.codes["pixels"][idx])
    qtbot.waitUntil(lambda: not view.busy() and view.sides[0].tag[0] == "live", timeout=20000)
    ws.add_probe_frame("run3", idx, 2, -ws.codes["pixels"][idx])
    qtbot.waitUntil(lambda: not view.busy() and view.sides[0].glide_timer.isActive(), timeout=20000)
    ws.end_run("run3")
    qtbot.wait(400)  # the glide timer's frames (an exception there fails the test)
    assert view.sides[0].tag[0] == "pixels" and not view.sides[0].glide_timer.isActive()


def test_compare_shows_a_second_model_with_the_same_selection(view, qtbot, tmp_path):
    ws = view.ctx.workspace
    ws.set_codes("half", ws.codes["pixels"][:, :32])
    view.compare_check.setChecked(True)
    view.compare_combo.setCurrentText("half")
    _wait_done(qtbot, view, side=1)
    assert view.sides[1].panel.isVisible() and view.sides[1].model == "half"
    ws.set_selection([5, 6, 7])
    assert len(view.sides[1].panel.ring.data) == 3 and len(view.sides[0].panel.ring.data) == 3
    assert view.faith_label.text().count("|") == 1
    view.export_plot(str(tmp_path / "both.png"))
    from PySide6.QtGui import QImage

    both = QImage(str(tmp_path / "both.png"))
    assert both.width() >= view.sides[0].panel.width() + view.sides[1].panel.width()


def test_exports(view, tmp_path):
    view.export_layout(str(tmp_path / "xy.npy"))
    np.testing.assert_array_equal(np.load(tmp_path / "xy.npy"), view.sides[0].layout)
    view.export_layout(str(tmp_path / "xy.csv"))
    lines = (tmp_path / "xy.csv").read_text().splitlines()
    assert lines[0] == "index,x,y,label,class,faithfulness" and len(lines) == 301
    view.export_projector(str(tmp_path))
    vec = np.loadtxt(tmp_path / "vectors.tsv", delimiter="\t")
    np.testing.assert_allclose(vec, view.ctx.workspace.codes["pixels"], atol=1e-5)
    assert (tmp_path / "metadata.tsv").read_text().splitlines()[1] == "0\t0"
    view.export_plot(str(tmp_path / "plot.png"))
    view.export_plot(str(tmp_path / "plot.svg"))
    from PySide6.QtGui import QImage

    assert QImage(str(tmp_path / "plot.png")).width() >= 800
    assert "<svg" in (tmp_path / "plot.svg").read_text()[:2000]


def test_large_sets_are_rasterised_and_still_picked(qtbot):
    from explorer.core.imageset import ImageSet
    from explorer.ui.views.scatter import View

    rng = np.random.default_rng(0)
    n = 60_000
    labels = rng.integers(0, 4, n)
    codes = (np.array([[0, 0], [10, 0], [0, 10], [10, 10]])[labels] + rng.normal(size=(n, 2))).astype(
        np.float32
    )
    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(ImageSet(images=None, codes=codes, labels=labels, class_names=list("abcd")))
    v = View(ctx)
    qtbot.addWidget(v)
    v.resize(900, 600)
    v.show()
    qtbot.waitExposed(v)
    side = _wait_done(qtbot, v)
    assert v.panel.cloud.raster and not v.panel.cloud.scatter.isVisible()
    img = v.panel.cloud.image._buffer
    qtbot.wait(50)
    img = v.panel.cloud.image._buffer
    assert img.shape[:2] == (np.ceil(v.panel.view_box.height()), np.ceil(v.panel.view_box.width()))
    assert (img[..., 3] > 0).mean() > 0.05  # points cover the picture
    xy = side.layout
    v.box_finished(-1e9, -1e9, 1e9, 0.0)
    np.testing.assert_array_equal(ctx.workspace.selection, np.flatnonzero(xy[:, 1] <= 0.0))
    row = _isolated_row(xy[:2000])
    assert v.panel.pick(float(xy[row, 0]), float(xy[row, 1])) is not None


def test_follows_the_current_model_when_its_codes_arrive_after_pixels(view, qtbot):
    ws = view.ctx.workspace
    ws.add_model("enc", object())  # the app's current model; its codes come later than pixels'
    assert ws.current_model == "enc"
    codes = np.random.default_rng(0).normal(size=(300, 5)).astype(np.float32)
    ws.set_codes("enc", codes)
    qtbot.waitUntil(lambda: ("enc", "pca") in ws.layouts and not view.busy(), timeout=20000)
    assert view.model_combo.currentText() == "enc"
    assert view.sides[0].model == "enc"
    np.testing.assert_array_equal(view.sides[0].layout, ws.layouts[("enc", "pca")])


def test_a_restored_session_shows_its_saved_tsne_layout_without_running_tsne(
    view, qtbot, tmp_path, small_set, monkeypatch
):
    from PySide6.QtCore import Qt

    from explorer.core import codes_store
    from explorer.core import session as sessions
    from explorer.ui.views.scatter import View

    ws = view.ctx.workspace
    saved = np.random.default_rng(3).normal(size=(300, 2)).astype(np.float32)  # no t-SNE makes this
    ws.set_layout("pixels", "tsne", saved, {"seed": 4, "perplexity": 12.0})
    view.state.update(method="tsne", seed=4, perplexity=12.0, colour="faithfulness", hidden={2, 5})
    _wait_done(qtbot, view)
    np.testing.assert_array_equal(view.sides[0].layout, saved)  # the workspace's layout is used
    path = tmp_path / "s.session"
    sessions.save_session(path, sessions.state_from_workspace(ws, "sample:digits", {"pixels": "pixels"}))

    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(small_set)
    ctx.workspace.set_codes("pixels", small_set.float_images().reshape(300, -1))
    fresh = View(ctx)
    qtbot.addWidget(fresh)
    fresh.show()
    _wait_done(qtbot, fresh)  # its own first layout (PCA) before the session comes back

    def no_layouts(*args, **kwargs):
        raise AssertionError("a layout was computed")

    monkeypatch.setattr("explorer.projection.project_job", no_layouts)
    monkeypatch.setattr(codes_store, "load_layout_full", lambda *a, **k: None)  # nor read from disk
    ctx.workspace.models["pixels"] = object()
    assert sessions.restore_into_workspace(ctx.workspace, sessions.load_session(path)) == []
    side = fresh.sides[0]
    qtbot.waitUntil(
        lambda: (
            side.tag is not None and side.tag[3] == "tsne" and not fresh.busy() and side.faith is not None
        ),
        timeout=20000,
    )
    assert side.panel.status.text() != "failed"
    np.testing.assert_array_equal(side.layout, saved)
    assert fresh.method() == "tsne" and fresh.seed_spin.value() == 4 and fresh.perplexity_spin.value() == 12.0
    assert fresh.colour_combo.currentIndex() == 1 and fresh.state.hidden == {2, 5}
    assert [fresh.legend.item(k).checkState() == Qt.CheckState.Checked for k in (1, 2, 5)] == [
        True,
        False,
        False,
    ]
    for s in fresh.sides:
        s.runner.shutdown()


def test_connect_view_wires_each_event_to_the_slot_of_that_name(qtbot):
    """One helper connects a view's _on_<event>_changed slots (the scatter and retrieval views)."""
    from explorer.ui.qworkspace import QWorkspace

    ctx = AppContext.standalone()
    calls = []

    class Listener:
        def _on_dataset_changed(self):
            calls.append("dataset")

        def _on_models_changed(self):
            calls.append("models")

        def _on_codes_changed(self, model):
            calls.append(("codes", model))

    assert isinstance(ctx.qws, QWorkspace)
    listener = Listener()
    assert ctx.qws.connect_view(listener, current_model="models") == [
        "dataset",
        "models",
        "current_model",
        "codes",
    ]
    ctx.qws.current_model_changed.emit()
    ctx.qws.codes_changed.emit("m")
    ctx.qws.selection_changed.emit()  # no slot: nothing
    assert calls == ["models", ("codes", "m")]


def test_a_new_colouring_of_a_raster_cloud_draws_what_an_explicit_order_draws(qtbot):
    """Issue 16: recolouring 10^7 points is a pass over uint8 codes; the picture is the one the
    general (order) path draws, zoomed out (density) and zoomed in (points in draw order)."""
    import pyqtgraph as pg

    from explorer.jobs.scatter.colours import point_colours
    from explorer.jobs.scatter.index import grid_for
    from explorer.ui.scatter_render import PointCloud

    rng = np.random.default_rng(0)
    n = 80_000
    labels = rng.integers(-1, 20, n)
    xy = (rng.normal(size=(n, 2)) + labels[:, None] % 5).astype(np.float32)
    emph = rng.random(n) < 0.2
    drawn = labels != 3
    cidx, palette = point_colours(labels, 20, None, emph)
    assert cidx.dtype == np.uint8
    widgets, clouds = [], []
    for _ in range(2):
        w = pg.PlotWidget()
        qtbot.addWidget(w)
        w.resize(500, 400)
        w.show()
        widgets.append(w)
        clouds.append(PointCloud(w.getPlotItem(), raster_above=1000))
    qtbot.waitExposed(widgets[1])
    clouds[0].set_points(xy, cidx, palette, drawn=drawn, on_top=emph)
    order = np.concatenate([np.flatnonzero(drawn & ~emph), np.flatnonzero(drawn & emph)])
    clouds[1].set_points(xy, cidx.astype(np.int64), palette, order)
    assert clouds[0].raster and clouds[1].raster
    grid = grid_for(xy)
    assert clouds[0]._density.xs is clouds[1]._density.xs  # one copy of the sorted coordinates
    for rect in ((-4.0, -4.0, 14.0, 14.0), (0.0, 0.0, 0.3, 0.3)):
        for w in widgets:
            w.getPlotItem().getViewBox().setRange(xRange=rect[::2], yRange=rect[1::2], padding=0)
        for c in clouds:
            c.render()
        a, b = clouds[0].image._buffer, clouds[1].image._buffer
        assert (a[..., 3] > 0).sum() > 50
        np.testing.assert_array_equal(a, b)
    assert grid is grid_for(xy)


def test_the_readout_shows_the_landmark_layouts_faithfulness_and_the_sample(view, qtbot):
    """Issue 16 item 2: on the landmark path the readout gives both layouts' 10-NN kept."""
    view.job_overrides = {"threshold": 100, "landmarks": 80, "refine_steps": 5}
    view.set_method("tsne")
    side = _wait_done(qtbot, view, timeout=60000)
    mean, _, landmark, measured = side.faith
    assert np.isfinite(landmark) and measured == 300
    assert view.faith_label.text() == f"10-NN kept: {mean:.2f} (landmarks {landmark:.2f})"
    assert "landmark layout" in view.faith_label.toolTip()
    view.set_method("pca")
    _wait_done(qtbot, view)
    assert view.faith_label.text() == f"10-NN kept: {view.sides[0].faith[0]:.2f}"


def test_svg_export_writes_points_as_vectors_or_one_image_with_a_vector_legend(qtbot, tmp_path):
    """Issue 13 item 11: 1,000 points were 16.5 MB of embedded bitmaps."""
    import re

    from explorer.core.imageset import ImageSet
    from explorer.ui.views.scatter import View

    rng = np.random.default_rng(0)
    for n in (1000, 8000):
        labels = rng.integers(0, 20, n)
        codes = rng.normal(size=(n, 2)).astype(np.float32) + labels[:, None]
        names = [f"obj{i}" for i in range(20)]
        ctx = AppContext.standalone()
        ctx.workspace.set_dataset(ImageSet(images=None, codes=codes, labels=labels, class_names=names))
        v = View(ctx)
        qtbot.addWidget(v)
        v.resize(1000, 650)
        v.show()
        qtbot.waitExposed(v)
        _wait_done(qtbot, v)
        v.set_class_visible(3, False)
        path = tmp_path / f"plot{n}.svg"
        note = v.export_plot(str(path))
        svg = path.read_text()
        images = len(re.findall(r"<image\b", svg))
        shown = int((labels != 3).sum())
        if n == 1000:
            assert images == 0 and path.stat().st_size < 1_000_000
            assert len(re.findall(r"<path\b", svg)) >= shown  # one shape per point
            assert note == f"{shown:,} points as vector shapes"
        else:
            assert images == 1 and path.stat().st_size < 1_500_000
            assert note.startswith(f"{shown:,} points as one embedded image")
        assert "obj19" in svg and "obj3<" not in svg  # the legend, as text, without the hidden class
        assert not v.panel.cloud.raster  # the plot on screen is as before
        v.shutdown()


def test_while_the_models_load_the_empty_scatter_says_so_and_stops_when_they_are_in(qtbot, small_set):
    """Issue 13 item 11: "No codes yet" was shown while the data set was open and its models
    (and so its codes) were still loading."""
    from PySide6.QtCore import QObject, Signal

    from explorer.ui.views.scatter import View

    class Loader(QObject):
        models_idle = Signal()
        loading = True

        def busy(self):
            return self.loading

    ctx = AppContext.standalone()
    loader = ctx.services["loader"] = Loader()
    v = View(ctx)
    qtbot.addWidget(v)
    ctx.workspace.set_dataset(small_set)
    assert v.panel.message.toPlainText() == "Loading the models…"
    ctx.workspace.add_model("pixels", object())  # in: its codes are computed next
    assert v.panel.message.toPlainText() == "Computing the codes of pixels…"
    ctx.workspace.remove_model("pixels")  # (a model that failed to encode, say)
    assert v.panel.message.toPlainText() == "Loading the models…"
    loader.models_idle.emit()  # the batch ended (its job still winding down: busy() says True)
    assert "load or train" in v.panel.message.toPlainText()


def test_the_controls_fit_a_1280_px_window_beside_the_data_dock(view):
    """Issue 13 item 11: the tools row asked for 1,077 px (a scrollbar, Export cut off); at
    1280 px the tab beside the data dock (320 px) has about 950."""
    view.faith_label.setText("10-NN kept: 0.85 (landmarks 0.90) | 0.80 (landmarks 0.88)")
    assert view.controls.tools.minimumSize().width() <= 900
    assert view.controls.top.minimumSize().width() <= 900
    assert view.minimumSizeHint().width() <= 940


def test_legend_cuts_long_class_names_instead_of_scrolling_sideways(qtbot):
    """A folder's class names ('hubble_deep_field', 'motorcycle_left') were cut by the legend's edge
    behind a horizontal scroll bar; now the legend fits what it can, elides the rest, and each
    entry's tooltip has the full name."""
    from PySide6.QtCore import Qt

    from explorer.ui.class_legend import MAX_WIDTH, MIN_WIDTH, ClassLegend

    legend = ClassLegend()
    qtbot.addWidget(legend)
    legend.fill(["a", "b"])
    assert legend.width() == MIN_WIDTH
    legend.fill(["astronaut", "hubble_deep_field", "motorcycle_left_side_view"])
    assert legend.width() == MAX_WIDTH
    assert legend.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    assert legend.textElideMode() == Qt.TextElideMode.ElideRight
    assert legend.item(2).toolTip().startswith("motorcycle_left_side_view")


def test_going_back_to_the_colouring_before_reuses_its_density_layers(qtbot):
    """A selection cleared (or a search undone) gives back the colouring drawn before: its density
    layers (codes in cell order, summed levels) are reused after one comparison of the codes, and
    the picture is what a fresh cloud draws; changed codes, also changed in place in the caller's
    array, make new layers."""
    import pyqtgraph as pg

    from explorer.jobs.scatter.colours import point_colours
    from explorer.ui.scatter_render import PointCloud

    rng = np.random.default_rng(1)
    n = 60_000
    labels = rng.integers(0, 6, n)
    xy = (rng.normal(size=(n, 2)) + labels[:, None] % 3).astype(np.float32)
    plain, palette = point_colours(labels, 6, None, np.zeros(n, bool))
    lasso, palette2 = point_colours(labels, 6, None, xy[:, 0] > 1.0)
    assert np.array_equal(palette, palette2)
    widgets = []
    for _ in range(2):
        w = pg.PlotWidget()
        qtbot.addWidget(w)
        w.resize(400, 300)
        w.show()
        widgets.append(w)
    qtbot.waitExposed(widgets[1])
    cloud, fresh = (PointCloud(w.getPlotItem(), raster_above=1000) for w in widgets)
    cloud.set_points(xy, plain, palette)
    first = cloud._density
    cloud.set_points(xy, lasso, palette)
    assert cloud._density is not first
    cloud.set_points(xy, plain.copy(), palette)  # the selection cleared: equal codes, a new array
    assert cloud._density is first
    fresh.set_points(xy, plain, palette)
    for c in (cloud, fresh):
        c.render()
    assert (cloud.image._buffer[..., 3] > 0).sum() > 1000
    np.testing.assert_array_equal(cloud.image._buffer, fresh.image._buffer)
    plain[:5000] = 0  # the caller's array changed in place: not the colouring kept
    cloud.set_points(xy, plain, palette)
    assert cloud._density is not first
    cloud.set_points(xy, lasso, palette)  # two back: only the current and the one before are kept
    assert len(cloud._colourings) == 2


def test_the_class_count_follows_a_label_edit(view):
    """The labels' maximum is taken once per labels array; an edit (a new array) is seen."""
    ws = view.ctx.workspace
    assert view._n_classes() == 10
    ws.set_labels([0, 1], "a new class")
    assert view._n_classes() == 11 and ws.dataset.class_names[10] == "a new class"
    labels = ws.dataset.labels.copy()
    labels[5] = 14  # a label past the names, in a new labels array
    ws.dataset.labels = labels
    assert view._n_classes() == 15


def test_after_a_run_follow_training_is_not_left_ticked(view, qtbot):
    """polish2 / issue 13: once a run had ended and the plot showed its model, "Follow training"
    stayed ticked and the label read "step 30 (3/3)" over a plot that showed the Model box's choice.
    Now the box is unticked and hidden, the label says the run has ended and how to replay it; a
    replayed frame says so; a new run is followed again."""
    ws = view.ctx.workspace
    idx = np.arange(0, 300, 3)
    run = "dae (photos)"
    for step in (10, 20, 30):
        ws.add_probe_frame(run, idx, step, ws.codes["pixels"][idx] * step)
    qtbot.waitUntil(lambda: not view.busy() and view.sides[0].tag[0] == "live", timeout=20000)
    assert view.live_check.isChecked() and view.live_check.isVisible()
    ws.add_model(run, object())
    ws.end_run(run)
    assert view.live_check.isChecked() and "step 30 (3/3)" in view.frame_label.text()  # codes to come
    ws.set_codes(run, ws.codes["pixels"][:, :16])
    qtbot.waitUntil(lambda: not view.busy() and view.sides[0].tag[0] == run, timeout=20000)
    assert not view.live_check.isChecked() and not view.live_check.isVisible()
    assert "has ended" in view.frame_label.text() and "Model box" in view.frame_label.text()
    assert view.frame_slider.isEnabled() and view.frame_slider.value() == view.frame_slider.maximum()
    view.frame_slider.setValue(1)  # replay a frame: the label says it is a replay
    assert view.sides[0].tag[0] == "live" and "replayed: step 20 (2/3)" in view.frame_label.text()
    view.model_combo.activated.emit(view.model_combo.currentIndex())  # picking a model ends the replay
    assert view.sides[0].tag[0] == run and view.frame_slider.value() == view.frame_slider.maximum()
    ws.add_probe_frame("run2", idx, 5, ws.codes["pixels"][idx])  # a new run: followed again
    qtbot.waitUntil(lambda: view.sides[0].tag[0] == "live", timeout=20000)
    assert view.live_check.isChecked() and view.live_check.isVisible()
    assert view.frame_label.text().startswith("run2: step 5")
