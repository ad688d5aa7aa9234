"""numpy images <-> Qt images, and thumbnails."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def to_qimage(image: np.ndarray) -> QImage:
    """A (C, H, W) image (uint8, or float in [0, 1]) with C in {1, 3} as a QImage (owns its data)."""
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[None]
    if img.dtype != np.uint8:
        img = (np.clip(np.nan_to_num(img.astype(np.float32)), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    c, h, w = img.shape
    if c == 1:
        buf = np.ascontiguousarray(img[0])
        qimg = QImage(buf.data, w, h, w, QImage.Format.Format_Grayscale8)
    else:
        buf = np.ascontiguousarray(np.transpose(img[:3], (1, 2, 0)))
        qimg = QImage(buf.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return qimg.copy()  # detach from the numpy buffer


def to_pixmap(image: np.ndarray, size: int) -> QPixmap:
    """A square-bounded thumbnail of ``size`` px; small images are scaled up without smoothing."""
    qimg = to_qimage(image)
    smooth = max(qimg.width(), qimg.height()) > size
    mode = Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
    return QPixmap.fromImage(qimg.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, mode))


def qimage_to_array(img: QImage, shape: tuple[int, int, int] | None) -> tuple[np.ndarray, str]:
    """A dropped QImage as float32 (C, H, W), brought to ``shape`` when given."""
    c = shape[0] if shape else (1 if img.isGrayscale() else 3)
    h, w = (shape[1], shape[2]) if shape else (img.height(), img.width())
    notes = []
    if (img.width(), img.height()) != (w, h):
        notes.append(f"{img.width()}×{img.height()} → {w}×{h}")
        img = img.scaled(
            w, h, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    img = img.convertToFormat(QImage.Format.Format_Grayscale8 if c == 1 else QImage.Format.Format_RGB888)
    stride = img.bytesPerLine()
    raw = np.frombuffer(img.constBits(), dtype=np.uint8, count=stride * h).reshape(h, stride)
    arr = raw[:, : w * c].reshape(h, w, c).transpose(2, 0, 1).astype(np.float32) / np.float32(255)
    return np.ascontiguousarray(arr), ", ".join(notes)
