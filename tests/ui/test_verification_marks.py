"""The threshold slider's EER and FAR marks near one end (seen on a photo folder: both labels were
clamped to the slider's right edge and drawn over each other, "FAEER1e-3")."""

import pytest

from explorer.ui.views.verification.charts import ThresholdSlider, label_lefts


@pytest.mark.parametrize("scores", [(0.93, 0.97), (0.01, 0.03), (0.5, 0.51), (0.2, 0.8)])
def test_mark_labels_never_overlap_and_stay_on_the_slider(qtbot, scores):
    slider = ThresholdSlider()
    qtbot.addWidget(slider)
    slider.resize(210, 58)
    slider.set_score_range(0.0, 1.0)
    slider.set_marks([(scores[0], "EER", "#2ca02c"), (scores[1], "FAR 1e-3", "#d62728")])
    slider.grab()  # paints
    (a0, a1), (b0, b1) = slider.label_spans
    assert 0 <= a0 and b1 <= slider.width()
    assert a1 + 4 <= b0, f"labels overlap: {slider.label_spans}"


def test_label_lefts_keep_labels_under_their_marks_when_there_is_room():
    assert label_lefts([50, 150], [20, 40], 300) == [40, 130]  # centred, untouched
    lefts = label_lefts([280, 290, 295], [30, 30, 30], 300)
    assert lefts[2] == 270 and lefts[1] <= 270 - 4 - 30 and lefts[0] <= lefts[1] - 34


def test_a_pair_with_identical_codes_scores_0_not_minus_0(qtbot, digits_300):
    """A collapsed autoencoder gave two photos of different classes the same code: "score -0"."""
    import numpy as np

    from explorer.ui.context import AppContext
    from explorer.ui.views import verification as vv

    class Collapsed:
        name, input_shape = "collapsed", None

        def encode(self, images):
            return np.zeros((len(images), 4), np.float32)

    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(digits_300)
    enc = Collapsed()
    ctx.workspace.add_model(enc.name, enc)
    ctx.workspace.set_codes(enc.name, enc.encode(digits_300.float_images()))
    view = vv.View(ctx)
    qtbot.addWidget(view)
    view.model_combo.setCurrentText("collapsed")
    view.set_slot_index(0, 3)
    view.set_slot_index(1, 7)
    qtbot.waitUntil(lambda: view.score_label.text().startswith("score "), timeout=10000)
    assert view.score_label.text().split()[:2] == ["score", "0"]
    view.shutdown()
