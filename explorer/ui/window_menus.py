"""The main window's menus and tool bar, and the model choices they offer (kept in step with the
workspace's models and the open data set)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMenu, QMenuBar, QToolBar

from explorer.ui.dialogs.messages import show_about

# QStandardItemModel keeps an item's flags under this role (Qt::UserRole - 1); a greyed entry is
# listed but neither enabled nor selectable
ITEM_FLAGS_ROLE = int(Qt.ItemDataRole.UserRole) - 1
GREYED_FLAGS = 0


def add_menu(parent: QMenuBar | QMenu, title: str) -> QMenu:
    """A submenu of ``parent`` made in Python, not by ``parent.addMenu(title)``.

    A widget Qt makes and returns (``addMenu(title)``, ``menuBar()``, ``statusBar()``,
    ``addToolBar(title)``) is looked up by its address among Python's wrappers. While it is being
    constructed it is only a QWidget, and events sent to it then reach the Python event filter on
    the application (``workers.GuiTurns``), which wraps it as a QWidget; if that wrapper outlives
    the filter's call (a frame kept by a stack sampler, a traceback), the finished menu comes back
    as that QWidget ("'QWidget' object has no attribute 'addMenu'", 2 start-ups in ~10). With a
    filter that keeps what it is given, 50 of 50 ``addMenu``, ``addToolBar`` and ``statusBar``
    returns were QWidgets; a wrapper made by the constructor replaces any such one."""
    menu = QMenu(title, parent)
    parent.addMenu(menu)
    return menu


class WindowMenus:
    """Mixin of :class:`explorer.ui.main_window.MainWindow`: File, Models, View and Help menus, the
    tool bar with its Model box, and ``_on_models_changed`` that refills the model choices."""

    def _build_menus(self) -> None:
        # the bar and its menus made here, not by menuBar() and addMenu(title): see add_menu
        mb = self.menu_bar = QMenuBar(self)
        self.setMenuBar(mb)
        file = add_menu(mb, "&File")
        act = file.addAction("&Open data…", self.open_data_dialog)
        act.setShortcut(QKeySequence.StandardKey.Open)
        self.recent_menu = add_menu(file, "Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        samples = add_menu(file, "Open &sample")
        for name in self._sample_names():
            samples.addAction(name, lambda n=name: self.open_data(n))
        file.addSeparator()
        file.addAction("&Load model…", self.load_model_dialog)
        file.addSeparator()
        act = file.addAction("Open sess&ion…", lambda: self.sessions.open_session_dialog())
        act.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.save_session_action = file.addAction(
            "&Save session…", lambda: self.sessions.save_session_dialog()
        )
        self.save_session_action.setShortcut(QKeySequence.StandardKey.Save)
        file.addSeparator()
        self.export_view_action = file.addAction("&Export view as PNG…", self.export_view_dialog)
        self.export_view_action.setShortcut(QKeySequence("Ctrl+E"))
        self.save_codes_action = file.addAction("Save &codes (.npy, .parquet)…", self.save_codes_dialog)
        file.addSeparator()
        act = file.addAction("&Quit", self.close)
        act.setShortcut(QKeySequence.StandardKey.Quit)

        models = add_menu(mb, "&Models")
        act = models.addAction("&Train…", self.open_training_dialog)
        act.setShortcut(QKeySequence("Ctrl+T"))
        models.addAction("&Load model…", self.load_model_dialog)
        models.addSeparator()
        self.model_menu = add_menu(models, "&Current model")
        self.model_group = QActionGroup(self)
        self.model_group.setExclusive(True)
        self.remove_model_menu = add_menu(models, "&Remove model")
        models.addAction("Input &preprocessing…", self.preprocessing_dialog)

        self.view_menu = add_menu(mb, "&View")
        self.view_menu.aboutToShow.connect(self._fill_view_menu)

        help_menu = add_menu(mb, "&Help")
        help_menu.addAction("&About Relate Explorer", lambda: show_about(self))

    def _build_tool_bar(self) -> None:
        tb = QToolBar("Main")
        tb.setObjectName("mainToolBar")
        tb.setMovable(False)
        tb.setIconSize(QSize(16, 16))
        tb.addAction("Open data…", self.open_data_dialog)
        tb.addAction("Train…", self.open_training_dialog)
        tb.addSeparator()
        tb.addWidget(QLabel(" Model: "))
        self.model_box = QComboBox()
        self.model_box.setMinimumContentsLength(14)
        self.model_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.model_box.setToolTip("The model whose codes the views show")
        self.model_box.activated.connect(lambda i: self.set_current_model(self.model_box.itemText(i)))
        tb.addWidget(self.model_box)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)

    def _sample_names(self) -> list[str]:
        from explorer.data import available_samples

        return [f"sample:{k}" for k in available_samples(generated=True)]

    def _on_models_changed(self) -> None:
        ws = self.ctx.workspace
        names = list(ws.models)
        self.model_box.blockSignals(True)
        self.model_box.clear()
        self.model_box.addItems(names)
        usable = set(ws.models_for_dataset())
        for i, name in enumerate(names):
            if name not in usable:  # greyed: it takes images of another size
                # the item's flags through its data role, not model().item(i): that Python wrapper
                # stays alive with the model and points at freed memory after the next clear()
                # (a QAction allocated there later came back as a QStandardItem)
                self.model_box.setItemData(i, GREYED_FLAGS, ITEM_FLAGS_ROLE)
                self.model_box.setItemData(
                    i,
                    "This model takes images of another size than the open data set",
                    Qt.ItemDataRole.ToolTipRole,
                )
        if ws.current_model in names:
            self.model_box.setCurrentIndex(names.index(ws.current_model))
        self.model_box.setEnabled(bool(names))
        self.model_box.blockSignals(False)
        self.model_menu.clear()
        self.remove_model_menu.clear()
        for act in self.model_group.actions():
            self.model_group.removeAction(act)
        for name in names:
            act = self.model_menu.addAction(name, lambda n=name: self.set_current_model(n))
            act.setCheckable(True)
            act.setChecked(name == ws.current_model)
            act.setEnabled(name in usable)
            self.model_group.addAction(act)
            self.remove_model_menu.addAction(name, lambda n=name: ws.remove_model(n))
        self.model_menu.setEnabled(bool(names))
        self.remove_model_menu.setEnabled(bool(names))

    def _fill_view_menu(self) -> None:
        menu = self.view_menu
        menu.clear()
        for i in range(self.tabs.count()):
            act = menu.addAction(self.tabs.tabText(i), lambda i=i: self.tabs.setCurrentIndex(i))
            act.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
        if self.tabs.count() and self.docks:
            menu.addSeparator()
        for dock in self.docks.values():
            menu.addAction(dock.toggleViewAction())

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        items = self.settings.recent_data()
        for spec in items:
            self.recent_menu.addAction(spec, lambda s=spec: self.open_data(s))
        if not items:
            self.recent_menu.addAction("(none yet)").setEnabled(False)
