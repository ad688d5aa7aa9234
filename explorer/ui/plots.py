"""pyqtgraph plots whose view-box context menu is built on first use instead of with the plot.

A ``pg.ViewBox`` builds its ``ViewBoxMenu`` (two Qt Designer forms of axis controls) when it is
made: 10-13 ms of the GUI thread's CPU of a plot's ~30 ms, idle (2-3x that at start-up, under load).
The app makes about ten plots while it starts and a user opens few of their menus. So
:class:`LazyMenuViewBox` makes the menu when it is first asked for (a right click, or another
item collecting context menus); the menu is pyqtgraph's own, with the same actions.
:class:`PlotWidget` is ``pg.PlotWidget`` with such a view box.
"""

from __future__ import annotations

import pyqtgraph as pg
from pyqtgraph.graphicsItems.ViewBox.ViewBoxMenu import ViewBoxMenu


class LazyMenuViewBox(pg.ViewBox):
    """A ``pg.ViewBox`` (same arguments) whose ``menu`` is None until the menu is first needed;
    ``menuEnabled()`` and ``setMenuEnabled`` behave as pyqtgraph's."""

    def __init__(self, *args, enableMenu: bool = True, **kwargs) -> None:
        super().__init__(*args, enableMenu=False, **kwargs)  # no menu built now
        self.state["enableMenu"] = enableMenu

    def _applyMenuEnabled(self) -> None:  # pyqtgraph's hook of setMenuEnabled/setState
        if not self.state.get("enableMenu", True) and self.menu is not None:
            self.menu.setParent(None)
            self.menu = None

    def _ensure_menu(self):
        if self.menu is None and self.menuEnabled():
            self.menu = ViewBoxMenu(self)
            self.updateViewLists()  # the link combos list the other named views
        return self.menu

    def getMenu(self, ev):
        return self._ensure_menu()

    def getContextMenus(self, event):
        menu = self._ensure_menu()
        return menu.actions() if menu is not None and self.menuEnabled() else []


class PlotWidget(pg.PlotWidget):
    """``pg.PlotWidget`` whose view box is a :class:`LazyMenuViewBox` unless ``viewBox`` is given."""

    def __init__(self, parent=None, background="default", plotItem=None, **kargs) -> None:
        if plotItem is None and "viewBox" not in kargs:
            kargs["viewBox"] = LazyMenuViewBox(enableMenu=kargs.get("enableMenu", True))
        super().__init__(parent, background, plotItem, **kargs)
