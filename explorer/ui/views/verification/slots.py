"""The two drop slots of the verification panel and how dropped images become arrays."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout

from explorer.core.errors import DataError
from explorer.ui.imaging import to_pixmap

MIME_INDEX = "application/x-explorer-index"  # comma-separated item indices (data grid, scatter, ...)
SLOT_PX = 150
RED = "#d0342c"
MAX_PIXELS = 64_000_000  # a dropped file above this is refused, not decoded (decompression bombs)


def load_pair_image(path: str, shape: tuple[int, int, int] | None) -> tuple[np.ndarray, str]:
    """Read an image file as float32 (C, H, W) in [0, 1], brought to ``shape`` when given.

    Returns the image and a note on how it was converted ("" when it fit as it was).
    DataError with a readable sentence for anything that is not an image.
    """
    from PIL import Image, UnidentifiedImageError

    name = os.path.basename(path)
    if os.path.isdir(path):
        raise DataError(f"{name} is a folder; drop an image file (PNG, JPEG, ...).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
        with im:
            if shape:
                im.draft("L" if shape[0] == 1 else "RGB", (shape[2], shape[1]))  # JPEG: reduced-scale decode
            if im.width * im.height > MAX_PIXELS:
                raise DataError(f"{name} is too large ({im.width}×{im.height} pixels); scale it down first.")
            im.load()
            notes = []
            c = shape[0] if shape else (1 if im.mode in ("1", "L", "I", "I;16", "F") else 3)
            if c not in (1, 3):
                raise DataError(f"Cannot compare an image file with {c}-channel images.")
            mode = "L" if c == 1 else "RGB"
            if im.mode in ("I", "I;16", "I;16B", "F"):  # 16-bit / float grey: scale, don't clip, to 8 bits
                wide = np.asarray(im, dtype=np.float64)
                top = wide.max() if wide.max() > 0 else 1.0
                notes.append(f"{im.mode} scaled to 8 bits")
                im = Image.fromarray((np.clip(wide / top, 0, 1) * 255 + 0.5).astype(np.uint8), "L")
            if im.mode != mode:
                notes.append(f"{im.mode} → {'grey' if c == 1 else 'RGB'}")
                im = im.convert(mode)
            if shape and im.size != (shape[2], shape[1]):
                notes.append(f"{im.width}×{im.height} → {shape[2]}×{shape[1]}")
                im = im.resize((shape[2], shape[1]), Image.Resampling.BILINEAR)
            arr = np.asarray(im, dtype=np.float32) / np.float32(255)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(f"{name} is too large to open safely; scale it down first.") from None
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise DataError(f"{name} could not be read: it is not an image, or it is damaged or of an "
                        "unknown format; drop a PNG, JPEG, BMP, PGM, GIF or TIFF file.") from None
    arr = arr[None] if arr.ndim == 2 else np.transpose(arr, (2, 0, 1))
    return np.ascontiguousarray(arr, dtype=np.float32), ", ".join(notes)


def qimage_to_array(img: QImage, shape: tuple[int, int, int] | None) -> tuple[np.ndarray, str]:
    """A dropped QImage as float32 (C, H, W), brought to ``shape`` when given."""
    c = shape[0] if shape else (1 if img.isGrayscale() else 3)
    h, w = (shape[1], shape[2]) if shape else (img.height(), img.width())
    notes = []
    if (img.width(), img.height()) != (w, h):
        notes.append(f"{img.width()}×{img.height()} → {w}×{h}")
        img = img.scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
    img = img.convertToFormat(QImage.Format.Format_Grayscale8 if c == 1 else QImage.Format.Format_RGB888)
    stride = img.bytesPerLine()
    raw = np.frombuffer(img.constBits(), dtype=np.uint8, count=stride * h).reshape(h, stride)
    arr = raw[:, : w * c].reshape(h, w, c).transpose(2, 0, 1).astype(np.float32) / np.float32(255)
    return np.ascontiguousarray(arr), ", ".join(notes)


@dataclass(frozen=True)
class SlotItem:
    """What a slot holds: an item of the open data set (index) or an outside image."""

    image: np.ndarray  # float32 (C, H, W) in [0, 1]
    caption: str
    index: int | None = None
    note: str = ""


class PairSlot(QFrame):
    """One drop slot: shows its image and caption; emits what was dropped on it."""

    dropped_files = Signal(list)  # local paths
    dropped_indices = Signal(list)  # item indices
    dropped_image = Signal(QImage)
    open_clicked = Signal()

    def __init__(self, letter: str, parent=None) -> None:
        super().__init__(parent)
        self.letter = letter
        self.setAcceptDrops(True)
        self.setObjectName(f"slot{letter}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(f"#slot{letter} {{ border: 2px dashed #9a9a9a; border-radius: 6px; background: #fafafa; }}")
        self.image_label = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.image_label.setFixedSize(SLOT_PX, SLOT_PX)
        self.caption = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)
        self.caption.setFixedWidth(SLOT_PX + 40)
        self.caption.setMinimumHeight(34)
        title = QLabel(f"<b>{letter}</b>")
        open_btn = QToolButton(text="Open…", toolTip=f"Choose an image file for {letter}")
        open_btn.clicked.connect(self.open_clicked)
        head = QHBoxLayout()
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(open_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addLayout(head)
        lay.addWidget(self.image_label, 0, Qt.AlignmentFlag.AlignCenter)
        lay.addWidget(self.caption)
        self.show_item(None)

    def show_item(self, item: SlotItem | None, error: str = "") -> None:
        if error:
            self.caption.setText(f"<span style='color:{RED}'>{error}</span>")
            return
        if item is None:
            self.image_label.setPixmap(QPixmap())
            self.image_label.setText("Drop an image file\nor a data item here")
            self.image_label.setStyleSheet("color: #888;")
            self.caption.setText("")
            return
        self.image_label.setStyleSheet("")
        self.image_label.setPixmap(to_pixmap(item.image, SLOT_PX))
        note = f"<br><span style='color:#a0522d'>{item.note}</span>" if item.note else ""
        self.caption.setText(f"{item.caption}{note}")

    # ---- drag and drop ----
    def _accepts(self, md) -> bool:
        return md.hasUrls() or md.hasFormat(MIME_INDEX) or md.hasImage()

    def dragEnterEvent(self, event) -> None:
        if self._accepts(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if self._accepts(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        md = event.mimeData()
        if md.hasFormat(MIME_INDEX):
            raw = bytes(md.data(MIME_INDEX)).decode("ascii", "replace")
            idx = [int(s) for s in raw.replace(" ", "").split(",") if s.lstrip("-").isdigit()]
            if idx:
                self.dropped_indices.emit(idx)
                event.acceptProposedAction()
                return
        if md.hasUrls():
            paths = [u.toLocalFile() for u in md.urls() if u.isLocalFile()]
            if paths:
                self.dropped_files.emit(paths)
                event.acceptProposedAction()
                return
        if md.hasImage():
            img = md.imageData()
            if isinstance(img, QImage) and not img.isNull():
                self.dropped_image.emit(img)
                event.acceptProposedAction()
