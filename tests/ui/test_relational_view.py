import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from explorer.core.imageset import ImageSet
from explorer.models.gae import GaeConfig, GatedAutoencoder
from explorer.relational.engine import analogy, infer_mappings
from explorer.relational.transforms import transform_images
from explorer.ui.context import AppContext
from explorer.ui.imaging import to_pixmap


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = GatedAutoencoder(GaeConfig(factors=24, mapping=8, whiten=0), (1, 9, 9))
    with torch.no_grad():
        m.W_in.normal_(0, 1.0)
        m.W_out.normal_(0, 0.3)
        m.U.normal_(0, 0.2)
        m.V.normal_(0, 0.2)
    return m.eval()


@pytest.fixture
def ctx():
    rng = np.random.default_rng(0)
    x = rng.random((30, 1, 9, 9)).astype(np.float32)
    dx = rng.integers(-2, 3, 30)
    dy = rng.integers(-2, 3, 30)
    y = transform_images(x, "shift", {"dx": 1, "dy": 0})
    c = AppContext.standalone()
    c.workspace.set_dataset(ImageSet(images=x, partners=y, transforms={"dx": dx, "dy": dy}, name="toy"))
    return c


def pixmap_bytes(pixmap):
    img = pixmap.toImage()
    return bytes(img.constBits())[: img.sizeInBytes()]


def test_view_shows_the_engines_analogy(qtbot, ctx, model):
    from explorer.ui.views.relational import N_APPLY, View

    view = View(ctx)
    qtbot.addWidget(view)
    view.set_model(model, "toy gae")
    with qtbot.waitSignal(view.analogy_changed, timeout=2000):
        view.set_pair(3, "shift", dx=2, dy=-1)
    with qtbot.waitSignal(view.analogy_changed, timeout=2000):
        view.set_apply_start(10)

    data = ctx.workspace.dataset
    x = data.float_images([3])
    y = transform_images(x, "shift", {"dx": 2, "dy": -1})
    x2 = data.float_images(slice(10, 10 + N_APPLY))
    expected = analogy(model, x, y, x2)
    np.testing.assert_allclose(view.z, infer_mappings(model, x, y)[0], atol=1e-6)
    np.testing.assert_allclose(view.prediction, expected, atol=1e-6)
    np.testing.assert_allclose(view.truth, transform_images(x2, "shift", {"dx": 2, "dy": -1}))
    # what is on screen is that array, pixel for pixel
    for k in range(N_APPLY):
        shown = view.pred_slots[k].pixmap()
        assert pixmap_bytes(shown) == pixmap_bytes(to_pixmap(np.clip(expected[k], 0, 1), shown.width()))
    # the bar chart holds z
    heights = view.z_bars.opts["height"]
    np.testing.assert_allclose(heights, view.z, atol=1e-6)
    assert "nmse" in view.nmse_label.text()
    view.runner.shutdown()


def test_partner_mode_uses_the_data_sets_partner(qtbot, ctx, model):
    from explorer.ui.views.relational import View

    view = View(ctx)
    qtbot.addWidget(view)
    view.set_model(model, "toy gae")
    view.set_pair(5)  # y = partner of item 5
    x, y = view.current_pair()
    np.testing.assert_allclose(y, ctx.workspace.dataset.partners[5])
    assert view.transformation() == (
        "shift",
        {
            "dx": float(ctx.workspace.dataset.transforms["dx"][5]),
            "dy": float(ctx.workspace.dataset.transforms["dy"][5]),
        },
    )
    view.runner.shutdown()


def test_mapping_layout_job_colours_by_the_true_transform(model, ctx):
    from explorer.core.progress import run_to_end
    from explorer.ui.views.relational import mapping_layout_job

    out = run_to_end(mapping_layout_job(model, ctx.workspace.dataset, count=30, tsne=False))
    assert out["layout"].shape == (30, 2)
    assert out["colour"].shape == (30,)
    assert "direction" in out["colour_label"]


def test_dropped_files_become_x_and_y(qtbot, ctx, model, tmp_path):
    from PIL import Image

    from explorer.ui.views.relational import View

    rng = np.random.default_rng(2)
    a = (rng.random((18, 18)) * 255).astype(np.uint8)  # not the model's 9x9: resized
    Image.fromarray(a).save(tmp_path / "a.png")
    Image.fromarray(a[:, ::-1].copy()).save(tmp_path / "b.png")
    notes = []
    ctx.show_status = notes.append
    view = View(ctx)
    qtbot.addWidget(view)
    view.set_model(model, "toy gae")
    view._on_file("x", str(tmp_path / "a.png"))
    view._on_file("y", str(tmp_path / "b.png"))
    x, y = view.current_pair()
    assert x.shape == y.shape == (1, 9, 9)
    assert np.allclose(x[0, :, ::-1], y[0], atol=2 / 255)
    assert view.truth is None and "unknown" in view.pair_note.text()
    assert any("resized to the model's 9x9" in n for n in notes)
    np.testing.assert_allclose(view.prediction, analogy(model, x[None], y[None], view.x2), atol=1e-6)
    view.runner.shutdown()


@pytest.fixture
def sequences(tmp_path):
    """3 sequences (sub-folders) of 6 frames of a 9x9 pattern moving right one pixel a frame (the
    pattern smoothed over 3 columns, as real frames are, so it looks like sequences: each frame's
    nearest is a neighbour in time)."""
    from PIL import Image

    from explorer.data import load_data

    rng = np.random.default_rng(1)
    for s in range(3):
        (tmp_path / f"seq{s}").mkdir()
        base = rng.random((9, 20))
        base = (np.roll(base, -1, axis=1) + base + np.roll(base, 1, axis=1)) / 3
        for t in range(6):  # frame10-style names sort naturally
            Image.fromarray((np.roll(base, t, axis=1)[:, :9] * 255).astype(np.uint8)).save(
                tmp_path / f"seq{s}" / f"frame{t}.png"
            )
    return load_data(str(tmp_path))


def test_on_a_folder_of_sequences_y_is_the_next_frame_or_any_item(qtbot, model, sequences):
    """Issue 13 item 10: y as frame t+1 or another item (not only a synthetic transform of x), a
    form that says what the pair is (also after a drop), and mapping codes of the open data."""
    from explorer.ui.views.relational import ITEM, NEXT, TRANSFORM, View, mapping_layout_job

    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(sequences)
    view = View(ctx)
    qtbot.addWidget(view)
    view.set_model(model, "toy gae")
    modes = [view.y_mode.itemText(i) for i in range(view.y_mode.count())]
    assert modes == [NEXT, ITEM, TRANSFORM]
    view.x_index.setValue(7)  # seq1, frame1
    view.set_y_item(NEXT)
    x, y = view.current_pair()
    np.testing.assert_array_equal(y, sequences.float_images([8])[0])  # frame 2 of the same sequence
    assert "item 8" in view.pair_note.text() and not view.kind.isEnabled()
    np.testing.assert_allclose(view.z, infer_mappings(model, x[None], y[None])[0], atol=1e-6)
    view.x_index.setValue(11)  # the last frame of seq1
    assert "last frame" in view.pair_note.text()
    view.set_y_item(ITEM, 14)
    np.testing.assert_array_equal(view.current_pair()[1], sequences.float_images([14])[0])
    assert view.truth is None and "unknown" in view.nmse_label.text()
    # a dropped y: the form no longer describes a synthetic shift
    view.y_mode.setCurrentText(TRANSFORM)
    view._y_file = sequences.float_images([2])[0]
    view.update_analogy()
    assert "dropped" in view.pair_note.text() and not view.dx.isEnabled()
    # mapping codes of the open data: its 15 pairs of consecutive frames, coloured by sequence
    from explorer.core.progress import run_to_end

    out = run_to_end(mapping_layout_job(model, sequences, tsne=False))
    assert out["layout"].shape == (15, 2) and out["source"] == sequences.name
    assert "sequence" in out["colour_label"]
    view.runner.shutdown()


def test_next_frame_analogy_is_scored_against_copying(qtbot, model, sequences):
    """Issue 18 item 2: the analogy panel shows the prediction beside the copy baseline and says
    plainly when the model does worse than copying x' (a line with both nmse values)."""
    from explorer.relational.engine import nmse
    from explorer.ui.views.relational import NEXT, View

    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(sequences)
    view = View(ctx)
    qtbot.addWidget(view)
    view.set_model(model, "toy gae")
    view.x_index.setValue(0)
    view.set_y_item(NEXT)
    view.set_apply_items([6, 7, 8])  # frames 0-2 of seq1: their next frames are 7, 8, 9
    np.testing.assert_array_equal(view.x2, sequences.float_images([6, 7, 8]))
    np.testing.assert_array_equal(view.truth, sequences.float_images([7, 8, 9]))
    ours, copy = nmse(view.prediction, view.truth), nmse(view.x2, view.truth)
    text = view.nmse_label.text()
    assert f"model nmse {ours:.3f}" in text and f"copying x' {copy:.3f}" in text
    assert ("WORSE than copying" in text) == (ours >= copy)
    # the same over many analogies of the open data: model, copy and mean side by side
    assert view.score["count"] > 0 and view.score["nmse_copy"] > 0
    score_text = view.panel.score_label.text()
    assert f"{view.score['nmse']:.3f}" in score_text and f"{view.score['nmse_copy']:.3f}" in score_text
    assert "mean" in score_text
    view.runner.shutdown()


def test_verdict_words():
    from explorer.ui.views.relational import parse_items, verdict

    assert "WORSE than copying" in verdict(0.093, 0.032) and "0.093" in verdict(0.093, 0.032)
    assert "beats copying (50% of its error)" in verdict(0.02, 0.04)
    assert parse_items("3, 5-7", 10) == [3, 5, 6, 7] and parse_items(" ", 10) is None
    with pytest.raises(ValueError, match="out of range"):
        parse_items("12", 10)


def test_x_prime_from_any_items_and_a_single_third_image(qtbot, ctx, model, tmp_path):
    """Issue 13 item 10: x' can be any items (not only consecutive ones), and one dropped third
    image gets the inferred transformation applied to it."""
    from PIL import Image

    from explorer.relational.engine import apply_mappings
    from explorer.ui.views.relational import View

    view = View(ctx)
    qtbot.addWidget(view)
    view.set_model(model, "toy gae")
    view.set_pair(3, "shift", dx=1, dy=1)
    view.set_apply_items([14, 2, 27])
    np.testing.assert_array_equal(view.x2, ctx.workspace.dataset.float_images([14, 2, 27]))
    assert view.prediction.shape == (3, 1, 9, 9)
    assert view.pred_slots[3].pixmap().isNull()  # only three shown
    view.panel.items_edit.setText("14, 99")  # out of range: not used, consecutive from the start
    view.update_analogy()
    assert len(view.x2) == 6 and "out of range" in view.panel.items_edit.toolTip()
    rng = np.random.default_rng(5)
    Image.fromarray((rng.random((9, 9)) * 255).astype(np.uint8)).save(tmp_path / "c.png")
    with qtbot.waitSignal(view.analogy_changed, timeout=2000):
        view.drop_third(str(tmp_path / "c.png"))
    third = view.panel.third
    assert third.shape == (1, 9, 9)
    np.testing.assert_allclose(
        view.panel.third_prediction, apply_mappings(model, view.z, third[None])[0], atol=1e-6
    )
    assert not view.panel.third_pred.pixmap().isNull()
    # a dropped x under a shift picked in the form: the form still says so and stays usable
    Image.fromarray((rng.random((9, 9)) * 255).astype(np.uint8)).save(tmp_path / "d.png")
    view._on_file("x", str(tmp_path / "d.png"))
    assert "x: the dropped image" in view.pair_note.text() and "shift" in view.pair_note.text()
    assert view.dx.isEnabled() and view.transformation()[0] == "shift"
    view.runner.shutdown()


def _laid_out(qtbot, model, data):
    """A relational view on ``data`` with ``model``, its Mapping codes tab shown and laid out."""
    from explorer.ui.views.relational import View

    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(data)
    view = View(ctx)
    qtbot.addWidget(view)
    view.set_model(model, "toy gae")
    with qtbot.waitSignal(view.runner.done, timeout=60000):
        view.tabs.setCurrentIndex(1)
    return view


def test_mapping_codes_tab_lays_out_the_open_sequences(qtbot, model, sequences):
    """Issue 13 item 10: the Mapping codes tab shows the open data's pairs, not random dots."""
    view = _laid_out(qtbot, model, sequences)
    payload = view.tabs.layout_payload
    assert payload["source"] == sequences.name and payload["layout"].shape == (15, 2)
    assert "sequence" in payload["colour_label"]
    assert len(view.tabs.code_scatter.data) == 15
    view.runner.shutdown()


def test_mapping_codes_name_their_sequences_in_a_legend(qtbot, model, sequences):
    """polish27: the colour scale numbered the sequences (0..2, 0..23 on turntable); they are named
    by their folders in a legend, in the scatter's class colours, and a click hides one."""
    from explorer.jobs.scatter.colours import class_palette

    view = _laid_out(qtbot, model, sequences)
    tabs = view.tabs
    names = [tabs.legend.item(i).text() for i in range(tabs.legend.count())]
    assert names == ["seq0", "seq1", "seq2"] == tabs.layout_payload["colour_names"]
    assert not tabs.legend.isHidden() and not tabs.colour_bar.isVisible()  # no numbered scale
    seq = tabs.layout_payload["colour"].astype(int)  # 5 pairs of each
    pal = class_palette(3)
    got = [b.color().getRgb()[:3] for b in tabs.code_scatter.data["brush"]]
    assert got == [tuple(int(v) for v in pal[k][:3]) for k in seq]
    tabs.legend.item(1).setCheckState(Qt.CheckState.Unchecked)  # "seq1" hidden
    assert sorted(seq[tabs.code_scatter.data["data"].astype(int)]) == [0] * 5 + [2] * 5
    view.runner.shutdown()


def test_a_change_basis_model_shows_its_fitted_weights_and_basis_images(qtbot, sequences):
    """Issue 18 item 2: the view takes bgae (no factor filters): z are fitted weights of any sign
    (the bar plot's range holds them), the filter tab shows images beside their basis of change,
    and the analogy is still scored against copying."""
    from explorer.models.basis_gae import BasisGaeConfig, BasisGatedAutoencoder
    from explorer.ui.views.relational import NEXT, View

    m = BasisGatedAutoencoder(BasisGaeConfig(mapping=2, width=6, depth=2), (1, 9, 9)).eval()
    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(sequences)
    view = View(ctx)
    qtbot.addWidget(view)
    view.set_model(m, "toy bgae")
    view.x_index.setValue(0)
    view.set_y_item(NEXT)
    x, y = view.current_pair()
    np.testing.assert_allclose(view.z, infer_mappings(m, x[None], y[None])[0], atol=1e-5)
    lo, hi = view.z_plot.getViewBox().viewRange()[1]
    assert lo <= view.z.min() and view.z.max() <= hi
    assert "basis" in view.tabs.filter_note.text() and view.tabs.filter_grid is not None
    assert view.tabs.filter_grid.shape[0] == 1 and 0 <= view.tabs.filter_grid.min() <= 1
    view.set_apply_items([6, 7, 8])  # frames with a next frame: scored against copying
    assert "copying x'" in view.nmse_label.text() and "basis images of change" in view.status.text()
    # where each errs, on one scale per column: |y' - x'| and |y' - ŷ'|
    from explorer.ui.views.relational.analogy_panel import error_images

    copy_err, model_err = error_images(view.x2, view.prediction, view.truth)
    assert copy_err.shape == view.x2.shape and max(copy_err.max(), model_err.max()) <= 1.0
    np.testing.assert_allclose(
        copy_err[0]
        * max(np.abs(view.truth[0] - view.prediction[0]).max(), np.abs(view.truth[0] - view.x2[0]).max()),
        np.abs(view.truth[0] - view.x2[0]),
        atol=1e-6,
    )
    panel = view.panel
    assert all(s.image is not None for s in panel.copy_err_slots[:3] + panel.model_err_slots[:3])
    assert panel.copy_err_slots[3].image is None  # only 3 x' shown
    view.runner.shutdown()


def test_the_shipped_model_for_the_open_images_is_chosen(qtbot, tmp_path, monkeypatch, sequences):
    """With shipped models for 13x13 shifts and for 9x9 sequences (standing in for the 32x32 turning
    objects), the view opens the one whose images the open data has, and follows the data."""
    from explorer.models.basis_gae import BasisGaeConfig, BasisGatedAutoencoder
    from explorer.models.checkpoint import save
    from explorer.ui.views.relational import View

    (tmp_path / "models").mkdir()
    monkeypatch.setenv("EXPLORER_SAMPLE_DATA", str(tmp_path))
    gae = GatedAutoencoder(GaeConfig(factors=8, mapping=4, whiten=0), (1, 13, 13))
    save(str(tmp_path / "models" / "gae_shifts.safetensors"), gae, summary={}, name="shifts")
    bgae = BasisGatedAutoencoder(BasisGaeConfig(width=4, depth=1), (1, 9, 9))
    save(str(tmp_path / "models" / "bgae_turntable.safetensors"), bgae, summary={}, name="turning")
    ctx = AppContext.standalone()
    view = View(ctx)
    qtbot.addWidget(view)
    assert view.model_name == "default: gae_shifts" and view.model.key == "gae"
    ctx.workspace.set_dataset(sequences)  # 9x9 frames
    assert view.model_name == "default: bgae_turntable" and view.model.key == "bgae"
    assert view.dataset() is sequences
    view.runner.shutdown()


def test_the_analogy_rows_are_above_the_fold_at_1280x800(qtbot, ctx, model):
    """In the main window's tab at 1280x800 (about 950x690 of view), the five analogy rows sit under
    the pair, not below the fold: the mapping-units plot is no taller than the pair beside it."""
    from explorer.ui.view_loading import scrolling_page
    from explorer.ui.views.relational import View
    from explorer.ui.views.relational.view import Z_PLOT_MAX

    view = View(ctx)
    page = scrolling_page(view)
    qtbot.addWidget(page)
    page.resize(950, 690)
    page.show()
    view.set_model(model, "toy gae")
    qtbot.waitUntil(lambda: view.z_plot.height() > 0)
    assert view.z_plot.height() <= Z_PLOT_MAX
    last = view.panel.model_err_slots[0]
    bottom = last.mapTo(view, last.rect().bottomLeft()).y()
    assert bottom < page.viewport().height(), (bottom, page.viewport().height())
    top_of_next = view.panel.true_slots[0].mapTo(view, view.panel.true_slots[0].rect().topLeft()).y()
    assert (
        top_of_next >= view.panel.pred_slots[0].mapTo(view, view.panel.pred_slots[0].rect().bottomLeft()).y()
    )


def test_the_snapshot_of_sequences_applies_z_to_later_views_of_the_same_object(qtbot, model, sequences):
    """A turn's speed differs between objects: the picture's x' are later views of x's own sequence
    (as `explorer evaluate analogy` scores), each with its next frame as the truth."""
    from explorer.data.pairs import sequence_order
    from explorer.ui.views.relational import View

    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(sequences)
    view = View(ctx)
    qtbot.addWidget(view)
    view.set_model(model, "toy gae")
    view.prepare_snapshot()
    first = [int(i) for i in sequence_order(sequences)[0]]
    assert view.x_index.value() == first[0]
    shown = [int(i) for i in view.panel.items(sequences.count)]
    assert len(shown) >= 3 and all(i in first[1:-1] for i in shown)
    np.testing.assert_array_equal(
        view.truth, sequences.float_images([first[first.index(i) + 1] for i in shown])
    )
    view.runner.shutdown()


def test_a_render_behind_another_tab_waits_until_the_view_is_shown(qtbot, ctx, model):
    """A new model or data set shown over event-loop turns: with the window up and another tab in
    front, the analogy (the model's conv passes) is not computed until the view is shown."""
    from PySide6.QtWidgets import QLabel, QTabWidget

    from explorer.ui.views.relational import View

    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    tabs.addTab(QLabel("in front"), "front")
    view = View(ctx)
    tabs.addTab(view, "relational")
    qtbot.waitUntil(lambda: not view.busy(), timeout=10000)  # what it shows at first (a shipped model)
    tabs.show()
    qtbot.waitExposed(tabs)
    before = view.prediction
    view.set_model(model, "toy gae", render=False)
    qtbot.waitUntil(lambda: view._render_paused, timeout=3000)
    assert view.prediction is before and not view.busy()
    tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.prediction is not before and not view.busy(), timeout=3000)
    assert view.prediction.shape[1:] == (1, 9, 9) and not view._render_paused
