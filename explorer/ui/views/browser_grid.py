"""The data browser's grid: its item model (thumbnails made when painted, at most
NEW_THUMBS_PER_PAINT a paint, a document's start as its text), the delegate that draws a cell with
its selection and query frames, and the drag format (``application/x-explorer-index``:
comma-separated indices, plus a PNG of the first item). The view around it is
:mod:`explorer.ui.views.browser`."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QMimeData,
    QModelIndex,
    QRect,
    QSize,
    QStringListModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QWidget

from explorer.core.imageset import ImageSet
from explorer.data.documents import document_snippet, is_documents
from explorer.ui.context import AppContext
from explorer.ui.imaging import to_qimage
from explorer.ui.services import ThumbnailCache

MIME_INDEX = "application/x-explorer-index"
INDEX_ROLE = Qt.ItemDataRole.UserRole
DOC_SNIPPET_CHARS = 200  # of a document's text in its row (the rest is in the retrieval view)
# thumbnails made in one paint of the grid; cells past it show a placeholder and are made in the
# next event-loop turns (the window's first paint made all ~80-200 visible ones in one turn)
NEW_THUMBS_PER_PAINT = 24


class ThumbnailModel(QStringListModel):
    """Rows are items of the open data set (a filtered subset); thumbnails made on demand.

    A ``QStringListModel`` of empty strings, one per row, so that ``rowCount`` and ``index`` stay in
    C++: the grid's layout asks for them about twice per row (``QAbstractListModel.index`` calls
    ``rowCount``), and a Python ``rowCount`` made the first layout of 1,797 items cost ~4,000 calls
    into Python. Only ``data``, ``flags`` and the drag methods are Python (per painted cell)."""

    def __init__(self, ctx: AppContext, thumbnails: ThumbnailCache, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.thumbnails = thumbnails
        self.rows = np.zeros(0, dtype=np.int64)
        self.pos = np.zeros(0, dtype=np.int64)  # data set index -> row, -1 when filtered out
        self.thumb_size = 48
        self.new_left = NEW_THUMBS_PER_PAINT  # thumbnails this paint may still make
        self.repaint_later = None  # called once the event loop turns when a paint ran out of them
        self._later_posted = False

    @property
    def data_set(self) -> ImageSet | None:
        return self.ctx.workspace.dataset

    def set_rows(self, rows: np.ndarray) -> None:
        """Show the data set items ``rows`` ((R,) int64, in this order): one model reset."""
        self.rows = np.asarray(rows, dtype=np.int64)
        n = self.data_set.count if self.data_set is not None else 0
        self.pos = np.full(n, -1, dtype=np.int64)
        self.pos[self.rows] = np.arange(len(self.rows))
        self.setStringList([""] * len(self.rows))  # (a reset; ~0.1 us a row, in C++)

    def set_thumb_size(self, size: int) -> None:
        self.thumb_size = int(size)
        if len(self.rows):
            self.dataChanged.emit(self.index(0), self.index(len(self.rows) - 1))

    # ---- the item model (rowCount and index: QStringListModel's, in C++) ---------------------
    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        i = int(self.rows[index.row()])
        ds = self.data_set
        if role == Qt.ItemDataRole.DisplayRole:  # documents: the caption the delegate draws
            if ds is None or not is_documents(ds):
                return None
            name = ds.label_name(i)
            head = f"#{i}" + (f" · {name}" if name else "")
            return f"{head}\n{document_snippet(ds, i, DOC_SNIPPET_CHARS)}"
        if role == Qt.ItemDataRole.DecorationRole:
            if ds is None or not ds.has_images or is_documents(ds):
                return None
            return self.thumbnails.get(ds, i, self.thumb_size, wait=False)
        if role == INDEX_ROLE:
            return i
        if role == Qt.ItemDataRole.ToolTipRole and ds is not None:
            parts = [f"#{i}"]
            name = ds.label_name(i)
            if name:
                parts.append(f"class {name}")
            if ds.paths is not None:
                parts.append(ds.paths[i])
            return "\n".join(parts)
        return None

    def painted_thumbnail(self, row: int):
        """Row ``row``'s pixmap for a paint of the grid (``data``'s DecorationRole, within this
        paint's budget): a thumbnail made already, else one made now while ``new_left`` lasts,
        else the placeholder and a repaint on a later turn (``repaint_later``)."""
        ds = self.data_set
        if ds is None or not ds.has_images or is_documents(ds) or row >= len(self.rows):
            return None
        i = int(self.rows[row])
        pix = self.thumbnails.peek(ds, i, self.thumb_size)
        if pix is not None:
            return pix
        if self.new_left > 0:
            pix = self.thumbnails.get(ds, i, self.thumb_size, wait=False)
            if pix is not self.thumbnails.placeholder(self.thumb_size):  # (a file not decoded yet)
                self.new_left -= 1
            return pix
        if not self._later_posted and self.repaint_later is not None:
            self._later_posted = True
            QTimer.singleShot(0, self._repaint_later)
        return self.thumbnails.placeholder(self.thumb_size)

    def _repaint_later(self) -> None:
        self._later_posted = False
        if self.repaint_later is not None:
            self.repaint_later()

    def flags(self, index: QModelIndex):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled

    def supportedDragActions(self):
        return Qt.DropAction.CopyAction  # (QStringListModel's MoveAction would remove dragged rows)

    def supportedDropActions(self):
        return Qt.DropAction.IgnoreAction

    def mimeTypes(self) -> list[str]:
        return [MIME_INDEX, "image/png"]

    def mimeData(self, indexes) -> QMimeData:
        items = [int(self.rows[ix.row()]) for ix in indexes if ix.isValid()]
        md = QMimeData()
        if not items:
            return md
        md.setData(MIME_INDEX, QByteArray(",".join(map(str, items)).encode("ascii")))
        ds = self.data_set
        if ds is not None and ds.has_images and not is_documents(ds):
            img = to_qimage(ds.images[items[0]])
            md.setImageData(img)
            buf = QBuffer()
            buf.open(QIODevice.OpenModeFlag.WriteOnly)
            img.save(buf, "PNG")
            md.setData("image/png", buf.data())
        md.setText(",".join(map(str, items)))
        return md


def indices_from_mime(md: QMimeData) -> list[int]:
    """The data set indices an ``application/x-explorer-index`` drag carries (empty if none)."""
    if not md.hasFormat(MIME_INDEX):
        return []
    raw = bytes(md.data(MIME_INDEX)).decode("ascii", "replace")
    return [int(s) for s in raw.split(",") if s.strip().lstrip("-").isdigit()]


class ThumbDelegate(QStyledItemDelegate):
    """A thumbnail centred in its cell; blue frame when selected, orange when it is the query."""

    def __init__(self, browser: QWidget) -> None:  # the browser View: its grid and model
        super().__init__(browser)
        self.browser = browser

    def sizeHint(self, option, index) -> QSize:
        return self.browser.grid.gridSize()

    def paint(self, painter: QPainter, option, index) -> None:
        model = self.browser.model
        pix = model.painted_thumbnail(index.row())
        r: QRect = option.rect
        caption = index.data(Qt.ItemDataRole.DisplayRole) if pix is None else None
        if caption:  # a document: its number and class in bold, then the start of its text
            head, _, body = caption.partition("\n")
            inner = r.adjusted(6, 3, -6, -3)
            painter.save()
            font = painter.font()
            font.setBold(True)
            painter.setFont(font)
            line = painter.fontMetrics().height()
            painter.setPen(option.palette.color(option.palette.ColorRole.Text))
            painter.drawText(inner.adjusted(0, 0, 0, line - inner.height()), Qt.AlignmentFlag.AlignLeft, head)
            font.setBold(False)
            painter.setFont(font)
            flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
            body_rect = QRect(inner.x(), inner.y() + line, inner.width(), 3 * line)  # whole lines only
            painter.setClipRect(body_rect)
            painter.drawText(body_rect, int(flags), body)
            painter.restore()
        elif pix is not None:
            x = r.x() + (r.width() - pix.width()) // 2
            y = r.y() + (r.height() - pix.height()) // 2
            painter.drawPixmap(x, y, pix)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        row = index.row()
        is_query = row < len(model.rows) and int(model.rows[row]) == self.browser.ctx.workspace.query_index
        if selected or is_query:
            pen = QPen(QColor("#e67e22") if is_query else QColor("#1f77d0"), 3 if is_query else 2)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            painter.setPen(pen)
            painter.drawRect(r.adjusted(1, 1, -2, -2))
