"""The main window: views in tabs and docks, menus, drag-and-drop opening, a status line.

Sessions: File ▸ Save session… / Open session… (or dropping a ``.session`` file) write and read
:mod:`explorer.core.session` files; the window's :class:`explorer.ui.session_controller.SessionController`
restores them in phases and keeps the autosave (``autosave``) with its crash recovery.

Views come from ``explorer.ui.views.VIEW_MODULES``: "center" views become tabs, "left" and
"bottom" views docks (:mod:`explorer.ui.window_views`). The menus and tool bar are in
:mod:`explorer.ui.window_menus`, the file dialogs and drag-and-drop in :mod:`explorer.ui.window_actions`.
"""

from __future__ import annotations

import importlib
import os

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow, QStatusBar, QTabWidget, QWidget

from explorer.ui.context import AppContext
from explorer.ui.dialogs.messages import show_error
from explorer.ui.dialogs.open_data import OpenDataDialog
from explorer.ui.session_controller import SessionController
from explorer.ui.status_bar import JobIndicator, dataset_facts_text
from explorer.ui.view_loading import SHELL_VIEWS, import_views_job, load_view_modules
from explorer.ui.views import VIEW_MODULES
from explorer.ui.window_actions import MODEL_SUFFIXES, FileActions
from explorer.ui.window_menus import WindowMenus
from explorer.ui.window_views import ViewPlacement
from explorer.ui.workers import TaskRunner

__all__ = ["MODEL_SUFFIXES", "MainWindow", "OpenDataDialog", "dataset_facts_text", "load_view_modules"]


class MainWindow(ViewPlacement, WindowMenus, FileActions, QMainWindow):
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
        ctx.show_status = lambda message: self.status_bar.showMessage(message, 8000)
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
        self._view_queue: list = []  # view modules imported, their views not built yet (window_views)
        self._views_final = False
        self._view_turn_pending = False
        self._views_closed = False

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

    # ---- state ----------------------------------------------------------------------------
    def busy(self) -> bool:
        """True while the views are still being loaded (imported or built)."""
        return self._view_loader is not None or self.views_pending()

    def _build_status_bar(self) -> None:
        # made here, not by statusBar(): a start-up once got it as a QWidget ("'QWidget' object has
        # no attribute 'addWidget'"), the wrapper made while it was constructed (window_menus.add_menu)
        bar = self.status_bar = QStatusBar(self)
        self.setStatusBar(bar)
        self.facts_label = QLabel()
        self.facts_label.setObjectName("factsLabel")
        self.jobs = JobIndicator()
        bar.addWidget(self.facts_label, 1)
        bar.addPermanentWidget(self.jobs)

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

    def set_current_model(self, name: str) -> None:
        ws = self.ctx.workspace
        ws.set_current_model(name)

    def show_error(self, message: str) -> None:
        self.last_error = message
        self.status_bar.showMessage(message.splitlines()[0] if message else "", 10000)
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

    # ---- closing -----------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.sessions.close()  # a normal close: the next start offers no recovery
        self._views_closed, self._view_queue, self._views_final = True, [], False
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
