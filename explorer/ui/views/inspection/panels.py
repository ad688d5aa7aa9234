"""The inspection view's three tabs: label issues (with the item, its neighbours and the fixes),
near-duplicates (a nearest-neighbour histogram to set the threshold on, and the groups), outliers."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.plots import PlotWidget
from explorer.ui.views.retrieval.widgets import INDEX_ROLE, thumb_list

THUMB = 56
DETAIL = 120
NEIGHBOURS = 8


def fill_grid(grid, tiles: list[tuple[int, object, str, str]]) -> None:
    """Replace ``grid``'s items by ``tiles`` (index, pixmap, caption, tooltip)."""
    grid.blockSignals(True)
    grid.clear()
    for index, pix, caption, tip in tiles:
        item = QListWidgetItem(pix, caption)
        # the whole cell, whose width captions are elided to: left to uniform sizes, every tile took
        # the first caption's laid-out width (62 px on photos) and longer lines wrapped ("astr……")
        item.setSizeHint(grid.gridSize())
        item.setData(INDEX_ROLE, int(index))
        item.setToolTip(tip)
        item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
        grid.addItem(item)
    grid.blockSignals(False)


def grid_indices(grid) -> list[int]:
    return [int(grid.item(r).data(INDEX_ROLE)) for r in range(grid.count())]


def mark_selected(grid, selected: set[int]) -> None:
    """Select the tiles of ``selected`` items (the workspace selection), without signals."""
    grid.blockSignals(True)
    for r in range(grid.count()):
        item = grid.item(r)
        item.setSelected(int(item.data(INDEX_ROLE)) in selected)
    grid.blockSignals(False)


class IssuePanel(QWidget):
    """Ranked label issues in a grid; the chosen one big, with its neighbours and the three fixes.

    Signals: ``picked(index)`` (a tile was clicked), ``accept(index, name)`` (give it class
    ``name``: the suggestion or one the user typed), ``confirm(index)`` (its label is right)."""

    picked = Signal(int)
    accept = Signal(int, str)
    confirm = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.grid = thumb_list(THUMB, rows_hint=2)
        self.grid.setSelectionMode(self.grid.SelectionMode.ExtendedSelection)
        self.grid.itemClicked.connect(lambda item: self.picked.emit(int(item.data(INDEX_ROLE))))
        self.item_label = QLabel()
        self.item_label.setFixedSize(DETAIL + 8, DETAIL + 8)
        self.item_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.item_label.setStyleSheet("background: black;")
        self.item_label.hide()  # no black square before there is an item to show
        self.facts = QLabel("Run Inspect to list the likely label mistakes; click one to see its neighbours.")
        self.facts.setWordWrap(True)
        self.facts.setMinimumWidth(200)
        self.neighbours = thumb_list(THUMB - 8, rows_hint=1)
        self.neighbours.setFlow(self.neighbours.Flow.LeftToRight)
        self.neighbours.setWrapping(False)
        self.neighbours.setFixedHeight(THUMB - 8 + 48 + 26)  # one row of tiles and a scroll bar
        self.neighbours.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.neighbours.itemClicked.connect(lambda item: self.picked.emit(int(item.data(INDEX_ROLE))))
        self.accept_button = QPushButton("Accept suggestion")
        self.accept_button.setToolTip("Give the item the class its neighbours vote for")
        self.other_edit = QLineEdit()
        self.other_edit.setPlaceholderText("or type a class…")
        self.other_edit.setMaximumWidth(180)
        self.other_edit.setMinimumWidth(
            self.other_edit.fontMetrics().horizontalAdvance("or type a class…") + 16
        )
        self.set_button = QPushButton("Set")
        self.correct_button = QPushButton("Mark correct")
        self.correct_button.setToolTip("The given label is right: take it off the list")
        self.current: int | None = None
        self._suggested = ""
        self.accept_button.clicked.connect(self._on_accept)
        self.set_button.clicked.connect(self._on_set)
        self.other_edit.returnPressed.connect(self._on_set)
        self.correct_button.clicked.connect(
            lambda: self.current is not None and self.confirm.emit(self.current)
        )

        # two rows: in one, at the view's 950 px the typed-class box got 70 px ("or type …")
        fixes = QHBoxLayout()
        for w in (self.accept_button, self.correct_button):
            fixes.addWidget(w)
        fixes.addStretch(1)
        typed = QHBoxLayout()
        typed.addWidget(self.other_edit)
        typed.addWidget(self.set_button)
        typed.addStretch(1)
        right = QVBoxLayout()
        head = QHBoxLayout()
        head.addWidget(self.item_label)
        head.addWidget(self.facts, 1)
        right.addLayout(head)
        right.addWidget(QLabel("Nearest neighbours (their labels):"))
        right.addWidget(self.neighbours)
        right.addLayout(fixes)
        right.addLayout(typed)
        right.addStretch(1)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.grid, 3)
        lay.addLayout(right, 2)
        self.set_enabled(False)

    def set_enabled(self, on: bool) -> None:
        for w in (self.accept_button, self.other_edit, self.set_button, self.correct_button):
            w.setEnabled(on)

    def show_item(self, index: int, pix, facts: str, suggested: str, neighbours) -> None:
        """The chosen item: ``pix`` big, ``facts`` beside it, ``neighbours`` tiles under it."""
        self.current, self._suggested = int(index), suggested
        self.item_label.setPixmap(pix)
        self.item_label.show()
        self.facts.setText(facts)
        self.accept_button.setText(f"Accept “{suggested}”" if suggested else "Accept suggestion")
        fill_grid(self.neighbours, neighbours)
        self.set_enabled(True)
        self.accept_button.setEnabled(bool(suggested))

    def _on_accept(self) -> None:
        if self.current is not None and self._suggested:
            self.accept.emit(self.current, self._suggested)

    def _on_set(self) -> None:
        name = self.other_edit.text().strip()
        if self.current is not None and name:
            self.other_edit.clear()
            self.accept.emit(self.current, name)


class DuplicatesPanel(QWidget):
    """Nearest-neighbour distances as a histogram with a draggable threshold, and the groups closer
    than it as a grid. ``threshold_changed(value)`` when the user lets go of the line;
    ``picked(index)`` when a tile is clicked."""

    threshold_changed = Signal(float)
    picked = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.plot = PlotWidget()
        self.plot.setMaximumHeight(150)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setLabel("bottom", "distance to the nearest neighbour")
        for axis in ("bottom", "left"):
            self.plot.getPlotItem().getAxis(axis).enableAutoSIPrefix(False)
        self.bars = pg.PlotCurveItem(
            [0.0, 1.0],
            [0.0],
            stepMode="center",
            fillLevel=0,
            brush=(90, 130, 200, 160),
            pen=pg.mkPen((60, 90, 160)),
        )
        self.plot.addItem(self.bars)
        self.line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen((210, 50, 40), width=2))
        self.line.sigPositionChangeFinished.connect(
            lambda line: self.threshold_changed.emit(float(line.value()))
        )
        self.plot.addItem(self.line)
        self.info = QLabel("Run Inspect to find near-duplicates.")
        self.info.setWordWrap(True)  # a long line must not widen the view past the window
        self.grid = thumb_list(THUMB, rows_hint=2)
        self.grid.setSelectionMode(self.grid.SelectionMode.ExtendedSelection)
        self.grid.itemClicked.connect(lambda item: self.picked.emit(int(item.data(INDEX_ROLE))))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot)
        lay.addWidget(self.info)
        lay.addWidget(self.grid, 1)

    def set_histogram(self, counts: np.ndarray, edges: np.ndarray, threshold: float) -> None:
        # log(1 + count): the few close pairs stay visible beside the bulk of the distances
        self.bars.setData(edges, np.log1p(counts.astype(float)))
        self.plot.setLabel("left", "log(1+n)")
        self.line.setValue(threshold)
        self.plot.setXRange(float(edges[0]), float(edges[-1]), padding=0.02)


class OutliersPanel(QWidget):
    """The most isolated items, most isolated first. ``picked(index)`` when one is clicked."""

    picked = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.info = QLabel("Run Inspect to find the most isolated items.")
        self.info.setWordWrap(True)  # a long line must not widen the view past the window
        self.select_button = QPushButton("Select them all")
        self.grid = thumb_list(THUMB, rows_hint=2)
        self.grid.setSelectionMode(self.grid.SelectionMode.ExtendedSelection)
        self.grid.itemClicked.connect(lambda item: self.picked.emit(int(item.data(INDEX_ROLE))))
        head = QHBoxLayout()
        head.addWidget(self.info, 1)
        head.addWidget(self.select_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(head)
        lay.addWidget(self.grid, 1)
