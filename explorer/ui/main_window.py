"""The main window: views in tabs and docks, menus, drag-and-drop opening, a status line.

Sessions: File ▸ Save session… / Open session… (or dropping a ``.session`` file) write and read
:mod:`explorer.core.session` files; the window's :class:`explorer.ui.session_controller.SessionController`
restores them in phases and keeps the autosave (``autosave``) with its crash recovery.

Views come from ``explorer.ui.views.VIEW_MODULES``: "center" views become tabs, "left" and
"bottom" views docks.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from types import ModuleType

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QScrollArea,
    QTabWidget,
    QToolBar,
    QWidget,
)

from explorer.core import session as sessions
from explorer.core.progress import Progress
from explorer.ui.context import AppContext
from explorer.ui.dialogs.messages import show_about, show_error
from explorer.ui.dialogs.open_data import OpenDataDialog, local_paths
from explorer.ui.session_controller import SessionController
from explorer.ui.status_bar import JobIndicator, dataset_facts_text
from explorer.ui.view_loading import (
    SHELL_VIEWS,
    import_views_job,
    load_view_modules,
    scrolling_page,
    view_key,
)
from explorer.ui.views import VIEW_MODULES
from explorer.ui.workers import TaskRunner

MODEL_SUFFIXES = (".safetensors", ".pt", ".pth", ".ckpt", ".ts", ".jit", ".pt2", ".onnx")


class MainWindow(QMainWindow):
    """The app's window. With ``lazy_views`` the views other than the data browser are imported
    in a worker after the window shows (``views_ready`` fires when they are in place).

    With ``autosave`` the session is saved to the autosave file periodically and on close, and
    ``recovery_available`` says whether the last run's autosave was left by a crash (the caller
    decides whether to :meth:`offer_recovery`; tests and snapshots never do)."""

    opened = Signal(str)  # a data set finished opening (its spec)
    views_ready = Signal()
    session_restored = Signal(list)  # notes of what a restored session left out
    session_failed = Signal(str)

    def __init__(
        self, ctx: AppContext, parent=None, lazy_views: bool = False, autosave: bool = False
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.data_spec: str | None = None  # what the open data set was opened from
        self.setWindowTitle("Relate Explorer")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.resize(1400, 880)
        self.last_error: str | None = None
        ctx.show_error = self.show_error
        ctx.show_status = lambda message: self.statusBar().showMessage(message, 8000)
        from explorer.ui.services import install_services

        install_services(ctx)
        self.loader = ctx.services["loader"]
        self.settings = ctx.services["settings"]
        self.views: dict[str, QWidget] = {}  # view key -> widget
        self.docks: dict[str, QDockWidget] = {}
        self._training_dialog = None
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setObjectName("viewTabs")
        self._view_loader: TaskRunner | None = None

        self._build_status_bar()
        self._build_menus()
        self._build_tool_bar()
        if lazy_views:
            self._add_views(
                [importlib.import_module(n) for n in SHELL_VIEWS if n in VIEW_MODULES], final=False
            )
            rest = [n for n in VIEW_MODULES if n not in SHELL_VIEWS]
            placeholder = QLabel("Loading views…")
            placeholder.setObjectName("placeholder")
            placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.setCentralWidget(placeholder)
            self._view_loader = TaskRunner(self)
            self._view_loader.partial.connect(self._on_views_partial)
            self._view_loader.done.connect(self._on_views_imported)
            self._view_loader.start(lambda: import_views_job(rest), tag="views")
        else:
            self._add_views(load_view_modules(), final=True)

        self.loader.data_loaded.connect(self._on_data_loaded)
        self.loader.trust_needed.connect(self.ask_trust)
        self.sessions = SessionController(self, autosave=autosave)
        self.sessions.restored.connect(self.session_restored)
        self.sessions.failed.connect(self.session_failed)
        for svc in (self.loader, ctx.services["codes"]):
            svc.job_progress.connect(self.jobs.update_job)
            svc.job_finished.connect(self.jobs.finish_job)
        ctx.qws.dataset_changed.connect(self._on_dataset_changed)
        ctx.qws.models_changed.connect(self._on_models_changed)
        ctx.qws.current_model_changed.connect(self._on_models_changed)
        self._on_dataset_changed()
        self._on_models_changed()

    # ---- building -------------------------------------------------------------------------
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
                widget = mod.View(self.ctx, None)
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
        self._add_views(self._not_created(rec.payload or ()), final=False)

    def _not_created(self, names) -> list[ModuleType]:
        return [
            sys.modules[n] for n in names if n in sys.modules and view_key(sys.modules[n]) not in self.views
        ]

    def _on_views_imported(self, tag, result) -> None:
        ok, failed = result
        self.jobs.finish_job("views")
        self._add_views(self._not_created(ok), final=True)
        for name, message in failed:
            self.show_error(f"The {name.rsplit('.', 1)[-1]} view could not be loaded ({message}).")
        self._view_loader = None
        self.views_ready.emit()

    def busy(self) -> bool:
        """True while the views are still being loaded."""
        return self._view_loader is not None

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.facts_label = QLabel()
        self.facts_label.setObjectName("factsLabel")
        self.jobs = JobIndicator()
        bar.addWidget(self.facts_label, 1)
        bar.addPermanentWidget(self.jobs)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        file = mb.addMenu("&File")
        act = file.addAction("&Open data…", self.open_data_dialog)
        act.setShortcut(QKeySequence.StandardKey.Open)
        self.recent_menu = file.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        samples = file.addMenu("Open &sample")
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

        models = mb.addMenu("&Models")
        act = models.addAction("&Train…", self.open_training_dialog)
        act.setShortcut(QKeySequence("Ctrl+T"))
        models.addAction("&Load model…", self.load_model_dialog)
        models.addSeparator()
        self.model_menu = models.addMenu("&Current model")
        self.model_group = QActionGroup(self)
        self.model_group.setExclusive(True)
        self.remove_model_menu = models.addMenu("&Remove model")
        models.addAction("Input &preprocessing…", self.preprocessing_dialog)

        self.view_menu = mb.addMenu("&View")
        self.view_menu.aboutToShow.connect(self._fill_view_menu)

        help_menu = mb.addMenu("&Help")
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

        return [f"sample:{k}" for k in available_samples()]

    # ---- actions ------------------------------------------------------------------------------
    def start_loading(self, data: str | None, models: list[str]) -> None:
        """Open ``data`` and load ``models`` once the event loop runs (the window shows first)."""

        def go() -> None:
            if data:
                self.open_data(data)
            if models:
                self.loader.load_models(models)

        QTimer.singleShot(0, go)

    def open_data(self, spec: str) -> None:
        self.loader.open_data(spec)

    def open_data_dialog(self) -> None:
        start = self.settings.value("dialogs/data_dir", os.path.expanduser("~"))
        dlg = OpenDataDialog(self, str(start))
        if dlg.exec():
            path = dlg.chosen()
            self.settings.set_value("dialogs/data_dir", os.path.dirname(os.path.normpath(path)))
            self.open_data(path)

    def load_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load model", "", "Models (*.safetensors *.pt *.pth *.ckpt *.pt2 *.onnx);;All files (*)"
        )
        if path:
            self.loader.load_models([path])

    def export_view_dialog(self) -> None:
        widget = self.tabs.currentWidget() if self.tabs.count() else None
        if isinstance(widget, QScrollArea):
            widget = widget.widget()
        if widget is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export view", "view.png", "PNG (*.png)")
        if path:
            from explorer.core.atomic import atomic_write

            pix = widget.grab()
            atomic_write(path, lambda tmp: pix.save(tmp, "PNG"))

    def save_codes_dialog(self) -> None:
        ws = self.ctx.workspace
        name = ws.current_model
        if name not in ws.codes:
            self.show_error("The current model has no codes yet; wait until encoding finishes.")
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Save codes", f"{name}.npy", "NumPy (*.npy);;Parquet table with paths (*.parquet)"
        )
        if path:
            from explorer.core.atomic import atomic_save_npy

            codes = ws.codes[name]
            if path.lower().endswith(".parquet"):  # one row per item: image_path, label, embedding, x/y
                from explorer.data.parquet import write_table

                layout = next((v for (m, _k), v in ws.layouts.items() if m == name), None)
                write_table(path, ws.dataset, codes, layout, model=name)
            else:
                atomic_save_npy(path, codes)  # exactly `path`, whatever its suffix

    def ask_trust(self, errors: list) -> None:
        """Ask about each program-format model file the loader would not open (UntrustedModelError
        objects); "Trust and open" loads it again with the hash the box showed."""
        from explorer.ui.dialogs.trust import ask_trust

        for err in errors:

            def answer(ok: bool, err=err) -> None:
                if ok:
                    self.loader.load_models([err.path], trust=err.sha256)
                else:
                    self.ctx.show_status(f"{os.path.basename(err.path)} was not opened.")

            self.trust_box = ask_trust(self, err.path, err.kind, err.sha256, answer)

    # ---- sessions (explorer.ui.session_controller does the work) ------------------------------
    def save_session(self, path: str) -> bool:
        return self.sessions.save_session(path)

    def open_session(self, path: str) -> bool:
        return self.sessions.open_session(path)

    def autosave_now(self, clean_exit: bool = False, force: bool = False) -> str | None:
        return self.sessions.autosave_now(clean_exit=clean_exit, force=force)

    def offer_recovery(self):
        return self.sessions.offer_recovery()

    @property
    def recovery_available(self) -> bool:
        return self.sessions.recovery_available

    @property
    def autosave_timer(self) -> QTimer:
        return self.sessions.autosave_timer

    def open_training_dialog(self):
        if self._training_dialog is None:
            from explorer.ui.dialogs.training import TrainingDialog

            self._training_dialog = TrainingDialog(self.ctx, self)
        self._training_dialog.show()
        if QApplication.platformName() != "offscreen":  # (offscreen warns it cannot raise)
            self._training_dialog.raise_()
            self._training_dialog.activateWindow()
        return self._training_dialog

    def preprocessing_dialog(self) -> None:
        """Choose how the current (external) model's input is made; remembered per model file."""
        from explorer.ui.dialogs.preprocessing import PreprocessingDialog

        ws = self.ctx.workspace
        name = ws.current_model
        enc = ws.models.get(name)
        source = getattr(enc, "source", "") if enc is not None else ""
        if (
            enc is None
            or getattr(enc, "input_shape", None) is None
            or not hasattr(enc, "preprocess")
            or not source
        ):
            self.show_error(
                "The current model takes its input as it is; preprocessing applies to "
                "ONNX, TorchScript and .pt2 models with a fixed input size."
            )
            return
        dialog = PreprocessingDialog(name, enc.input_shape, enc.preprocess, enc.preprocess_source, self)
        if dialog.exec() != PreprocessingDialog.DialogCode.Accepted:
            return
        from explorer.models.preprocessing import remember, set_spec

        set_spec(enc, dialog.spec(), "user")
        remember(source, enc.preprocess)
        codes = self.ctx.services.get("codes")
        if codes is not None:
            codes.request(name)  # its codes are made again with the new input

    def set_current_model(self, name: str) -> None:
        ws = self.ctx.workspace
        ws.set_current_model(name)

    def show_error(self, message: str) -> None:
        self.last_error = message
        self.statusBar().showMessage(message.splitlines()[0] if message else "", 10000)
        show_error(self, message)

    # ---- workspace -> window ----------------------------------------------------------------
    def _on_data_loaded(self, spec: str) -> None:
        self.data_spec = spec if spec.startswith("sample:") else os.path.abspath(spec)
        self.opened.emit(spec)

    def _on_dataset_changed(self) -> None:
        ds = self.ctx.workspace.dataset
        if ds is None:
            self.facts_label.setText("No data set open: File ▸ Open data… or drop a folder here")
            return
        self.setWindowTitle(f"{ds.name or 'data'} — Relate Explorer")
        self.facts_label.setText(dataset_facts_text(ds))
        self.facts_label.setToolTip("\n".join(ds.notes + ds.skipped[:20]))
        self._on_models_changed()  # which models can encode it, and the current one, changed

    def _on_models_changed(self) -> None:
        ws = self.ctx.workspace
        names = list(ws.models)
        self.model_box.blockSignals(True)
        self.model_box.clear()
        self.model_box.addItems(names)
        usable = set(ws.models_for_dataset())
        items = self.model_box.model()
        for i, name in enumerate(names):
            if name not in usable:  # greyed: it takes images of another size
                items.item(i).setEnabled(False)
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

    # ---- drag and drop ----------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    dragMoveEvent = dragEnterEvent

    def dropEvent(self, event) -> None:
        paths = local_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        path = paths[0]
        if path.lower().endswith(sessions.SESSION_EXT):
            self.open_session(path)
        elif path.lower().endswith(MODEL_SUFFIXES):
            self.loader.load_models(paths)
        else:
            self.open_data(path)

    # ---- closing -----------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.sessions.close()  # a normal close: the next start offers no recovery
        if self._view_loader is not None:
            self._view_loader.shutdown(30000)
        if self._training_dialog is not None:
            self._training_dialog.shutdown()
        for view in self.views.values():
            stop = getattr(view, "shutdown", None)
            if callable(stop):
                stop()
        from explorer.ui.services import shutdown_services

        shutdown_services(self.ctx)
        super().closeEvent(event)
