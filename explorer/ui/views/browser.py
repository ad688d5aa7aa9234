"""The data browser: a virtualised thumbnail grid of the open data set, with class and text filters.

Thumbnails are made lazily in ``ThumbnailModel.data`` (only for rows the view paints) and kept in
the shared LRU cache, and every item has the same size, so the grid stays smooth at 100,000 images.
A set of documents is shown as a list of text snippets (one row each, the start of the text) instead
of thumbnails of its word counts. Selecting items sets the workspace selection; a selection made
elsewhere (a lasso in the scatter) is reflected here. Double-click makes an item the query. Items drag out as
``application/x-explorer-index`` (comma-separated indices) plus a PNG of the first one.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QEvent,
    QIODevice,
    QItemSelection,
    QItemSelectionModel,
    QMimeData,
    QModelIndex,
    QRect,
    QSize,
    QStringListModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QAction, QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QSlider,
    QStyle,
    QStyledItemDelegate,
    QVBoxLayout,
    QWidget,
)

from explorer.core.imageset import ImageSet
from explorer.data.documents import document_snippet, is_documents
from explorer.ui.context import AppContext
from explorer.ui.imaging import to_qimage
from explorer.ui.services import ThumbnailCache

TITLE = "Data"
AREA = "left"
ORDER = 0

MIME_INDEX = "application/x-explorer-index"
INDEX_ROLE = Qt.ItemDataRole.UserRole
DOC_SNIPPET_CHARS = 200  # of a document's text in its row (the rest is in the retrieval view)
# thumbnails made in one paint of the grid; cells past it show a placeholder and are made in the
# next event-loop turns (the window's first paint made all ~80-200 visible ones in one turn)
NEW_THUMBS_PER_PAINT = 24


def filter_rows(
    data: ImageSet | None, klass: int | None = None, text: str = "", only: np.ndarray | None = None
) -> np.ndarray:
    """Indices of the items of ``data`` in class ``klass`` (None: all; -1: unlabelled) whose path,
    class name, ``#index`` or (for documents) text matches ``text``, restricted to ``only`` when given;
    ascending int64."""
    if data is None:
        return np.zeros(0, dtype=np.int64)
    rows = np.arange(data.count, dtype=np.int64)
    if only is not None:
        rows = np.intersect1d(rows, np.asarray(only, dtype=np.int64))
    if klass is not None and data.labels is not None:
        rows = rows[data.labels[rows] == klass]
    text = text.strip().lower()
    if text:
        if text.startswith("#") and text[1:].isdigit():
            rows = rows[rows == int(text[1:])]
        else:
            names = [n.lower() for n in data.class_names]
            hit_class = np.array([text in n for n in names] + [False], dtype=bool)
            keep = np.zeros(len(rows), dtype=bool)
            if data.labels is not None and names:
                labels = data.labels[rows]
                keep |= hit_class[np.where((labels >= 0) & (labels < len(names)), labels, len(names))]
            if data.paths is not None:
                paths = data.paths
                keep |= np.fromiter((text in paths[i].lower() for i in rows), bool, len(rows))
            snippets = getattr(data, "snippets", None)  # the start of each document's text
            if snippets is not None and len(snippets) == data.count:
                keep |= np.fromiter((text in snippets[i].lower() for i in rows), bool, len(rows))
            rows = rows[keep]
    return rows


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


class _ThumbDelegate(QStyledItemDelegate):
    """A thumbnail centred in its cell; blue frame when selected, orange when it is the query."""

    def __init__(self, browser: View) -> None:
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


class View(QWidget):
    """The data browser (left dock)."""

    def __init__(self, ctx: AppContext, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        thumbs = ctx.services.get("thumbnails")
        if thumbs is None:
            thumbs = ctx.services["thumbnails"] = ThumbnailCache()
        self.model = ThumbnailModel(ctx, thumbs, self)
        self._syncing = False  # True while we change the grid's selection ourselves

        self.class_box = QComboBox()
        self.class_box.setToolTip("Show one class")
        self.class_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.text_box = QLineEdit()
        self.text_box.setPlaceholderText("Filter: name, path or #index")
        self.text_box.setClearButtonEnabled(True)
        self.only_selected = QCheckBox("Only selected")
        self.only_selected.setToolTip("Show only the items selected in any view")
        self.count_label = QLabel()
        self.count_label.setObjectName("browserCount")
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(24, 128)
        self.size_slider.setValue(self.model.thumb_size)
        self.size_slider.setToolTip("Thumbnail size")
        self.size_slider.setMaximumWidth(110)

        self.grid = QListView()
        self.grid.setViewMode(QListView.ViewMode.ListMode)  # ListMode + wrapping: fast uniform grid
        self.grid.setFlow(QListView.Flow.LeftToRight)
        self.grid.setWrapping(True)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setUniformItemSizes(True)
        self.grid.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.grid.setDragEnabled(True)
        self.grid.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.grid.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.grid.verticalScrollBar().setSingleStep(24)
        self.grid.setItemDelegate(_ThumbDelegate(self))
        self.grid.setModel(self.model)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.grid.setMinimumWidth(200)

        top = QHBoxLayout()
        top.addWidget(self.class_box)
        top.addWidget(self.text_box, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.count_label, 1)
        bottom.addWidget(self.only_selected)
        bottom.addWidget(self.size_slider)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addLayout(top)
        lay.addWidget(self.grid, 1)
        lay.addLayout(bottom)

        self._text_timer = QTimer(self, singleShot=True, interval=150)
        self._text_timer.timeout.connect(self.refilter)
        self.text_box.textChanged.connect(lambda _t: self._text_timer.start())
        self.class_box.currentIndexChanged.connect(lambda _i: self.refilter())
        self.only_selected.toggled.connect(lambda _b: self.refilter())
        self.size_slider.valueChanged.connect(self._on_size_changed)
        self.grid.selectionModel().selectionChanged.connect(self._on_grid_selection)
        self.grid.doubleClicked.connect(self._on_double_click)
        self.grid.customContextMenuRequested.connect(self._on_context_menu)
        self._update_grid_size()
        self.setFocusProxy(self.grid)
        self.grid.viewport().installEventFilter(self)
        self.model.repaint_later = self.grid.viewport().update

        q = ctx.qws
        q.dataset_changed.connect(self._on_dataset_changed)
        q.selection_changed.connect(self._on_selection_changed)
        q.query_changed.connect(self._on_query_changed)
        renditions = ctx.services.get("renditions")
        if renditions is not None:  # file-backed sets: placeholders turn into thumbnails as they decode
            renditions.rows_ready.connect(self.grid.viewport().update)
        q.labels_changed.connect(self._on_labels_changed)
        self._on_dataset_changed()

    # ---- public -----------------------------------------------------------------------------
    def cell_size(self) -> QSize:
        ds = self.ctx.workspace.dataset
        if ds is not None and is_documents(ds):  # one row per document, its caption and 3 lines of text
            line = self.grid.fontMetrics().height()
            return QSize(max(200, self.grid.viewport().width() - 2), 4 * line + 10)
        s = self.model.thumb_size + 6
        return QSize(s, s)

    def shown_indices(self) -> np.ndarray:
        """Data set indices of the items the grid shows, in order."""
        return self.model.rows.copy()

    def set_class_filter(self, klass: int | None) -> None:
        """Show only class ``klass`` (None: all classes; -1: unlabelled)."""
        i = self.class_box.findData(-2 if klass is None else int(klass))
        if i >= 0:
            self.class_box.setCurrentIndex(i)

    def busy(self) -> bool:
        return False

    def refilter(self) -> None:
        ds = self.ctx.workspace.dataset
        klass = self.class_box.currentData()
        klass = None if klass is None or klass == -2 else int(klass)
        only = self.ctx.workspace.selection if self.only_selected.isChecked() else None
        rows = filter_rows(ds, klass, self.text_box.text(), only)
        self._syncing = True
        try:
            self.model.set_rows(rows)
        finally:
            self._syncing = False
        self._reflect_selection()
        self._update_count()

    # ---- workspace -> view ------------------------------------------------------------------
    def _on_labels_changed(self, _indices=None) -> None:
        """Edited labels: new class counts (perhaps a new class), the filter applied again."""
        self._on_dataset_changed(keep_class=True)

    def _on_dataset_changed(self, keep_class: bool = False) -> None:
        ds = self.ctx.workspace.dataset
        chosen = self.class_box.currentData() if keep_class else None
        self.class_box.blockSignals(True)
        self.class_box.clear()
        self.class_box.addItem("All classes", -2)
        if ds is not None and ds.labels is not None and ds.class_names:
            counts = np.bincount(ds.labels[ds.labels >= 0], minlength=len(ds.class_names))
            for k, name in enumerate(ds.class_names):
                self.class_box.addItem(f"{name} ({int(counts[k]):,})", k)
            unlabelled = int((ds.labels < 0).sum())
            if unlabelled:
                self.class_box.addItem(f"unlabelled ({unlabelled:,})", -1)
        self.class_box.setEnabled(self.class_box.count() > 1)
        documents = ds is not None and is_documents(ds)
        self.size_slider.setVisible(not documents)  # rows of text have no thumbnail size
        self.grid.setFlow(QListView.Flow.TopToBottom if documents else QListView.Flow.LeftToRight)
        self.grid.setWrapping(not documents)  # documents: one column of rows
        self.text_box.setPlaceholderText(
            "Filter: words, name, path or #index" if documents else "Filter: name, path or #index"
        )
        self._update_grid_size()
        if chosen is not None and self.class_box.findData(chosen) >= 0:
            self.class_box.setCurrentIndex(self.class_box.findData(chosen))
        self.class_box.blockSignals(False)
        self.refilter()

    def _on_selection_changed(self) -> None:
        if self._syncing:
            return
        if self.only_selected.isChecked():
            self.refilter()
        else:
            self._reflect_selection()
            self._update_count()

    def _on_query_changed(self) -> None:
        self.grid.viewport().update()
        qi = self.ctx.workspace.query_index
        if qi is not None and 0 <= qi < len(self.model.pos) and self.model.pos[qi] >= 0:
            self.grid.scrollTo(self.model.index(int(self.model.pos[qi])))

    def _reflect_selection(self) -> None:
        """Select in the grid the rows of the workspace selection (merged into ranges)."""
        sel = self.ctx.workspace.selection
        pos = self.model.pos
        rows = np.sort(pos[sel[(sel >= 0) & (sel < len(pos))]]) if len(pos) else sel[:0]
        rows = rows[rows >= 0]
        qsel = QItemSelection()
        if len(rows):
            breaks = np.flatnonzero(np.diff(rows) != 1)
            starts = np.concatenate([[rows[0]], rows[breaks + 1]])
            stops = np.concatenate([rows[breaks], [rows[-1]]])
            for a, b in zip(starts.tolist(), stops.tolist()):
                qsel.select(self.model.index(a), self.model.index(b))
        self._syncing = True
        try:
            self.grid.selectionModel().select(qsel, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        finally:
            self._syncing = False

    # ---- view -> workspace ------------------------------------------------------------------
    def _on_grid_selection(self, *_args) -> None:
        if self._syncing:
            return
        rows = []
        for rng in self.grid.selectionModel().selection():
            rows.append(np.arange(rng.top(), rng.bottom() + 1))
        rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        self._syncing = True
        try:
            self.ctx.workspace.set_selection(self.model.rows[rows])
        finally:
            self._syncing = False
        self._update_count()

    def _on_double_click(self, index: QModelIndex) -> None:
        if index.isValid():
            self.ctx.workspace.set_query(index=int(index.data(INDEX_ROLE)))

    def _on_context_menu(self, point) -> None:
        index = self.grid.indexAt(point)
        menu = QMenu(self)
        if index.isValid():
            i = int(index.data(INDEX_ROLE))
            act = QAction(f"Make #{i} the query", menu)
            act.triggered.connect(lambda: self.ctx.workspace.set_query(index=i))
            menu.addAction(act)
            ds = self.ctx.workspace.dataset
            if ds is not None and ds.labels is not None and ds.labels[i] >= 0:
                k = int(ds.labels[i])
                act = QAction(f"Select class {ds.label_name(i)}", menu)
                act.triggered.connect(
                    lambda: self.ctx.workspace.set_selection(np.flatnonzero(ds.labels == k))
                )
                menu.addAction(act)
        clear = QAction("Clear selection", menu)
        clear.triggered.connect(lambda: self.ctx.workspace.set_selection([]))
        menu.addAction(clear)
        menu.popup(self.grid.viewport().mapToGlobal(point))

    def _on_size_changed(self, value: int) -> None:
        self.model.set_thumb_size(value)
        self._update_grid_size()

    def _update_grid_size(self) -> None:
        """Cells of the thumbnail size, widened a little so the columns fill the grid's width."""
        cell = self.cell_size()
        avail = self.grid.viewport().width()
        cols = max(1, avail // cell.width())
        width = max(cell.width(), avail // cols) if avail > 0 else cell.width()
        if self.grid.gridSize() != QSize(width, cell.height()):
            self.grid.setGridSize(QSize(width, cell.height()))
        self.grid.setIconSize(QSize(self.model.thumb_size, self.model.thumb_size))
        # the cache holds at least twice what the grid shows: with fewer places than visible cells
        # each paint's new thumbnails dropped others on screen and the grid repainted for good
        shown = cols * (self.grid.viewport().height() // max(1, cell.height()) + 2)
        cache = self.model.thumbnails
        cache.max_items = max(cache.max_items, 2 * shown)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.grid.viewport():
            kind = event.type()
            if kind == QEvent.Type.Paint:
                self.model.new_left = NEW_THUMBS_PER_PAINT  # (see NEW_THUMBS_PER_PAINT)
            elif kind == QEvent.Type.Resize:
                self._update_grid_size()
        return False

    def _update_count(self) -> None:
        ds = self.ctx.workspace.dataset
        if ds is None:
            self.count_label.setText("No data set open")
            return
        shown, total = len(self.model.rows), ds.count
        text = f"{total:,} items" if shown == total else f"{shown:,} of {total:,}"
        nsel = len(self.ctx.workspace.selection)
        if nsel:
            text += f" · {nsel:,} selected"
        self.count_label.setText(text)
