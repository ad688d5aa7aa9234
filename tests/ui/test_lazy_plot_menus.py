"""Plots build their view-box context menu when it is first needed, not with the plot (issue 13
item 3: the eager ViewBoxMenu was 10-13 ms of each plot's ~30 ms of GUI-thread CPU, and the app
builds about ten plots while it starts)."""

from __future__ import annotations

import pyqtgraph as pg
from pyqtgraph.graphicsItems.ViewBox.ViewBoxMenu import ViewBoxMenu

from explorer.ui.context import AppContext
from explorer.ui.plots import LazyMenuViewBox, PlotWidget
from explorer.ui.view_loading import load_view_modules


def test_the_menu_is_built_on_first_use_with_pyqtgraphs_actions(qtbot):
    w = PlotWidget()
    qtbot.addWidget(w)
    vb = w.getViewBox()
    assert isinstance(vb, LazyMenuViewBox) and vb.menu is None and vb.menuEnabled()
    menu = vb.getMenu(None)  # what a right click raises
    assert isinstance(menu, ViewBoxMenu) and vb.menu is menu
    assert [a.text() for a in menu.actions()][:3] == ["View All", "X axis", "Y axis"]
    assert vb.getContextMenus(None) == menu.actions()
    vb.setMenuEnabled(False)
    assert vb.menu is None and vb.getMenu(None) is None and vb.getContextMenus(None) == []
    vb.setMenuEnabled(True)
    assert isinstance(vb.getMenu(None), ViewBoxMenu)
    off = PlotWidget(enableMenu=False)
    qtbot.addWidget(off)
    assert not off.getViewBox().menuEnabled() and off.getViewBox().getMenu(None) is None


def test_no_view_builds_a_plot_menu_when_it_is_made(qtbot):
    ctx = AppContext.standalone()
    plots = 0
    for mod in load_view_modules():
        view = mod.View(ctx, None)
        qtbot.addWidget(view)
        for w in view.findChildren(pg.PlotWidget):
            plots += 1
            vb = w.getViewBox()
            assert isinstance(vb, LazyMenuViewBox) and vb.menu is None, (mod.__name__, type(w).__name__)
    assert plots >= 5  # scatter, verification (2), inspection, relational (2)
