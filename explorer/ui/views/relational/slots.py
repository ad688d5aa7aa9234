"""Image slots of the relational view: thumbnails that take dropped image files, and where the
view's default model and the workspace's gated autoencoders are found."""

from __future__ import annotations

import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel

from explorer.ui.imaging import to_pixmap

SLOT_PX = 96
ROW_PX = 72


def default_model_path() -> str:
    from explorer.data.samples import sample_data_dir

    return os.path.join(str(sample_data_dir()), "models", "gae_shifts.safetensors")


def find_relational_models(models: dict) -> dict[str, object]:
    """Gated autoencoders among the workspace's encoders: name -> the torch model."""
    found = {}
    for name, enc in models.items():
        module = getattr(enc, "module", enc)
        if getattr(module, "key", "") in ("gae", "cgae", "bgae") and hasattr(module, "mappings"):
            module.trained_on = str(getattr(enc, "summary", {}).get("data", ""))
            found[name] = module
    return found


class ImageSlot(QLabel):
    """A thumbnail that takes dropped image files."""

    file_dropped = Signal(str)

    def __init__(self, caption: str, size: int, parent=None) -> None:
        super().__init__(parent)
        self.size_px = size
        self.caption = caption
        self.image: np.ndarray | None = None
        self.setFixedSize(size + 4, size + 4)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet("QLabel { background: #202020; color: #bbbbbb; border: 1px solid #555; }")
        self.setToolTip(f"{caption}: drop an image file here")
        self.setAcceptDrops(True)
        self.setText(caption)

    def show_image(self, image: np.ndarray | None) -> None:
        self.image = None if image is None else np.asarray(image, dtype=np.float32)
        if image is None:
            self.setPixmap(pg.QtGui.QPixmap())
            self.setText(self.caption)
            return
        self.setPixmap(to_pixmap(np.clip(image, 0.0, 1.0), self.size_px))

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.file_dropped.emit(urls[0])
            event.acceptProposedAction()
