"""The verification view's score choice: raw or AS-norm against a cohort (pytest-qt, offscreen).
The view's figures and its 1:1 score must be what verification/norm.py computes for the same codes."""

import json

import numpy as np
import pytest

from explorer.core.imageset import ImageSet
from explorer.core.progress import run_to_end
from explorer.models.encoders import PixelEncoder
from explorer.verification import code_scores, evaluate_codes
from explorer.verification import norm as norms


class Unpriced:
    """An encoder whose codes the workspace does not have yet."""

    name, input_shape = "later", None

    def encode(self, images):
        return images.reshape(len(images), -1)[:, :6]


def _expected(view, **norm):
    """norm.py's evaluation of the view's chosen model's codes (the view's pairs, L2)."""
    ws = view.ws
    return run_to_end(evaluate_codes(ws.codes[view.model_name()], ws.dataset.labels, "l2", seed=0, **norm))


def _choose(view, qtbot, score, top_k=None):
    before = view.evaluation()
    view.state.update(score=score, **({} if top_k is None else {"top_k": top_k}))
    qtbot.waitUntil(lambda: view.evaluation() is not None and view.evaluation() is not before, timeout=30000)
    return view.evaluation().result


def _same_figures(res, want):
    assert res.auc == pytest.approx(want.auc, abs=1e-12)
    assert res.eer == pytest.approx(want.eer, abs=1e-12)
    for far in (1e-2, 1e-3):
        assert res.tar[far] == pytest.approx(want.tar[far], abs=1e-12)
    np.testing.assert_allclose(res.scores, want.scores, rtol=0, atol=1e-9)


@pytest.fixture
def pixels_view(open_verification, digits_300):
    return open_verification(digits_300, [PixelEncoder()])


def test_as_norm_gives_norm_py_figures_in_its_unit(pixels_view, qtbot):
    view = pixels_view
    raw = view.evaluation().result
    assert "−L2 distance" in view.hist_plot.getAxis("bottom").labelText
    res = _choose(view, qtbot, "gallery")  # default top-k: 300, the measured best
    want = _expected(view, norm="as-norm", cohort=None, top_k=300)
    _same_figures(res, want)
    assert res.auc != pytest.approx(raw.auc, abs=1e-4)
    assert res.stats.top_k == 299 and res.stats.cohort == "gallery"  # 300 items: each has 299 others
    assert view.table.item(0, 1).text() == f"{want.auc:.4f}"
    assert "AS-norm z" in view.hist_plot.getAxis("bottom").labelText
    assert view.threshold == pytest.approx(want.eer_threshold)  # the threshold is in the new unit
    assert view.threshold_label.text().startswith(f"threshold {view.threshold:.4g} (AS-norm z)")
    assert view.score_note.text() == "Top 299 of this data set itself: transductive."
    assert "transductive" in view.score_note.toolTip() and "AS-norm z" in view.score_note.toolTip()
    assert view.roc_plot.plotItem.titleLabel.text == "ROC · AS-norm, transductive"
    assert "Transductive" in view.score_combo.itemData(1, 3)  # its tooltip (Qt.ToolTipRole)
    bins = view.evaluation().bins
    assert bins[0] == pytest.approx(want.scores.min()) and bins[-1] == pytest.approx(want.scores.max())
    _choose(view, qtbot, "raw")
    _same_figures(view.evaluation().result, raw)


@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_the_pair_score_is_norm_py_s_for_items_and_for_a_dropped_image(pixels_view, qtbot, metric):
    view = pixels_view
    view.metric_combo.setCurrentText(metric)
    _choose(view, qtbot, "gallery", top_k=40)
    codes = view.ws.codes["pixels"]
    stats = run_to_end(norms.cohort_stats(codes, None, metric, 40))
    view.load_pair(5, 9)
    raw = code_scores(codes[[5]], codes[[9]], metric)
    want = float(norms.as_norm(raw, np.array([5]), np.array([9]), stats)[0])
    assert view.pair_score() == pytest.approx(want, abs=1e-9)
    assert view.score_label.text() == f"score {want:.4g} (AS-norm z)"
    assert f"threshold {view.threshold:.4g} AS-norm z" in view.verdict_note.text()
    # an image from outside the data set: its top 40 scores against all 300 items
    outside = np.random.default_rng(0).random((1, 8, 8)).astype(np.float32)
    from explorer.ui.views.verification import SlotItem

    view.set_slot(1, SlotItem(outside, "outside"))
    c = outside.reshape(1, -1).astype(np.float64)
    top = np.sort(code_scores(codes, np.repeat(c, len(codes), 0), metric))[-40:]
    s = float(code_scores(codes[[5]], c, metric)[0])
    want = 0.5 * ((s - stats.mean[5]) / stats.std[5] + (s - top.mean()) / top.std())
    assert view.pair_score() == pytest.approx(want, abs=1e-9)


def test_the_choice_survives_a_session(open_verification, digits_300, qtbot):
    view = open_verification(digits_300, [PixelEncoder()])
    view.score_combo.setCurrentIndex(1)
    view.score_combo.activated.emit(1)  # what a user's pick emits
    view.top_k_spin.setValue(50)  # an arrow click or Enter
    assert (view.state.score, view.state.top_k) == ("gallery", 50)
    qtbot.waitUntil(lambda: view.evaluation() is not None, timeout=30000)
    saved = json.loads(json.dumps(view.ws.view_settings()))  # as a session file holds it
    assert saved["verification"] == {"score": "gallery", "top_k": 50}
    again = open_verification(digits_300, [PixelEncoder()], settings=saved)
    assert again.score_combo.currentData() == "gallery" and again.top_k_spin.value() == 50
    res = again.evaluation().result
    assert res.stats.top_k == 50
    _same_figures(res, _expected(again, norm="as-norm", cohort=None, top_k=50))


def test_a_data_set_smaller_than_top_k(open_verification, qtbot):
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(3), 4)
    images = (rng.random((12, 1, 6, 6)) * 0.3 + labels[:, None, None, None] * 0.2).astype(np.float32)
    view = open_verification(ImageSet(images=images, labels=labels, name="tiny"), [PixelEncoder()])
    res = _choose(view, qtbot, "gallery")
    assert res.stats.top_k == 11  # top 300 asked, 11 others there
    _same_figures(res, _expected(view, norm="as-norm", cohort=None, top_k=300))
    assert view.score_note.text().startswith("Top 11 of")


def test_unlabelled_items_are_the_other_cohort(open_verification, digits_300, qtbot):
    labels = digits_300.labels.copy()
    labels[200:] = -1  # 100 items in no measured pair
    data = ImageSet(images=digits_300.images, labels=labels, class_names=digits_300.class_names)
    view = open_verification(data, [PixelEncoder()])
    assert view.score_combo.model().item(2).isEnabled()
    res = _choose(view, qtbot, "unlabelled")
    codes = view.ws.codes["pixels"]
    _same_figures(res, _expected(view, norm="as-norm", cohort=codes[200:], top_k=300))
    assert res.stats.top_k == 100
    assert view.score_note.text() == "Top 100 of its 100 unlabelled items (in no measured pair)."
    view.load_pair(3, 250)
    raw = code_scores(codes[[3]], codes[[250]])
    want = float(norms.as_norm(raw, np.array([3]), np.array([250]), res.stats)[0])
    assert view.pair_score() == pytest.approx(want, abs=1e-9)


def test_bad_states_say_one_sentence(open_verification, digits_300, qtbot):
    view = open_verification(digits_300, [PixelEncoder(), Unpriced()], "later", ("pixels",), wait=False)
    assert not view.score_combo.model().item(2).isEnabled()  # no unlabelled items
    view.state.update(score="gallery")
    view.load_pair(1, 2)
    assert view.score_label.text() == "score —"
    assert view.verdict_note.text() == (
        "The AS-norm score needs later's cohort statistics, which come with its evaluation: "
        "waiting for its codes."
    )
    qtbot.waitUntil(lambda: not view.busy(), timeout=30000)  # pixels, the compared model, is done
    assert view.status.text() == "waiting for the codes of later …"
    view.state.update(score="unlabelled")  # e.g. restored from a session of another data set
    assert view.score_choice()[0] == "raw"
    assert view.score_note.text() == (
        "This data set has fewer than two unlabelled items to be a cohort: scores are raw."
    )


def test_the_cohort_statistics_report_progress_in_the_worker(digits_300):
    from explorer.jobs.verification import evaluation_job, norm_options

    codes = PixelEncoder().encode(digits_300.float_images())
    job = [(("t", "pixels"), "codes", codes, "l2", norm_options("gallery", codes, digits_300.labels, 300))]
    messages = [rec.message for rec in evaluation_job(job, digits_300)]
    assert "pixels: cohort statistics" in messages
    assert messages.index("pixels: cohort statistics") < messages.index("pixels: computing ROC")


def test_moving_the_threshold_does_not_score_the_pair_again(pixels_view, qtbot):
    from explorer.ui.views.verification import SlotItem

    view = pixels_view
    calls = []
    enc = view.ws.models["pixels"]
    encode = enc.encode
    enc.encode = lambda images: calls.append(len(images)) or encode(images)
    outside = np.random.default_rng(2).random((2, 1, 8, 8)).astype(np.float32)
    view.set_slot(0, SlotItem(outside[0], "a"))
    view.set_slot(1, SlotItem(outside[1], "b"))
    first, n = view.pair_score(), len(calls)
    for t in np.linspace(view.slider.lo, view.slider.hi, 20):
        view.set_threshold(t)
    assert len(calls) == n and view.pair_score() == first
    view.metric_combo.setCurrentText("cosine")  # a new distance: scored again
    assert view.pair_score() == pytest.approx(
        float(code_scores(outside[:1].reshape(1, -1), outside[1:].reshape(1, -1), "cosine")[0])
    )
