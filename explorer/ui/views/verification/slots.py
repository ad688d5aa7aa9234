"""The two drop slots of the verification panel and how dropped images become arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout

from explorer.data.image_file import read_image_file as load_pair_image  # noqa: F401 (re-exported)
from explorer.ui.imaging import qimage_to_array, to_pixmap  # noqa: F401 (re-exported)

MIME_INDEX = "application/x-explorer-index"  # comma-separated item indices (data grid, scatter, ...)
SLOT_PX = 112  # the panel fits a 1280x720 window with the plots still readable
RED = "#d0342c"


@dataclass(frozen=True)
class SlotItem:
    """What a slot holds: an item of the open data set (index) or an outside image."""

    image: np.ndarray  # float32 (C, H, W) in [0, 1]
    caption: str
    index: int | None = None
    note: str = ""
    text: str = ""  # a document: the start of its text, shown instead of its word counts


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
        self.setStyleSheet(
            f"#slot{letter} {{ border: 2px dashed #9a9a9a; border-radius: 6px; background: #fafafa; }}"
        )
        self.image_label = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.image_label.setFixedSize(SLOT_PX, SLOT_PX)
        self.caption = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)
        self.caption.setFixedWidth(SLOT_PX + 40)
        self.caption.setMinimumHeight(30)
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
            self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.image_label.setPixmap(QPixmap())
            self.image_label.setText("Drop an image\nfile or a data\nitem here")
            self.image_label.setStyleSheet("color: #888;")
            self.caption.setText("")
            return
        self.image_label.setStyleSheet("")
        if item.text:  # from the top, so a text longer than the slot is cut at its end, not its start
            self.image_label.setPixmap(QPixmap())
            self.image_label.setWordWrap(True)
            self.image_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            self.image_label.setText(item.text)
        else:
            self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
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
