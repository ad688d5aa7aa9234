"""Where the main window puts its views: "center" views as tabs, "left" and "bottom" views as docks,
added as the view modules arrive (the lazy loader imports them in a worker after the window shows)."""

from __future__ import annotations

import sys
import traceback
from types import ModuleType

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QScrollArea, QWidget

from explorer.core.progress import Progress
from explorer.ui.view_loading import SHELL_VIEWS, scrolling_page, view_key
from explorer.ui.view_updates import build_view


class ViewPlacement:
    """Mixin of :class:`explorer.ui.main_window.MainWindow`: ``self.views`` (key -> widget),
    ``self.docks`` and ``self.tabs`` filled from view modules; ``show_view`` brings one forward."""

    def _queue_views(self, mods: list[ModuleType], final: bool) -> None:
        """Create the views of ``mods`` one per event-loop turn (a view with plots costs 35-100 ms
        of GUI-thread CPU to build: all at once they held the window for the sum, 0.3-1.2 s);
        ``final``: these complete the set, and ``views_ready`` fires once the last is in place."""
        queue = self._view_queue
        queued = {view_key(m) for m in queue}
        queue.extend(m for m in mods if view_key(m) not in queued and view_key(m) not in self.views)
        queue.sort(key=lambda m: getattr(m, "ORDER", 100))
        self._views_final = self._views_final or final
        if not self._view_turn_pending:
            self._view_turn_pending = True
            QTimer.singleShot(0, self._next_view)

    def _next_view(self) -> None:
        self._view_turn_pending = False
        queue = self._view_queue
        if self._views_closed:
            return
        if queue:
            self._add_views([queue.pop(0)], final=False)
        if queue:
            self._view_turn_pending = True
            QTimer.singleShot(0, self._next_view)
        elif self._views_final and self._view_loader is None:
            self._views_final = False
            self._add_views([], final=True)
            self.views_ready.emit()

    def views_pending(self) -> bool:
        """Whether views are still to be created (their modules imported, not yet built)."""
        return bool(self._view_queue) or self._views_final

    def _add_views(self, mods: list[ModuleType], final: bool) -> None:
        """Create the views of ``mods``: "center" ones as tabs, "left"/"bottom" ones as docks.
        ``final``: these complete the set (with no center view, the left views become tabs)."""
        from explorer.ui.qt_setup import configure_pyqtgraph

        if any(m.__name__ not in SHELL_VIEWS for m in mods):  # the shell's views need no plots
            configure_pyqtgraph()
        mods = sorted(mods, key=lambda m: getattr(m, "ORDER", 100))
        has_center = any(getattr(m, "AREA", "center") == "center" for m in mods) or self.tabs.count()
        for mod in mods:
            area = getattr(mod, "AREA", "center")
            key = view_key(mod)
            try:
                widget = build_view(self.ctx, mod.View)  # its events: explorer/ui/view_updates.py
            except Exception as err:  # a broken view is left out; the app goes on
                traceback.print_exc()
                self.show_error(f"The {key} view could not be opened ({type(err).__name__}: {err}).")
                continue
            self.views[key] = widget
            if area == "center" or (final and not has_center and area == "left"):
                self._insert_tab(mod, widget)
                continue
            dock = QDockWidget(mod.TITLE, self)
            dock.setObjectName(f"dock_{key}")
            dock.setWidget(widget)
            dock.setFeatures(
                QDockWidget.DockWidgetFeature.DockWidgetMovable
                | QDockWidget.DockWidgetFeature.DockWidgetClosable
                | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            )
            where = (
                Qt.DockWidgetArea.BottomDockWidgetArea
                if area == "bottom"
                else Qt.DockWidgetArea.LeftDockWidgetArea
            )
            self.addDockWidget(where, dock)
            self.docks[key] = dock
        if final and not self.tabs.count():  # only docks: the left ones move to the centre
            for key, dock in list(self.docks.items()):
                if self.dockWidgetArea(dock) == Qt.DockWidgetArea.LeftDockWidgetArea:
                    widget = dock.widget()
                    self.tabs.addTab(scrolling_page(widget), dock.windowTitle())
                    self.removeDockWidget(dock)
                    dock.deleteLater()
                    del self.docks[key]
        if self.tabs.count() and self.centralWidget() is not self.tabs:
            self.setCentralWidget(self.tabs)
            self.tabs.setCurrentIndex(0)
            # a new central widget gives its room to the docks until it is laid out (the data
            # dock took 1267 of 1400 px for the seconds until the next views came): size them then
            QTimer.singleShot(0, self._size_docks)
        self._size_docks()
        if final:  # once the new central widget is laid out
            QTimer.singleShot(0, self._size_docks)

    def _size_docks(self) -> None:
        left = [
            d for d in self.docks.values() if self.dockWidgetArea(d) == Qt.DockWidgetArea.LeftDockWidgetArea
        ]
        if left:
            width = max(300, min(420, self.width() // 4))
            self.resizeDocks(left, [width] * len(left), Qt.Orientation.Horizontal)

    def _insert_tab(self, mod: ModuleType, widget: QWidget) -> None:
        order = getattr(mod, "ORDER", 100)
        i = 0
        while i < self.tabs.count() and getattr(self.tabs.widget(i), "_view_order", 0) <= order:
            i += 1
        page = scrolling_page(widget)
        page._view_order = order
        self.tabs.insertTab(i, page, mod.TITLE)

    def tab_index(self, view: QWidget) -> int:
        """The tab showing ``view`` (a view widget, as in ``self.views``), or -1."""
        for i in range(self.tabs.count()):
            page = self.tabs.widget(i)
            if page is view or (isinstance(page, QScrollArea) and page.widget() is view):
                return i
        return -1

    def show_view(self, key: str) -> None:
        """Bring view ``key`` (e.g. "scatter") to the front."""
        view = self.views.get(key)
        i = self.tab_index(view) if view is not None else -1
        if i >= 0:
            self.tabs.setCurrentIndex(i)
        elif key in self.docks:
            self.docks[key].show()
            self.docks[key].raise_()

    def _on_views_partial(self, tag, rec: Progress) -> None:
        self.jobs.update_job("views", rec.message, rec.fraction)
        self._queue_views(self._not_created(rec.payload or ()), final=False)

    def _not_created(self, names) -> list[ModuleType]:
        return [
            sys.modules[n] for n in names if n in sys.modules and view_key(sys.modules[n]) not in self.views
        ]

    def _on_views_imported(self, tag, result) -> None:
        ok, failed = result
        self.jobs.finish_job("views")
        self._view_loader = None
        for name, message in failed:
            self.show_error(f"The {name.rsplit('.', 1)[-1]} view could not be loaded ({message}).")
        self._queue_views(self._not_created(ok), final=True)  # views_ready once they are built
