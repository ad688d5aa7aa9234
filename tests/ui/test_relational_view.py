import numpy as np
import pytest
import torch

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
    """3 sequences (sub-folders) of 6 frames of a 9x9 pattern moving right one pixel a frame."""
    from PIL import Image

    from explorer.data import load_data

    rng = np.random.default_rng(1)
    for s in range(3):
        (tmp_path / f"seq{s}").mkdir()
        base = rng.random((9, 20))
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
