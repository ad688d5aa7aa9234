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
ROW_PX = 56  # px: the analogy rows (five rows fit under the pair at 1280x800)


DEFAULT_FILES = ("gae_shifts.safetensors", "bgae_turntable.safetensors")  # shipped in sample_data/models


def default_model_path(file: str = DEFAULT_FILES[0]) -> str:
    from explorer.data.samples import sample_data_dir

    return os.path.join(str(sample_data_dir()), "models", file)


def default_models(shape: tuple | None = None) -> dict[str, str]:
    """The shipped relational models that exist, "default: NAME" -> path; the ones made for images
    of ``shape`` (C, H, W) first (shifts of 13x13 dots; turning objects at 32x32)."""
    found = {}
    for file in DEFAULT_FILES:
        path = default_model_path(file)
        if os.path.isfile(path):
            found[f"default: {file.split('.')[0]}"] = path
    if shape is None or len(found) < 2:
        return found
    from explorer.models.checkpoint import read_metadata  # no model built: a header read

    def fits(path: str) -> bool:
        try:
            return tuple(read_metadata(path)["input_shape"]) == tuple(shape)
        except Exception:  # an unreadable file fits nothing; loading it says why
            return False

    return dict(sorted(found.items(), key=lambda kv: not fits(kv[1])))


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
