"""The analogy panel of the relational view: x : y :: x' : ŷ' beside the copy baseline.

A row of x' images (any items: consecutive from a start item, or a list typed in), the model's
ŷ' for each (the inferred z applied to x'), and the true y' where it is known (a known
transformation, or the next frame of x' in a folder of sequences). Copying x' is the baseline a
model of change must beat, so the panel says in one line the analogy error of the model and of
copying, and plainly when the model does worse; with y' known, two more rows show where each
errs, |y' - x'| over |y' - ŷ'| on one scale per column (black = no error). A single third image
can be dropped on its own slot to apply the transformation to it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
)

from explorer.ui.views.relational.slots import ROW_PX, SLOT_PX, ImageSlot

N_APPLY = 6  # x' images in the analogy row


def parse_items(text: str, count: int) -> list[int] | None:
    """Item numbers typed as "3, 17, 40-42" (ranges inclusive); None when empty.
    ValueError names the first part that is not a number or is out of range."""
    out: list[int] = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            first, last = int(lo), int(hi) if sep else int(lo)
        except ValueError:
            raise ValueError(f"'{part}' is not an item number or a range like 40-42") from None
        for i in (first, last):
            if not 0 <= i < count:
                raise ValueError(f"item {i} is out of range (0-{count - 1})")
        out.extend(range(first, last + 1) if last >= first else range(first, last - 1, -1))
    return out[:N_APPLY] if out else None


def verdict(model_nmse: float, copy_nmse: float, mean_nmse: float = 1.0) -> str:
    """One plain sentence comparing the model's analogy error with copying x' and, when it is
    no better, with predicting the mean (nmse 1 by definition: on noise copying scores about 2,
    and "beats copying" alone read as a success at 1.45)."""
    head = f"model nmse {model_nmse:.3f}, copying x' {copy_nmse:.3f}"
    if model_nmse >= copy_nmse:
        return f"{head}: the model does WORSE than copying x'."
    share = f"{model_nmse / max(copy_nmse, 1e-12):.0%} of its error"
    if model_nmse >= mean_nmse:
        mean = f"a flat image of the mean (nmse {mean_nmse:.3f})"
        return f"{head}: the model beats copying ({share}) but not {mean}."
    return f"{head}: the model beats copying ({share})."


def error_images(x2: np.ndarray, prediction: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|y' - x'| and |y' - ŷ'| (n, C, H, W) scaled together per item to [0, 1] (1 = the larger of
    the two errors' most), so copying's and the model's errors compare at a glance."""
    copy_err, model_err = np.abs(truth - x2), np.abs(truth - prediction)
    top = np.maximum(copy_err.reshape(len(x2), -1).max(1), model_err.reshape(len(x2), -1).max(1))
    top = np.maximum(top, 1e-6)[:, None, None, None]
    return (copy_err / top).astype(np.float32), np.clip(model_err / top, 0, 1).astype(np.float32)


class AnalogyPanel(QGroupBox):
    """Rows x', ŷ', y' (see the module docstring); the view feeds it with :meth:`show`."""

    items_changed = Signal()  # which x' to show changed
    third_dropped = Signal(str)  # a file dropped on the single third-image slot

    def __init__(self, parent=None) -> None:
        super().__init__("Analogy: x : y :: x' : ŷ'  (the transformation z applied to other images)", parent)
        outer = QVBoxLayout(self)
        controls = QHBoxLayout()
        self.start = QSpinBox()
        self.start.setRange(0, 0)
        self.start.valueChanged.connect(lambda _: self.items_changed.emit())
        self.items_edit = QLineEdit()
        self.items_edit.setPlaceholderText("or items, e.g. 3, 17, 40-42")
        self.items_edit.setToolTip(
            "x' may be any items of the data set; empty: consecutive from the start item"
        )
        self.items_edit.editingFinished.connect(self.items_changed.emit)
        controls.addWidget(QLabel("x' from item"))
        controls.addWidget(self.start)
        controls.addWidget(self.items_edit, 1)
        outer.addLayout(controls)
        self.nmse_label = QLabel("")  # the shown row: model against copying
        self.nmse_label.setWordWrap(True)
        self.score_label = QLabel("")  # the whole data set: model against copying and the mean
        self.score_label.setWordWrap(True)
        outer.addWidget(self.nmse_label)
        outer.addWidget(self.score_label)
        body = QHBoxLayout()
        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        self.x2_slots, self.pred_slots, self.true_slots = [], [], []
        self.copy_err_slots, self.model_err_slots = [], []
        for r, (name, store) in enumerate(
            (
                ("x' (= copying)", self.x2_slots),
                ("ŷ' (model)", self.pred_slots),
                ("y' (true)", self.true_slots),
                ("error of copying\n|y' - x'|", self.copy_err_slots),
                ("error of the model\n|y' - ŷ'|", self.model_err_slots),
            )
        ):
            label = QLabel(name)
            if r >= 3:
                label.setToolTip(
                    "Both errors of a column on one scale: black = none, white = the larger's most"
                )
            grid.addWidget(label, r, 0)
            for k in range(N_APPLY):
                slot = ImageSlot("", ROW_PX)
                slot.setAcceptDrops(False)
                store.append(slot)
                grid.addWidget(slot, r, k + 1)
        body.addLayout(grid)
        body.addStretch(1)
        # a single third image: drop it, see the transformation applied to it
        third = QGridLayout()
        self.third_slot = ImageSlot("drop x'", SLOT_PX)
        self.third_slot.setToolTip("Drop one image here to apply the inferred transformation to it")
        self.third_slot.file_dropped.connect(self.third_dropped.emit)
        self.third_pred = ImageSlot("ŷ'", SLOT_PX)
        self.third_pred.setAcceptDrops(False)
        third.setVerticalSpacing(2)
        third.addWidget(QLabel("one image of yours:"), 0, 0, 1, 2)
        third.addWidget(self.third_slot, 1, 0)
        third.addWidget(self.third_pred, 1, 1)
        third.addWidget(QLabel("x' (drop here)"), 2, 0)
        third.addWidget(QLabel("its ŷ'"), 2, 1)
        third.setRowStretch(3, 1)  # kept at the top, beside the row of x'
        body.addLayout(third)
        outer.addLayout(body)
        self.third: np.ndarray | None = None  # the dropped third image (C, H, W)
        self.third_prediction: np.ndarray | None = None

    def set_count(self, count: int) -> None:
        self.start.blockSignals(True)
        self.start.setRange(0, max(count - 1, 0))
        self.start.blockSignals(False)

    def items(self, count: int) -> list[int]:
        """The x' items: the typed list, else N_APPLY consecutive from the start (wrapping)."""
        try:
            typed = parse_items(self.items_edit.text(), count)
        except ValueError as err:
            self.items_edit.setToolTip(f"Not used: {err}.")
            typed = None
        else:
            self.items_edit.setToolTip(
                "x' may be any items of the data set; empty: consecutive from the start item"
            )
        if typed:
            return typed
        return [(self.start.value() + k) % max(count, 1) for k in range(N_APPLY)]

    def show(self, x2, prediction, truth, truth_note: str) -> None:
        """Show the row: x2, prediction (n, C, H, W), truth or None; the line says how the model
        compares with copying x' when the truth is known."""
        from explorer.relational.engine import nmse

        n = len(x2)
        errors = error_images(x2, prediction, truth) if truth is not None else None
        for k in range(N_APPLY):
            shown = k < n
            self.x2_slots[k].show_image(x2[k] if shown else None)
            self.pred_slots[k].show_image(prediction[k] if shown else None)
            self.true_slots[k].show_image(truth[k] if shown and truth is not None else None)
            self.copy_err_slots[k].show_image(errors[0][k] if shown and errors is not None else None)
            self.model_err_slots[k].show_image(errors[1][k] if shown and errors is not None else None)
            if truth is None:
                self.true_slots[k].setText("unknown")
        if truth is not None:
            self.nmse_label.setText(
                f"These {n} ({truth_note}): " + verdict(nmse(prediction, truth), nmse(x2, truth))
            )
        else:
            self.nmse_label.setText(
                "The true y' is unknown for this pair, so the model cannot be scored here."
            )

    def show_score(self, score: dict | None) -> None:
        """Figures on many quadruples of the open data ({nmse, nmse_copy, nmse_mean, count}) or None."""
        if not score:
            self.score_label.setText("")
            return
        said = verdict(score["nmse"], score["nmse_copy"], score["nmse_mean"])
        if "of the mean" not in said:
            said = said[:-1] + f" (predicting the mean: {score['nmse_mean']:.3f})."
        self.score_label.setText(f"On {score['count']} analogies of {score['source']}: {said}")

    def show_third(self, image: np.ndarray | None, prediction: np.ndarray | None) -> None:
        self.third, self.third_prediction = image, prediction
        self.third_slot.show_image(image)
        self.third_pred.show_image(prediction)
