"""Models > Input preprocessing…: how an external model's input is made from the images.

Presets (ImageNet, CLIP, plain 0..1) or a custom shorter-side size; the choice is remembered for
that model file (by content hash, explorer.models.preprocessing.remember) and the model's codes
are made again.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
)

from explorer.core.preprocess import PRESETS, InputSpec, preset

LABELS = {
    "imagenet": "ImageNet (resize 256, crop 224, ImageNet mean/std)",
    "clip": "CLIP (resize 224 bicubic, crop, CLIP mean/std)",
    "plain": "Plain (resize shorter side, centre crop, 0..1)",
}
SOURCES = {
    "sidecar": "the model's sidecar JSON",
    "metadata": "the model file's own metadata",
    "remembered": "your earlier choice for this file",
    "default": "nothing (plain, until you choose)",
    "user": "your choice",
    "command line": "the command line",
}


class PreprocessingDialog(QDialog):
    """Pick a preset and the shorter side before the crop for a model taking ``shape`` (C, H, W)."""

    def __init__(self, name: str, shape, current: InputSpec | None, source: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Input preprocessing: {name}")
        self.shape = tuple(int(s) for s in shape)
        lay = QVBoxLayout(self)
        c, h, w = self.shape
        lay.addWidget(
            QLabel(
                f"<b>{name}</b> takes {c}x{h}x{w} images. Its preprocessing came from "
                f"{SOURCES.get(source, source or 'nothing')}."
            )
        )
        form = QFormLayout()
        self.preset_box = QComboBox()
        for key in PRESETS:
            self.preset_box.addItem(LABELS[key], key)
        self.side = QSpinBox()
        self.side.setRange(min(h, w), 4 * max(h, w))
        form.addRow("Preset", self.preset_box)
        form.addRow("Shorter side before the crop (px)", self.side)
        lay.addLayout(form)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.preset_box.currentIndexChanged.connect(self._on_preset)
        key = current.preset if current is not None and current.preset in PRESETS else "plain"
        self.preset_box.setCurrentIndex(list(PRESETS).index(key))
        self._on_preset()
        if current is not None:
            self.side.setValue(current.shorter_side)

    def _on_preset(self) -> None:
        self.side.setValue(preset(self.preset_box.currentData(), self.shape).shorter_side)

    def spec(self) -> InputSpec:
        """The chosen preprocessing."""
        from dataclasses import replace

        base = preset(self.preset_box.currentData(), self.shape)
        return base if self.side.value() == base.shorter_side else replace(base, resize_to=self.side.value())
