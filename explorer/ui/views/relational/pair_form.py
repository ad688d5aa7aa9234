"""The example pair x -> y of the relational view, and the form that says what y is.

x is an item of the open data set at the model's size (or of generated random dots without one),
or a dropped image. y is x's partner in a pair set, the next frame of x's sequence (a folder of
sequences), any other item, x under a transformation picked here (shift, rotation, scale), or a
dropped image. The form shows only the fields that apply, and its note says what the pair is.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
)

from explorer.ui.views.relational.slots import SLOT_PX, ImageSlot

PARTNER = "partner of x (data set)"
NEXT = "the next frame of x's sequence"
ITEM = "another item of the data set"
TRANSFORM = "x transformed"


class PairForm(QGroupBox):
    """The pair's slots and form. ``host`` gives the images: ``dataset()`` (the open set at the
    model's size, else None), ``image(i)`` (float32 (C, H, W)), ``count()`` and
    ``read_file(path)`` (an image of the model's shape, or None after telling the user)."""

    changed = Signal()  # the pair (x, y) is different now

    def __init__(self, host, parent=None) -> None:
        super().__init__("Example pair x → y", parent)
        self.host = host
        self.x_file: np.ndarray | None = None  # dropped images replace the chosen ones
        self.y_file: np.ndarray | None = None
        self._successor: np.ndarray | None = None  # the next frame of each item in its sequence
        self._refreshed_for = None  # the data set the y modes were last chosen for
        form = QFormLayout()
        self.x_index = QSpinBox()
        self.x_index.setRange(0, 0)
        self.x_index.valueChanged.connect(lambda _: self.clear_file("x"))
        self.y_mode = QComboBox()
        # its choices whole ("the next frame of x's sequence" was cut to "the next frame")
        self.y_mode.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.y_mode.currentTextChanged.connect(self._on_y_mode)
        self.y_index = QSpinBox()  # y as any item (ITEM)
        self.y_index.setRange(0, 0)
        self.y_index.valueChanged.connect(lambda _: self.clear_file("y"))
        self.kind = QComboBox()
        self.kind.addItems(["shift", "rotation", "scale"])
        self.kind.currentTextChanged.connect(self._on_kind)
        self.dx, self.dy = QSpinBox(), QSpinBox()
        for box, value in ((self.dx, 1), (self.dy, 0)):
            box.setRange(-6, 6)
            box.setValue(value)
        self.angle = QDoubleSpinBox()
        self.angle.setRange(-180, 180)
        self.angle.setSingleStep(15)
        self.angle.setValue(30)
        self.factor = QDoubleSpinBox()
        self.factor.setRange(0.5, 2.0)
        self.factor.setSingleStep(0.1)
        self.factor.setValue(1.2)
        self.params = {"dx": self.dx, "dy": self.dy, "angle": self.angle, "factor": self.factor}
        for box in self.params.values():
            box.valueChanged.connect(lambda _: self.clear_file("y"))
        form.addRow("x item", self.x_index)
        form.addRow("y is", self.y_mode)
        form.addRow("y item", self.y_index)
        form.addRow("transformation", self.kind)
        for name, box in self.params.items():
            form.addRow(name, box)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        form.addRow(self.note)
        self._form = form
        slots = QHBoxLayout()
        self.x_slot, self.y_slot = ImageSlot("x", SLOT_PX), ImageSlot("y", SLOT_PX)
        self.x_slot.file_dropped.connect(lambda p: self.drop_file("x", p))
        self.y_slot.file_dropped.connect(lambda p: self.drop_file("y", p))
        for cap, slot in (("x", self.x_slot), ("y", self.y_slot)):
            col = QVBoxLayout()
            col.setSpacing(2)
            col.addWidget(slot)
            col.addWidget(QLabel(cap, alignment=Qt.AlignmentFlag.AlignCenter))
            col.addStretch(1)
            slots.addLayout(col)
        box = QHBoxLayout(self)
        box.addLayout(slots)
        box.addLayout(form)
        self._on_y_mode(update=False)

    # ---- what the data offers -------------------------------------------------------------
    def refresh(self, count: int) -> None:
        """The data or model changed: item ranges and the y modes the data offers."""
        data = self.host.dataset()
        self._successor = None
        for box in (self.x_index, self.y_index):
            box.blockSignals(True)
            box.setRange(0, max(count - 1, 0))
            box.blockSignals(False)
        has_partners = data is not None and data.partners is not None
        items = [PARTNER] if has_partners else ([NEXT, ITEM] if data is not None else [])
        self.y_mode.blockSignals(True)
        current = self.y_mode.currentText()
        if data is not self._refreshed_for:  # other data: its own kind of pair first
            self._refreshed_for = data
            current = self._natural_mode(data, has_partners)
        self.y_mode.clear()
        self.y_mode.addItems(items + [TRANSFORM])
        if current in items + [TRANSFORM]:
            self.y_mode.setCurrentText(current)
        self.y_mode.blockSignals(False)
        self._on_y_mode(update=False)

    @staticmethod
    def _natural_mode(data, has_partners: bool) -> str:
        """What y is on newly opened data: its partners, the next frame of a folder of sequences,
        else x under a transformation (a photo's next file in a class folder is not its next frame)."""
        if has_partners:
            return PARTNER
        if data is not None:
            from explorer.data.pairs import looks_like_sequences

            if looks_like_sequences(data):
                return NEXT
        return TRANSFORM

    def next_frame(self, i: int) -> int:
        """The item after ``i`` in its sequence (natural file order within a sub-folder); the last
        frame of a sequence has none and gives itself."""
        if self._successor is None:
            from explorer.data.pairs import sequence_order

            data = self.host.dataset()
            succ = np.arange(data.count if data is not None else 0)
            if data is not None:
                for idx in sequence_order(data):
                    succ[idx[:-1]] = idx[1:]
            self._successor = succ
        return int(self._successor[i]) if 0 <= i < len(self._successor) else int(i)

    # ---- the form -------------------------------------------------------------------------
    def _on_y_mode(self, *_, update: bool = True) -> None:
        self._form.setRowVisible(self.y_index, self.y_mode.currentText() == ITEM)
        self._on_kind(update=False)
        self.clear_file("y", update=update)

    def _on_kind(self, *_, update: bool = True) -> None:
        from explorer.relational.transforms import KINDS

        transform = self.y_mode.currentText() == TRANSFORM
        self._form.setRowVisible(self.kind, transform)
        needed = KINDS[self.kind.currentText()] if transform else ()
        for name, box in self.params.items():
            self._form.setRowVisible(box, name in needed)
        if update:
            self.clear_file("y")

    def clear_file(self, which: str, update: bool = True) -> None:
        """A chosen item replaces a dropped image (x: both, since y may follow x)."""
        if which == "x":
            self.x_file = None
        self.y_file = None
        if update:
            self.changed.emit()

    def drop_file(self, which: str, path: str) -> None:
        image = self.host.read_file(path)
        if image is None:
            return
        if which == "x":
            self.x_file = image
        else:
            self.y_file = image
        self.changed.emit()

    def set_pair(self, x_index: int, kind: str | None = None, **params) -> None:
        """x = item ``x_index``, y its partner (kind None) or x under ``kind`` with ``params``."""
        self.x_file = self.y_file = None
        boxes = (self.x_index, self.y_mode, self.kind, *self.params.values())
        for box in boxes:
            box.blockSignals(True)
        self.x_index.setValue(int(x_index))
        if kind is None:
            self.y_mode.setCurrentText(PARTNER)
        else:
            self.y_mode.setCurrentText(TRANSFORM)
            self.kind.setCurrentText(kind)
            for name, value in params.items():
                self.params[name].setValue(value)
        for box in boxes:
            box.blockSignals(False)
        self._on_y_mode(update=False)
        self.changed.emit()

    def set_y_item(self, mode: str, index: int | None = None) -> None:
        """y as NEXT (the next frame of x) or ITEM (item ``index``)."""
        if index is not None:
            self.y_index.blockSignals(True)
            self.y_index.setValue(int(index))
            self.y_index.blockSignals(False)
        if self.y_mode.currentText() == mode:
            self.changed.emit()
        else:
            self.y_mode.setCurrentText(mode)  # emits through _on_y_mode

    # ---- the pair -------------------------------------------------------------------------
    def transformation(self) -> tuple[str, dict[str, float]] | None:
        """The known transformation x -> y, or None (a partner without known parameters, another
        item, the next frame, a dropped file: the model infers it)."""
        from explorer.relational.transforms import item_transform

        if self.y_file is not None or self.x_file is not None and self.y_mode.currentText() != TRANSFORM:
            return None
        mode = self.y_mode.currentText()
        if mode == PARTNER:
            data = self.host.dataset()
            return item_transform(data.transforms, self.x_index.value()) if data is not None else None
        if mode in (NEXT, ITEM):
            return None
        return self.kind.currentText(), {name: box.value() for name, box in self.params.items()}

    def pair(self) -> tuple[np.ndarray, np.ndarray]:
        """The images (x, y), float32 (C, H, W) each."""
        from explorer.relational.transforms import transform_images

        x = self.x_file if self.x_file is not None else self.host.image(self.x_index.value())
        if self.y_file is not None:
            return x, self.y_file
        mode = self.y_mode.currentText()
        if mode == PARTNER:  # (a dropped x keeps the item's partner as y)
            from explorer.core.imageset import to_float

            return x, to_float(self.host.dataset().partners[self.x_index.value()])
        if mode == NEXT:
            return x, self.host.image(self.next_frame(self.x_index.value()))
        if mode == ITEM:
            return x, self.host.image(self.y_index.value())
        kind, params = self.transformation() or ("shift", {})
        return x, transform_images(x[None], kind, params)[0]

    def show(self, x: np.ndarray, y: np.ndarray) -> None:
        """Show the pair and say what it is; fields that do not describe it are greyed."""
        self.x_slot.show_image(x)
        self.y_slot.show_image(y)
        mode = self.y_mode.currentText()
        synthetic = mode == TRANSFORM and self.y_file is None
        self.kind.setEnabled(synthetic)
        for box in self.params.values():
            box.setEnabled(synthetic)
        known = self.transformation()
        if self.x_file is not None or self.y_file is not None:
            parts = (["x: the dropped image"] if self.x_file is not None else []) + (
                ["y: the dropped image"] if self.y_file is not None else []
            )
            if self.y_file is None and mode == TRANSFORM:
                parts.append(f"y: x under the {self.kind.currentText()} below")
            tail = "" if known is not None else ": the transformation is unknown, the model infers it"
            self.note.setText("; ".join(parts) + tail + ".")
        elif mode == NEXT:
            i = self.x_index.value()
            j = self.next_frame(i)
            self.note.setText(
                f"y = item {j}, the frame after item {i}"
                if j != i
                else f"item {i} is the last frame of its sequence: y = x"
            )
        elif mode == ITEM:
            self.note.setText(f"y = item {self.y_index.value()}")
        elif known is None:
            self.note.setText("y: a partner of unknown transformation")
        else:
            kind, params = known
            keys = {"shift": ("dx", "dy"), "rotation": ("angle",), "scale": ("factor",)}[kind]
            self.note.setText(f"y = x under {kind} " + ", ".join(f"{k} = {params[k]:g}" for k in keys))
