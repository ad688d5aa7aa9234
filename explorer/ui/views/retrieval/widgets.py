"""The retrieval view's parts: query images from files, marked result tiles, the query slot,
the result columns and the metrics panel."""

from __future__ import annotations


import numpy as np
from PySide6.QtCore import QByteArray, QMimeData, QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QStackedWidget,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.data.image_file import read_image_file
from explorer.ui.imaging import qimage_to_array  # noqa: F401 (re-exported for the view)

MIME_INDEX = "application/x-explorer-index"  # what the data grid drags: comma-separated indices
NONE = "(none)"
INDEX_ROLE = Qt.ItemDataRole.UserRole
GOOD, BAD, NEUTRAL = QColor("#2e9d4f"), QColor("#d0342c"), QColor("#9a9a9a")
THUMB, QUERY_THUMB = 64, 112
RESULT_EXTRA = 16  # px beside a result's thumbnail: 3 a row in a 270-px column (22 gave 2)
METRIC_COLUMNS = [
    ("precision_at_1", "P@1"),
    ("r_precision", "R-prec"),
    ("map_at_r", "MAP@R"),
    ("map", "mAP"),
    ("knn_accuracy", "k-NN acc"),
]


# ---- external query images ----------------------------------------------------------------------
def load_query_image(path: str, shape: tuple[int, int, int]) -> tuple[np.ndarray, str]:
    """Read an image file as a float32 (C, H, W) query of the data set's ``shape``.

    Returns the image and a note saying how it was converted or resized ("" when it fit as is).
    """
    return read_image_file(path, shape)


# ---- painting ---------------------------------------------------------------------------------------
def marked_tile(pix: QPixmap, match: bool | None, size: int) -> QPixmap:
    """``pix`` centred in a frame: green with a tick (same class), red with a cross, grey (unknown)."""
    pad = 4
    out = QPixmap(size + 2 * pad, size + 2 * pad)
    out.fill(Qt.GlobalColor.transparent)
    color = NEUTRAL if match is None else (GOOD if match else BAD)
    p = QPainter(out)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.fillRect(out.rect(), color)
    p.fillRect(pad, pad, size, size, QColor("#000000"))
    p.drawPixmap(pad + (size - pix.width()) // 2, pad + (size - pix.height()) // 2, pix)
    if match is not None:
        r = 9.0
        cx, cy = out.width() - r - 1, r + 1
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color)
        p.drawEllipse(QPointF(cx, cy), r, r)
        pen = QPen(QColor("white"), 2.4)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        path = QPainterPath()
        if match:  # tick
            path.moveTo(cx - 4.5, cy + 0.5)
            path.lineTo(cx - 1.2, cy + 3.8)
            path.lineTo(cx + 4.5, cy - 3.5)
        else:  # cross
            path.moveTo(cx - 3.8, cy - 3.8)
            path.lineTo(cx + 3.8, cy + 3.8)
            path.moveTo(cx + 3.8, cy - 3.8)
            path.lineTo(cx - 3.8, cy + 3.8)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(path)
    p.end()
    return out


def match_icon(match: bool | None, size: int = 14) -> QPixmap:
    """A small square in the match colour (text results: documents)."""
    pix = QPixmap(size, size)
    pix.fill(NEUTRAL if match is None else (GOOD if match else BAD))
    return pix


class ThumbList(QListWidget):
    """A grid of data set items; each drags out as ``application/x-explorer-index``, so a result
    can be dropped on the query slot, the verification slots or anything else that takes items."""

    def mimeTypes(self) -> list[str]:
        return [MIME_INDEX]

    def mimeData(self, items) -> QMimeData:
        md = QMimeData()
        indices = [str(int(it.data(INDEX_ROLE))) for it in items if it.data(INDEX_ROLE) is not None]
        if indices:
            md.setData(MIME_INDEX, QByteArray(",".join(indices).encode("ascii")))
            md.setText(",".join(indices))
        return md


def thumb_list(size: int, rows_hint: int = 2, extra_width: int = 22) -> ThumbList:
    """An icon-mode grid of thumbnails of ``size`` px with two caption lines under each."""
    lst = ThumbList()
    lst.setViewMode(QListWidget.ViewMode.IconMode)
    lst.setResizeMode(QListWidget.ResizeMode.Adjust)
    lst.setMovement(QListWidget.Movement.Static)
    lst.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)  # a drag needs one
    lst.setDragEnabled(True)
    lst.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
    lst.setIconSize(QSize(size + 8, size + 8))
    lst.setGridSize(QSize(size + extra_width, size + 48))
    lst.setUniformItemSizes(True)
    lst.setWordWrap(True)
    lst.setMinimumHeight(rows_hint * (size + 48) + 6)
    return lst


# ---- widgets ---------------------------------------------------------------------------------------
class QuerySlot(QFrame):
    """Shows the query; accepts drops of image files, images and data grid items."""

    index_dropped = Signal(int)
    file_dropped = Signal(str)
    image_dropped = Signal(QImage)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("querySlot")
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedSize(QUERY_THUMB + 16, QUERY_THUMB + 16)
        self.setToolTip(
            "The query: pick an item in the data grid or the scatter,\n"
            "or drop an image file or a data grid item here"
        )
        self.image = QLabel("Drop an image\nor pick an item", self)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setStyleSheet("color: #777;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.image)

    def show_pixmap(self, pix: QPixmap | None) -> None:
        self.image.setWordWrap(False)
        if pix is None:
            self.image.setPixmap(QPixmap())
            self.image.setText("Drop an image\nor pick an item")
        else:
            self.image.setPixmap(pix)

    def show_text(self, text: str) -> None:
        """A document query: the start of its text in place of an image."""
        self.image.setPixmap(QPixmap())
        self.image.setWordWrap(True)
        self.image.setText(text)

    @staticmethod
    def _accepts(md) -> bool:
        return md.hasFormat(MIME_INDEX) or md.hasImage() or any(u.isLocalFile() for u in md.urls())

    def dragEnterEvent(self, event) -> None:
        if self._accepts(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        md = event.mimeData()
        if md.hasFormat(MIME_INDEX):
            raw = bytes(md.data(MIME_INDEX)).decode("ascii", "replace").split(",")
            first = next((s.strip() for s in raw if s.strip().isdigit()), None)
            if first is not None:
                event.acceptProposedAction()
                self.index_dropped.emit(int(first))
                return
        files = [u.toLocalFile() for u in md.urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.file_dropped.emit(files[0])
        elif md.hasImage():
            event.acceptProposedAction()
            self.image_dropped.emit(QImage(md.imageData()))
        else:
            event.ignore()


class ResultColumn(QWidget):
    """One model's top-k results: a model chooser over a grid of marked thumbnails."""

    model_chosen = Signal()
    result_clicked = Signal(int)
    filled_changed = Signal(bool)  # results shown (True) or a message in their place (False)

    def __init__(self, title: str, parent=None) -> None:
        super().__init__(parent)
        self.filled = False
        self.combo = QComboBox()
        self.combo.setToolTip(f"Model of the {title.lower()} column")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(2)  # 12 once it shows results (_set_filled)
        self.info = QLabel()
        self.info.setObjectName("columnInfo")
        self.info.setWordWrap(True)  # a long line must not widen the view past the window
        self.info.setStyleSheet("color: #555;")
        self.list = thumb_list(THUMB, extra_width=RESULT_EXTRA)
        self.list.setMinimumWidth(2 * (THUMB + RESULT_EXTRA) + 8)
        self.text_mode = False
        head = QHBoxLayout()
        head.addWidget(QLabel(f"<b>{title}</b>"))
        head.addWidget(self.combo, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(head)
        lay.addWidget(self.info)
        self.placeholder = QLabel()
        self.placeholder.setObjectName("columnPlaceholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: #777; border: 1px dashed #bbb; padding: 12px;")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.list)
        self.stack.addWidget(self.placeholder)
        lay.addWidget(self.stack, 1)
        self.user_chose = False
        self.combo.activated.connect(self._on_activated)
        self.list.itemClicked.connect(lambda item: self.result_clicked.emit(int(item.data(INDEX_ROLE))))

    @property
    def model(self) -> str | None:
        name = self.combo.currentText()
        return None if not name or name == NONE else name

    def set_choices(self, names: list[str], current: str | None) -> None:
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems([NONE, *names])
        self.combo.setCurrentText(current if current in names else NONE)
        self.combo.blockSignals(False)

    def _on_activated(self, _i: int) -> None:
        self.user_chose = True
        self.model_chosen.emit()

    def show_message(self, text: str, info: str = "") -> None:
        """No results: say why (``text``, in place of the grid) and what the column holds (``info``)."""
        self.list.clear()
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)
        self.info.setText(info)
        self._set_filled(False)

    def _set_filled(self, filled: bool) -> None:
        if filled != self.filled:
            self.filled = filled
            # an empty column's chooser may narrow to a few letters (its popup still shows whole
            # names): its title and a 12-letter box held 250 px that the results lacked
            self.combo.setMinimumContentsLength(12 if filled else 2)
            self.filled_changed.emit(filled)

    def set_text_mode(self, on: bool) -> None:
        """Results as lines of text (documents: a snippet each) instead of a grid of thumbnails."""
        if on == self.text_mode:
            return
        self.text_mode = on
        lst = self.list
        if on:
            lst.setViewMode(QListWidget.ViewMode.ListMode)
            lst.setGridSize(QSize())
            lst.setIconSize(QSize(14, 14))
            lst.setUniformItemSizes(False)
            lst.setSpacing(3)
        else:
            lst.setViewMode(QListWidget.ViewMode.IconMode)
            lst.setIconSize(QSize(THUMB + 8, THUMB + 8))
            lst.setGridSize(QSize(THUMB + RESULT_EXTRA, THUMB + 48))
            lst.setUniformItemSizes(True)
            lst.setSpacing(0)
        lst.setWordWrap(True)

    def show_results(self, tiles: list[tuple[int, QPixmap, str, str]], info: str, text: bool = False) -> None:
        """tiles: (data set index, marked pixmap, caption, tooltip), nearest first; ``text``: the
        captions are document snippets, shown as wrapped lines with a small match-coloured mark."""
        self.set_text_mode(text)
        self.list.clear()
        for index, pix, caption, tip in tiles:
            item = QListWidgetItem(pix, caption)
            item.setData(INDEX_ROLE, int(index))
            item.setToolTip(tip)
            if not text:
                item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            self.list.addItem(item)
        self.stack.setCurrentWidget(self.list)
        self.info.setText(info)
        self._set_filled(True)

    def results(self) -> list[int]:
        return [int(self.list.item(i).data(INDEX_ROLE)) for i in range(self.list.count())]


WHOLE_SET = "<b>Leave-one-out on the whole data set</b>"
SAMPLED = "<b>Leave-one-out on a seeded sample of queries</b> (gallery: the whole data set)"


class MetricsPanel(QWidget):
    """Leave-one-out figures per shown model, and the worst queries of one of them."""

    query_clicked = Signal(int)
    worst_model_chosen = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(METRIC_COLUMNS) + 3)
        self.table.setHorizontalHeaderLabels(
            ["Model", *[h for _, h in METRIC_COLUMNS], "Queries", "Query ms"]
        )
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip(
            "Leave-one-out retrieval over the whole data set (Musgrave et al. 2020): every item\n"
            "queries all the others. R = number of other items of its class.\n"
            "P@1: nearest is same class · R-prec: share of same class in the first R\n"
            "MAP@R: mean precision at each hit within the first R · mAP: over the full ranking\n"
            "k-NN acc: 1:N identification by a 5-nearest-neighbour vote\n"
            "Query ms: the last search of the column above (one query)\n"
            "'· Hamming': the binary column's codes, by Hamming distance"
        )
        self.progress = QProgressBar()
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.note = QLabel()
        self.note.setStyleSheet("color: #555;")
        self.note.setWordWrap(True)
        self.worst_combo = QComboBox()
        self.worst_combo.setToolTip("Whose worst queries to list")
        self.worst = thumb_list(48, rows_hint=1, extra_width=40)
        self.worst.setToolTip("The queries with the lowest average precision: click one to open it")

        left = QVBoxLayout()
        self.title = QLabel(WHOLE_SET)
        left.addWidget(self.title)
        left.addWidget(self.table, 1)
        left.addWidget(self.progress)
        left.addWidget(self.note)
        right = QVBoxLayout()
        head = QHBoxLayout()
        head.addWidget(QLabel("<b>Worst queries</b> of"))
        head.addWidget(self.worst_combo, 1)
        right.addLayout(head)
        right.addWidget(self.worst, 1)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(left, 3)
        lay.addLayout(right, 2)
        self.worst.itemClicked.connect(lambda item: self.query_clicked.emit(int(item.data(INDEX_ROLE))))
        self.worst_combo.activated.connect(lambda _i: self.worst_model_chosen.emit())

    def set_sampled(self, sampled: bool) -> None:
        """Say in the title whether the figures are over every item or a seeded sample of queries."""
        self.title.setText(SAMPLED if sampled else WHOLE_SET)


def blank_tile(size: int) -> QPixmap:
    """Stand-in thumbnail for code-only data sets (projector TSV)."""
    pix = QPixmap(size, size)
    pix.fill(QColor("#d8d8d8"))
    return pix
