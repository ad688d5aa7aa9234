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
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QSize,
    Qt,
    QTimer,
)
from PySide6.QtGui import QAction
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
    QVBoxLayout,
    QWidget,
)

from explorer.core.imageset import ImageSet
from explorer.data.documents import is_documents
from explorer.ui.context import AppContext
from explorer.ui.services import ThumbnailCache
from explorer.ui.views.browser_grid import (  # noqa: F401  (INDEX_ROLE, MIME_INDEX, indices_from_mime: the view's names)
    INDEX_ROLE,
    MIME_INDEX,
    NEW_THUMBS_PER_PAINT,
    ThumbDelegate,
    ThumbnailModel,
    indices_from_mime,
)

TITLE = "Data"
AREA = "left"
ORDER = 0
CLASS_BOX_CHARS = len("All classes")  # the class box is as wide as this many characters


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
        # as wide as "All classes", not as its longest class: "immunohistochemistry (30)" took the
        # filter box's room ("Filter: name, pa…" at the dock's width); the list shows names whole
        self.class_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.class_box.setIconSize(QSize(0, 0))  # (no icons: no room kept for one)
        self.class_box.setMinimumContentsLength(CLASS_BOX_CHARS)
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
        self.grid.setItemDelegate(ThumbDelegate(self))
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
        names = [self.class_box.itemText(i) for i in range(self.class_box.count())]
        widest = max((self.class_box.fontMetrics().horizontalAdvance(t) for t in names), default=0)
        self.class_box.view().setMinimumWidth(widest + 32)  # (its margins and a scroll bar)
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
