"""The verification panel: drops, score, MATCH / MISMATCH at the threshold, ROC, grids (pytest-qt)."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QByteArray, QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from sklearn.datasets import load_digits

from explorer.core.imageset import ImageSet
from explorer.models.encoders import PixelEncoder
from explorer.ui.context import AppContext
from explorer.ui.views import verification as vv
from explorer.verification import code_scores


class Projection:
    """A fixed random projection of the pixels: a second encoder to compare with."""

    name, input_shape = "proj", None

    def __init__(self):
        self.w = np.random.default_rng(0).normal(size=(64, 12)).astype(np.float32)

    def encode(self, images):
        return images.reshape(len(images), -1) @ self.w


@pytest.fixture
def view(open_verification, digits_300):
    return open_verification(digits_300, [PixelEncoder(), Projection()], "pixels")


def _drop(widget, md):
    assert widget._accepts(md)  # what dragEnterEvent checks
    drop = QDropEvent(
        QPointF(5, 5), Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    widget.dropEvent(drop)


def _drop_file(widget, path):
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(path))])
    _drop(widget, md)


def _drop_index(widget, index):
    md = QMimeData()
    md.setData(vv.MIME_INDEX, QByteArray(str(index).encode()))
    _drop(widget, md)


def test_dropped_files_score_like_the_engine_and_the_threshold_flips_the_verdict(view, tmp_path):
    rng = np.random.default_rng(3)
    paths = []
    for name in ("a.png", "b.png"):  # two images of the data set's shape, not items of it
        arr = (rng.random((8, 8)) * 255).astype(np.uint8)
        Image.fromarray(arr, mode="L").save(tmp_path / name)
        paths.append(tmp_path / name)
    _drop_file(view.slot_a, paths[0])
    _drop_file(view.slot_b, paths[1])
    assert view.slots[0].caption == "a.png" and view.slots[1].caption == "b.png"
    # the engine's score for the same two images: pixel codes, negative L2 distance
    a, b = (np.asarray(Image.open(p), dtype=np.float32)[None, None] / 255 for p in paths)
    enc = PixelEncoder()
    engine = float(code_scores(enc.encode(a), enc.encode(b), "l2")[0])
    assert view.pair_score() == pytest.approx(engine, abs=1e-9)
    assert view.score_label.text() == f"score {engine:.4g} (−L2 distance)"
    # the threshold slider across the score flips the verdict
    view.set_threshold(engine - 1e-3)
    assert view.verdict_text() == "MATCH" and vv.GREEN in view.verdict.styleSheet()
    view.set_threshold(engine + 1e-3)
    assert view.verdict_text() == "MISMATCH" and vv.RED in view.verdict.styleSheet()
    view.slider.setValue(0)  # lowest threshold: everything matches
    assert view.threshold < engine and view.verdict_text() == "MATCH"
    view.slider.setValue(view.slider.maximum())
    assert view.threshold > engine and view.verdict_text() == "MISMATCH"


def test_threshold_starts_at_the_eer_and_the_marks_are_there(view):
    res = view.evaluation().result
    assert view.threshold == pytest.approx(res.eer_threshold)
    assert [m[1] for m in view.slider.marks] == ["EER", "FAR 1e-3"]
    far, tar = view.evaluation().rates(res.eer_threshold)
    assert far == pytest.approx(res.eer, abs=0.01) and 1 - tar == pytest.approx(res.eer, abs=0.01)
    view._snap("far")
    assert view.threshold == pytest.approx(res.threshold_at_far(1e-3))
    assert view.evaluation().rates(view.threshold)[0] <= 1e-3
    assert view.threshold_label.text().startswith(f"threshold {view.threshold:.4g}")


def test_grid_items_and_a_non_image(view, tmp_path):
    ds = view.ws.dataset
    _drop_index(view.slot_a, 5)
    _drop_index(view.slot_b, 9)
    assert view.slots[0].index == 5 and view.slots[1].index == 9
    codes = view.ws.codes["pixels"]
    assert view.pair_score() == pytest.approx(float(code_scores(codes[[5]], codes[[9]])[0]))
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    _drop_file(view.slot_a, bad)
    assert view.slots[0].index == 5  # unchanged
    assert "not an image" in view.slot_a.caption.text()
    big = tmp_path / "big.png"
    Image.fromarray((np.random.default_rng(1).random((20, 24, 3)) * 255).astype(np.uint8), "RGB").save(big)
    assert view.load_file(1, str(big))
    assert view.slots[1].image.shape == ds.shape and "24×20 → 8×8" in view.slots[1].note


def test_hardest_errors_load_into_the_slots(view, qtbot):
    view._refresh_hardest()
    assert view.fa_grid.count() == vv.HARDEST and view.fr_grid.count() == vv.HARDEST
    item = view.fa_grid.item(0)
    i, j = view.fa_grid.pair_at(0)
    labels = view.ws.dataset.labels
    assert labels[i] != labels[j]
    view.fa_grid.itemClicked.emit(item)
    assert (view.slots[0].index, view.slots[1].index) == (i, j)
    assert view.verdict_text() == "MATCH"  # a false accept scores above the threshold
    assert "wrong: different classes" in view.verdict_note.text()
    view.fr_grid.itemClicked.emit(view.fr_grid.item(0))
    assert view.verdict_text() == "MISMATCH" and "wrong: same class" in view.verdict_note.text()


def test_two_rocs_and_the_table(view, qtbot):
    view.compare_combo.setCurrentText("proj")
    qtbot.waitUntil(lambda: view.evaluation("proj") is not None, timeout=30000)
    xs0, _ = view.roc_plot.curves[0].getData()
    xs1, _ = view.roc_plot.curves[1].getData()
    assert len(xs0) > 10 and len(xs1) > 10
    assert view.roc_plot.plotItem.ctrl.logXCheck.isChecked()
    assert view.table.rowCount() == 2
    for r, name in enumerate(["pixels", "proj"]):
        res = view.evaluation(name).result
        assert view.table.item(r, 0).text() == name
        assert view.table.item(r, 1).text() == f"{res.auc:.4f}"
    g = view.evaluation().genuine_hist
    assert g.sum() > 0 and view.hist_plot.line.isVisible()


def test_a_pair_classifier_scores_pairs_itself(view, qtbot):
    import torch

    from explorer.models.base import build_model
    from explorer.models.encoders import model_encoder

    view.scorer_max_pairs = 3000
    torch.manual_seed(0)
    net = build_model("pairnet", (1, 8, 8), options={"channels": [4, 8], "hidden": 16})
    view.ws.add_model("pairnet", model_encoder(net, name="pairnet"))
    view.model_combo.setCurrentText("pairnet")
    qtbot.waitUntil(lambda: view.evaluation("pairnet") is not None, timeout=30000)
    res = view.evaluation("pairnet").result
    assert len(res.pairs) == 3000 and res.metric == "pair classifier"
    _drop_index(view.slot_a, 2)
    _drop_index(view.slot_b, 7)
    ds = view.ws.dataset
    expect = net.score_pairs(ds.float_images([2]), ds.float_images([7]))[0]
    assert view.pair_score() == pytest.approx(float(expect), abs=1e-6)
    view.state.update(score="gallery")  # AS-norm is for code scores: a pair classifier's stay logits
    assert view.evaluation("pairnet").result is res and view.pair_score() == pytest.approx(
        float(expect), abs=1e-6
    )
    assert view.score_label.text().startswith(f"score {float(expect):.4g} (logit)")
    assert (
        view.score_note.text()
        == "pairnet scores pairs itself: its scores stay raw logits (AS-norm applies to codes)."
    )


def test_one_class_and_unlabelled_sets_do_not_break_the_panel(view, qtbot, tmp_path):
    ws = view.ws
    d = load_digits()
    images = (d.images[:40] * (255 / 16)).round().astype(np.uint8)[:, None]
    ws.set_dataset(ImageSet(images=images, labels=np.zeros(40, int), class_names=["0"], name="one"))
    ws.set_codes("pixels", PixelEncoder().encode(ws.dataset.float_images()))
    qtbot.waitUntil(lambda: "Cannot measure" in view.status.text(), timeout=20000)
    assert view.evaluation() is None and view.slots == [None, None]
    ws.set_dataset(ImageSet(images=images, name="unlabelled"))
    assert "no labels" in view.status.text()
    _drop_index(view.slot_a, 1)
    _drop_index(view.slot_b, 2)
    assert view.score_label.text().startswith("score ") and view.verdict_text() == ""


def test_sixteen_bit_and_damaged_files(view, tmp_path):
    wide = tmp_path / "wide.png"
    Image.fromarray((np.arange(64).reshape(8, 8) * 1000).astype(np.uint16)).save(wide)
    assert view.load_file(0, str(wide))
    img = view.slots[0].image
    assert img.max() == pytest.approx(1.0) and img[0, 0, 1] == pytest.approx(1000 / 63000, abs=1 / 255)
    assert "scaled to 8 bits" in view.slots[0].note
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    assert not view.load_file(1, str(broken))
    assert view.slots[1] is None and "damaged" in view.slot_b.caption.text()
    assert not view.load_file(1, str(tmp_path))  # a folder
    assert "folder" in view.slot_b.caption.text()


def test_shows_the_current_model_against_pixels_until_the_user_picks(qtbot):
    import numpy as np

    from explorer.core.imageset import ImageSet
    from explorer.ui.views.verification import View

    class Enc:
        input_shape = None

        def __init__(self, name):
            self.name = name

        def encode(self, images):
            return images.reshape(len(images), -1)

    ctx = AppContext.standalone()
    ws = ctx.workspace
    ws.set_dataset(
        ImageSet(images=np.zeros((6, 1, 4, 4), np.uint8), labels=np.arange(6) % 2, class_names=["a", "b"])
    )
    view = View(ctx)
    qtbot.addWidget(view)
    ws.add_model("pixels", Enc("pixels"))
    ws.add_model("siamese", Enc("siamese"))  # arrives later, and is the app's current model
    assert ws.current_model == "siamese"
    assert view.model_combo.currentText() == "siamese"
    assert view.compare_combo.currentText() == "pixels"
    view.compare_combo.setCurrentText("(none)")
    view.compare_combo.activated.emit(0)  # the user chose no second model: it stays so
    ws.add_model("other", Enc("other"))
    assert view.compare_combo.currentText() == "(none)"
