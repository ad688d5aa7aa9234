"""The verification panel itself: slots, verdict, threshold, model choice and the evaluation job."""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QFileDialog,
    QWidget,
)

from explorer.core.errors import DataError
from explorer.core.view_state import VerificationState
from explorer.ui.context import AppContext
from explorer.ui.views.verification.charts import (
    GREEN,
    RED,
)
from explorer.core.workspace import PIXELS
from explorer.data.documents import document_snippet, is_documents
from explorer.jobs.verification import (
    GUI_SCORER_PAIRS,
    Evaluation,
    find_item,
    normalised_pair,
    pair_scorer_of,
    score_unit,
    unlabelled_cohort,
)
from explorer.ui.views.verification.evaluation import EvaluationWiring
from explorer.ui.views.verification.layout import build_panel
from explorer.ui.views.verification.slots import PairSlot, SlotItem, load_pair_image, qimage_to_array
from explorer.verification import code_scores

NONE = "(none)"
HARDEST = 12
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.pgm *.gif *.tif *.tiff);;All files (*)"
MODEL_FILTER = "Models (*.safetensors *.pt *.pth *.pt2 *.onnx);;All files (*)"


class View(QWidget):
    scorer_max_pairs = GUI_SCORER_PAIRS  # pairs a pair classifier is measured on in the panel

    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.ws = ctx.workspace
        self.slots: list[SlotItem | None] = [None, None]
        self._pair_memo: tuple | None = None  # (what the pair score was made from, its key, the score)
        self.threshold: float | None = None
        self._threshold_key = None  # the evaluation the threshold was last set from
        self.state = VerificationState()  # the score choice; sessions save and restore it
        self._build()
        self.score_combo.activated.connect(lambda _: self.state.update(score=self.score_combo.currentData()))
        self.top_k_spin.setKeyboardTracking(False)  # typed digits count on Enter, arrows at once
        self.top_k_spin.valueChanged.connect(lambda k: self.state.update(top_k=k))
        self.state.events.connect("changed", self._on_state_changed)
        self.evaluations = EvaluationWiring(self)  # whole-set evaluations of the chosen models
        self.evaluations.finished.connect(self._refresh_all)
        self._grid_timer = QTimer(self, singleShot=True, interval=120)  # grids follow a dragged slider
        self._grid_timer.timeout.connect(self._refresh_hardest)
        ctx.qws.dataset_changed.connect(self._on_dataset_changed)
        ctx.qws.models_changed.connect(self._on_models_changed)
        ctx.qws.current_model_changed.connect(self._on_models_changed)
        ctx.qws.codes_changed.connect(self._on_codes_changed)
        self._on_models_changed()
        self.ws.register_view_state("verification", self.state)

    # ---- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        build_panel(self)

    # ---- model choice ---------------------------------------------------------------------
    def model_name(self) -> str | None:
        name = self.model_combo.currentText()
        return name if name and name != NONE and name in self.ws.models else None

    def compare_name(self) -> str | None:
        name = self.compare_combo.currentText()
        return (
            name if name and name != NONE and name in self.ws.models and name != self.model_name() else None
        )

    def distance(self) -> str:
        return self.metric_combo.currentText() or "l2"

    # ---- the score: raw or AS-norm (explorer/verification/norm.py) ----------------------------
    def _on_state_changed(self, names=()) -> None:
        self.score_combo.setCurrentIndex(max(0, self.score_combo.findData(self.state.score)))
        self.top_k_spin.setValue(self.state.top_k)
        self._on_choice_changed()

    def score_choice(self) -> tuple[str, int]:
        """(score, top-k) the panel's code scores are made with: the state's choice, or raw when
        the open data set cannot give that cohort (the score note says why)."""
        ds = self.ws.dataset
        score = self.state.score
        if ds is None or not ds.has_labels:
            score = "raw"
        elif score == "unlabelled" and unlabelled_cohort(ds.labels) is None:
            score = "raw"
        return score, self.state.top_k

    def unit(self, name: str | None = None) -> str:
        """The unit of model ``name``'s scores (default: the chosen model), as shown by numbers."""
        name = name if name is not None else self.model_name()
        if name is not None and pair_scorer_of(self.ws.models[name]) is not None:
            return score_unit("raw", "pair")
        return score_unit(self.score_choice()[0], self.distance())

    def _score_note(self) -> str:
        """One sentence on how the shown scores were made (under the score choice)."""
        ds, want = self.ws.dataset, self.state.score
        score, top_k = self.score_choice()
        name = self.model_name()
        if want == "raw":
            return ""
        if score != want:
            if ds is None or not ds.has_labels:
                return "AS-norm comes with the evaluation, which needs a labelled data set: scores are raw."
            return "This data set has fewer than two unlabelled items to be a cohort: scores are raw."
        if name is not None and pair_scorer_of(self.ws.models[name]) is not None:
            return f"{name} scores pairs itself: its scores stay raw logits (AS-norm applies to codes)."
        ev = self.evaluation()
        stats = ev.result.stats if ev is not None else None
        k = stats.top_k if stats is not None else top_k  # as used: at most the cohort's size
        if score == "unlabelled":
            n = len(unlabelled_cohort(ds.labels))
            return f"Top {k} of its {n} unlabelled items (in no measured pair)."
        return f"Top {k} of this data set itself: transductive."

    def _on_models_changed(self) -> None:
        names = self.ws.models_for_dataset()
        for combo, extra in ((self.model_combo, []), (self.compare_combo, [NONE])):
            keep = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(extra + names)
            if keep in extra + names:
                combo.setCurrentText(keep)
            combo.blockSignals(False)
        current = self.ws.current_model
        if names and (
            self.model_combo.currentText() not in names
            or (not self._picked[self.model_combo] and current in names)
        ):
            self.model_combo.blockSignals(True)
            self.model_combo.setCurrentText(current if current in names else names[0])
            self.model_combo.blockSignals(False)
        other = [n for n in names if n != self.model_combo.currentText()]
        if other and (
            not self._picked[self.compare_combo]
            or self.compare_combo.currentText() in ("", self.model_combo.currentText())
        ):
            self.compare_combo.blockSignals(True)
            self.compare_combo.setCurrentText("pixels" if "pixels" in other else other[0])
            self.compare_combo.blockSignals(False)
        ids = {n: id(e) for n, e in self.ws.models.items()}  # results of a replaced encoder are stale
        self.evaluations.keep_encoders(ids)
        self._on_choice_changed()

    def _on_dataset_changed(self) -> None:
        self.evaluations.reset()
        self.slots = [None, None]
        self.slot_a.show_item(None)
        self.slot_b.show_item(None)
        self.threshold = None
        self._threshold_key = None
        self._on_models_changed()  # which models fit depends on the data set's shape; rescores

    def _on_codes_changed(self, model: str) -> None:
        self.evaluations.drop(model)
        self._on_choice_changed()

    def _load_model(self) -> None:
        loader = self.ctx.services.get("loader")
        if loader is None:
            self.ctx.show_status("Model loading is not available here.")
            return
        path, _ = QFileDialog.getOpenFileName(self, "Load a model", "", MODEL_FILTER)
        if path:
            loader.load_models([path])

    def _on_choice_changed(self, *_) -> None:
        # the distance applies to encoders only; a pair classifier scores pairs itself
        shown = [self.ws.models[n] for n in (self.model_name(), self.compare_name()) if n is not None]
        self.metric_combo.setEnabled(any(pair_scorer_of(e) is None for e in shown))
        ds = self.ws.dataset
        offered = ds is not None and unlabelled_cohort(ds.labels) is not None
        self.score_combo.model().item(self.score_combo.findData("unlabelled")).setEnabled(offered)
        self.top_k_spin.setEnabled(self.state.score != "raw")
        self._schedule()
        self._refresh_all()

    # ---- evaluation (explorer/ui/views/verification/evaluation.py) -------------------------------
    def evaluation(self, name: str | None = None) -> Evaluation | None:
        """The finished evaluation of model ``name`` (default: the chosen model), if any."""
        return self.evaluations.of(name if name is not None else self.model_name())

    def _schedule(self) -> None:
        self.evaluations.schedule()

    def busy(self) -> bool:
        return self.evaluations.busy()

    def shutdown(self) -> None:
        self.evaluations.shutdown()

    def closeEvent(self, event) -> None:
        self.evaluations.shutdown()
        super().closeEvent(event)

    # ---- the slots ------------------------------------------------------------------------
    def _target_shape(self, k: int) -> tuple[int, int, int] | None:
        ds = self.ws.dataset
        if ds is not None and ds.has_images:
            return ds.shape
        other = self.slots[1 - k]
        return tuple(other.image.shape) if other is not None else None

    def _slot_widget(self, k: int) -> PairSlot:
        return (self.slot_a, self.slot_b)[k]

    def set_slot(self, k: int, item: SlotItem | None) -> None:
        self.slots[k] = item
        self._slot_widget(k).show_item(item)
        self._refresh_pair()

    def set_slot_index(self, k: int, index: int) -> None:
        """Put item ``index`` of the open data set in slot ``k`` (0 = A, 1 = B)."""
        ds = self.ws.dataset
        if ds is None or not ds.has_images or not 0 <= index < ds.count:
            self._slot_error(k, f"There is no item #{index} with an image in the open data set.")
            return
        cls = ds.label_name(index)
        caption = f"#{index}" + (f" · class {cls}" if cls else "")
        text = document_snippet(ds, index, 110) if is_documents(ds) else ""
        self.set_slot(k, SlotItem(ds.float_images([index])[0], caption, index=index, text=text))

    def load_pair(self, i: int, j: int) -> None:
        self.set_slot_index(0, i)
        self.set_slot_index(1, j)

    def load_file(self, k: int, path: str) -> bool:
        """Put the image file at ``path`` in slot ``k``; False (and a message) if it is not one."""
        try:
            image, note = load_pair_image(path, self._target_shape(k))
        except DataError as err:
            self._slot_error(k, str(err))
            return False
        ds = self.ws.dataset
        index = find_item(ds, path, image, self.ws.codes.get(PIXELS))
        caption = os.path.basename(path)
        if index is not None:  # a file of the open data set: it is that item (its class, its code)
            cls = ds.label_name(index)
            caption += f" = item #{index}" + (f" · class {cls}" if cls else "")
        self.set_slot(k, SlotItem(image, caption, index=index, note=note))
        return True

    def _slot_error(self, k: int, message: str) -> None:
        self._slot_widget(k).show_item(self.slots[k], error=message)
        self.ctx.show_status(message)

    def _on_files(self, k: int, paths: list[str]) -> None:
        if self.load_file(k, paths[0]) and len(paths) > 1:
            self.load_file(1 - k, paths[1])  # two files dropped at once fill both slots

    def _on_indices(self, k: int, idx: list[int]) -> None:
        self.set_slot_index(k, idx[0])
        if len(idx) > 1:
            self.set_slot_index(1 - k, idx[1])

    def _on_qimage(self, k: int, img: QImage) -> None:
        image, note = qimage_to_array(img, self._target_shape(k))
        self.set_slot(k, SlotItem(image, "dropped image", note=note))

    def _open_file(self, k: int) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Image for {'AB'[k]}", "", IMAGE_FILTER)
        if path:
            self.load_file(k, path)

    # ---- scoring the pair -----------------------------------------------------------------
    def pair_score(self) -> float | None:
        """The score of the pair in A and B under the chosen model (None if it cannot be had).
        Kept until the pair, the model, its codes, the distance or the score choice change, so
        moving the threshold does not encode outside images and rank their cohort again."""
        name = self.model_name()
        if name is None or self.slots[0] is None or self.slots[1] is None:
            return None
        made_of = (*self.slots, self.ws.codes.get(name), self.evaluation())  # compared by identity
        key, memo = self.evaluations.key(name), self._pair_memo
        if memo is None or memo[1] != key or any(x is not y for x, y in zip(memo[0], made_of)):
            self._pair_memo = (made_of, key, self._score_pair(name))
        return self._pair_memo[2]

    def _score_pair(self, name: str) -> float:
        a, b = self.slots
        if a.image.shape != b.image.shape:
            raise DataError(
                "A and B have different shapes; open a data set so both are brought to its shape."
            )
        enc = self.ws.models[name]
        scorer = pair_scorer_of(enc)
        if scorer is not None:
            return float(scorer.score_pairs(a.image[None], b.image[None])[0])
        codes = self.ws.codes.get(name)  # data set items: the very codes the evaluation used
        ca, cb = (
            codes[s.index]
            if s.index is not None and codes is not None
            else np.asarray(enc.encode(s.image[None]), dtype=np.float32)[0]
            for s in (a, b)
        )
        raw = float(code_scores(ca[None], cb[None], self.distance())[0])
        score = self.score_choice()[0]
        if score == "raw":
            return raw
        ev = self.evaluation()
        if ev is None or ev.result.stats is None:
            raise DataError(
                f"The AS-norm score needs {name}'s cohort statistics, which come with its evaluation"
                + (": waiting for its codes." if codes is None else ": under way.")
            )
        sides = [(s.index if s.index is not None else None, c) for s, c in ((a, ca), (b, cb))]
        ds = self.ws.dataset
        return normalised_pair(raw, sides, codes, ds.labels, ev.result, score, self.distance())

    # ---- threshold ------------------------------------------------------------------------
    def set_threshold(self, value: float) -> None:
        self.threshold = float(value)
        self.slider.show_score(self.threshold)
        self._refresh_threshold()

    def _on_slider(self, score: float) -> None:
        self.threshold = score
        self._refresh_threshold()

    def _snap(self, which: str) -> None:
        ev = self.evaluation()
        if ev is not None:
            self.set_threshold(
                ev.result.eer_threshold if which == "eer" else ev.result.threshold_at_far(1e-3)
            )

    # ---- refreshing the view --------------------------------------------------------------
    def _refresh_all(self) -> None:
        ev = self.evaluation()
        key = self.evaluations.key(self.model_name())
        if ev is not None:
            lo, hi = float(ev.bins[0]), float(ev.bins[-1])
            pad = 0.02 * (hi - lo)
            self.slider.set_score_range(lo - pad, hi + pad)
            if self._threshold_key != key:  # a newly chosen model starts at its EER threshold
                self._threshold_key = key
                self.threshold = ev.result.eer_threshold
            self.slider.set_marks(
                [(ev.result.eer_threshold, "EER", GREEN), (ev.result.threshold_at_far(1e-3), "FAR 1e-3", RED)]
            )
            self.slider.show_score(self.threshold)
        else:
            self.slider.set_marks([])
        self.slider.setEnabled(ev is not None)
        self.hist_plot.setLabel("bottom", f"score: {self.unit()} (higher = more alike)")
        self.score_note.setText(self._score_note())
        score = self.score_choice()[0]
        titles = {"raw": "ROC", "gallery": "ROC · AS-norm, transductive"}
        self.roc_plot.setTitle(titles.get(score, "ROC · AS-norm"))
        ev_stats = ev.result.stats if ev is not None else None
        self.score_note.setToolTip(
            f"{ev.result.score}; scores in AS-norm z: standard deviations of the cohort's top scores"
            if ev_stats is not None
            else ""
        )
        shown = [(n, self.evaluation(n)) for n in (self.model_name(), self.compare_name()) if n is not None]
        self.roc_plot.show_curves(shown)
        self.hist_plot.show_evaluation(ev)
        self.table.show_rows(shown)
        self._refresh_threshold()

    def _refresh_threshold(self) -> None:
        ev = self.evaluation()
        t = self.threshold
        self.hist_plot.set_threshold(t)
        if ev is not None and t is not None:
            far, tar = ev.rates(t)
            self.threshold_label.setText(
                f"threshold {t:.4g} ({self.unit()})\nFAR {far:.2%}  ·  TAR {tar:.2%}"
            )
            self.roc_plot.show_point(far, tar)
        else:
            self.threshold_label.setText("threshold —" if t is None else f"threshold {t:.4g} ({self.unit()})")
            self.roc_plot.show_point(None, None)
        self._refresh_pair()
        self._grid_timer.start()

    def _refresh_pair(self) -> None:
        try:
            score = self.pair_score()
        except Exception as err:  # a model that cannot take these images: say so, keep going
            self.score_label.setText("score —")
            self._set_verdict("", str(err))
            self.hist_plot.set_pair_score(None)
            return
        self.hist_plot.set_pair_score(score)
        if score is None:
            self.score_label.setText("score —")
            missing = [s for s, v in zip("AB", self.slots) if v is None]
            self._set_verdict(
                "", f"Put images in {' and '.join(missing)}." if missing else "Load a model to score pairs."
            )
            return
        text = f"score {score + 0.0:.4g} ({self.unit()})"  # (+ 0.0: identical codes score 0, not "-0")
        if pair_scorer_of(self.ws.models[self.model_name()]) is not None:  # a logit: say p(same) too
            text += f"  ·  p(same) {1 / (1 + np.exp(-np.clip(score, -50, 50))):.2f}"
        self.score_label.setText(text)
        if self.threshold is None:
            self._set_verdict("", "No threshold yet: it comes from evaluating a labelled data set.")
            return
        match = score >= self.threshold
        self._set_verdict(
            "MATCH" if match else "MISMATCH",
            f"score {'≥' if match else '<'} threshold {self.threshold:.4g} {self.unit()}{self._truth(match)}",
        )

    def _truth(self, match: bool) -> str:
        """Whether the verdict is right, when both slots hold labelled items of the data set."""
        a, b = self.slots
        ds = self.ws.dataset
        if a.index is None or b.index is None or ds is None or not ds.has_labels:
            return ""
        la, lb = ds.labels[a.index], ds.labels[b.index]
        if la < 0 or lb < 0:
            return ""
        same = la == lb
        if same == match:
            return " (correct: same class)" if same else " (correct: different classes)"
        return " — wrong: same class" if same else " — wrong: different classes"

    def _set_verdict(self, verdict: str, note: str) -> None:
        self.verdict.setText(verdict)
        colour = GREEN if verdict == "MATCH" else RED if verdict == "MISMATCH" else None
        self.verdict.setStyleSheet(
            f"color: white; background: {colour}; border-radius: 8px; padding: 4px 14px;" if colour else ""
        )
        self.verdict_note.setText(note)

    def verdict_text(self) -> str:
        return self.verdict.text()

    def _refresh_hardest(self) -> None:
        ev = self.evaluation()
        ds = self.ws.dataset
        if ev is None or self.threshold is None or ds is None or not ds.has_images:
            self.fa_grid.clear()
            self.fr_grid.clear()
            return
        fa, fr = ev.result.hardest(self.threshold, HARDEST)
        thumbs = self.ctx.services.get("thumbnails")
        for grid, pairs, title, label in (
            (self.fa_grid, fa, self.fa_title, "false accepts"),
            (self.fr_grid, fr, self.fr_title, "false rejects"),
        ):
            title.setText(f"<b>Hardest {label}</b> at this threshold" + ("" if len(pairs) else ": none"))
            grid.show_pairs(ds, pairs, thumbs)

    # ---- snapshots ------------------------------------------------------------------------
    def prepare_snapshot(self) -> None:
        """Put a telling pair in A and B: the hardest false accept, or the first two items."""
        ev = self.evaluation()
        ds = self.ws.dataset
        if ds is None or not ds.has_images:
            return
        if ev is not None and self.threshold is not None:
            fa, _ = ev.result.hardest(self.threshold, 1)
            if len(fa):
                self.load_pair(int(fa[0][0]), int(fa[0][1]))
                return
        self.load_pair(0, 1 if ds.count > 1 else 0)
