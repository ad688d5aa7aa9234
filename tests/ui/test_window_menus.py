"""Menus made in Python (window_menus.add_menu), not by addMenu(title): a widget Qt makes and
returns is looked up by its address among Python's wrappers, and a Python event filter on the
application that was given it mid-construction made one typed QWidget. Kept alive past the filter's
call (a stack sampler's frame), it is what addMenu(title) returns."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu, QMenuBar, QWidget

from explorer.ui.window_menus import add_menu


class _KeepingFilter(QObject):
    """An application event filter whose objects outlive its calls (as a sampled frame's do)."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list = []

    def eventFilter(self, obj, event) -> bool:
        self.held.append(obj)
        return False


def test_add_menu_gives_a_menu_where_add_menu_of_a_title_gives_a_qwidget(qtbot):
    app = QApplication.instance()
    keeper = _KeepingFilter()
    app.installEventFilter(keeper)
    try:
        win = QMainWindow()
        qtbot.addWidget(win)
        bar = QMenuBar(win)
        win.setMenuBar(bar)
        made_by_qt = bar.addMenu("Qt's")  # the wrapper the filter made mid-construction
        assert type(made_by_qt) is QWidget and not hasattr(made_by_qt, "addMenu")
        ours = add_menu(bar, "&File")
        sub = add_menu(ours, "Open &recent")
        assert type(ours) is QMenu and type(sub) is QMenu
        sub.addAction("(none yet)")
        assert [a.text() for a in bar.actions()][-1] == "&File"
        assert ours.actions()[0].menu() is sub and sub.actions()[0].text() == "(none yet)"
    finally:
        app.removeEventFilter(keeper)
        keeper.held.clear()
