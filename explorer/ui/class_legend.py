"""The class legend of the scatter and of the relational view's mapping codes: one checkable entry
per class (or sequence), by name, in the class palette's colours; a click anywhere on an entry
toggles it. ``class_toggled(k, visible)`` says which class the user showed or hid."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from explorer.jobs.scatter.colours import class_palette


MIN_WIDTH, MAX_WIDTH = 90, 150  # px


class ClassLegend(QListWidget):
    class_toggled = Signal(int, bool)  # class index, now visible

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMaximumWidth(MAX_WIDTH)
        self.setToolTip("Click a class to hide or show it")
        # long class names are cut with an ellipsis (the full name is the entry's tooltip), never
        # behind a horizontal scroll bar
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._toggled = False  # the check box already toggled this click
        self.itemChanged.connect(self._on_changed)
        self.itemClicked.connect(self._on_clicked)

    def fill(self, names: list[str], hidden: set[int] = frozenset()) -> None:
        """One entry per class name, in the class palette's colours; ``hidden`` ones unchecked."""
        self.blockSignals(True)
        self.clear()
        pal = class_palette(max(len(names), 1))
        for i, name in enumerate(names):
            pix = QPixmap(12, 12)
            pix.fill(QColor(*map(int, pal[i][:3])))
            item = QListWidgetItem(QIcon(pix), str(name))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if i in hidden else Qt.CheckState.Checked)
            item.setData(Qt.ItemDataRole.UserRole, i)
            item.setToolTip(f"{name}: click to hide or show")
            self.addItem(item)
        # as wide as the longest name needs (check box, swatch, text, scroll bar), within bounds
        text = max((self.fontMetrics().horizontalAdvance(str(n)) for n in names), default=0)
        self.setFixedWidth(max(MIN_WIDTH, min(MAX_WIDTH, text + 64)))
        self.setVisible(len(names) > 0)
        self.blockSignals(False)

    def show_hidden(self, hidden) -> None:
        """Uncheck the classes in ``hidden``, check the others (no ``class_toggled``)."""
        self.blockSignals(True)
        for i in range(self.count()):
            self.item(i).setCheckState(Qt.CheckState.Unchecked if i in hidden else Qt.CheckState.Checked)
        self.blockSignals(False)

    def set_class_visible(self, k: int, visible: bool) -> None:
        self.item(k).setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)

    def mark(self, found: set[int]) -> None:
        """Bold the entries of the classes a search found."""
        self.blockSignals(True)
        for i in range(self.count()):
            item = self.item(i)
            font = item.font()
            font.setBold(i in found)
            item.setFont(font)
        self.blockSignals(False)

    def _on_clicked(self, item: QListWidgetItem) -> None:
        if self._toggled:
            self._toggled = False
            return
        on = item.checkState() == Qt.CheckState.Checked
        item.setCheckState(Qt.CheckState.Unchecked if on else Qt.CheckState.Checked)

    def _on_changed(self, item: QListWidgetItem) -> None:
        self._toggled = True
        QTimer.singleShot(0, lambda: setattr(self, "_toggled", False))
        k = int(item.data(Qt.ItemDataRole.UserRole))
        self.class_toggled.emit(k, item.checkState() == Qt.CheckState.Checked)
