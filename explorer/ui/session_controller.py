"""Sessions of the main window: save and open ``.session`` files, the restore state machine, and
autosave with crash recovery.

Restoring runs in phases, each waiting for the app's loader: "data" (the data set opens in a
worker; ``data_loaded`` / ``data_failed`` for that spec ends the phase), "models" (the models the
workspace does not have yet load; ``models_idle`` ends it), then the codes, layouts, selection,
query and the shown tab go back into the workspace at once and ``restored(notes)`` fires. A bad
file, or data that fails to open, fires ``failed(message)`` and changes nothing.

With ``autosave`` the session is written to :func:`explorer.ui.services.autosave_file` every two
minutes when something changed, and once more on a normal close (``close``);
``recovery_available`` says whether the last run's autosave was left by a crash, and
:meth:`offer_recovery` asks whether to restore it.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFileDialog

from explorer.core import session as sessions
from explorer.core.errors import SessionError

SESSION_FILTER = "Sessions (*.session);;All files (*)"
AUTOSAVE_INTERVAL_MS = 120_000


class SessionController(QObject):
    """The sessions of ``window`` (a MainWindow: its ctx, loader, settings, tabs, data_spec,
    open_data and show_error)."""

    restored = Signal(list)  # notes of what a restored session left out
    failed = Signal(str)

    def __init__(self, window, autosave: bool = False) -> None:
        super().__init__(window)
        self.win = window
        self.ctx = window.ctx
        self.loader = window.loader
        self._session: dict | None = None  # a session being restored
        self._phase = ""  # "data", "models" or "" (none under way)
        self._dirty = False
        self.autosave_path: str | None = None
        self.recovery_available = False
        self._recovery_pending = False
        self.recovery_box = None

        self.loader.data_loaded.connect(self._on_data_loaded)
        self.loader.data_failed.connect(self._on_data_failed)
        self.loader.models_idle.connect(self._on_models_idle)
        q = self.ctx.qws
        for sig in (
            q.dataset_changed,
            q.models_changed,
            q.selection_changed,
            q.query_changed,
            q.codes_changed,
            q.layout_changed,
        ):
            sig.connect(self._mark_dirty)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_INTERVAL_MS)
        self.autosave_timer.timeout.connect(lambda: self.autosave_now())
        if autosave:
            from explorer.ui.services import autosave_file

            self.autosave_path = autosave_file()
            self.recovery_available = sessions.needs_recovery(self.autosave_path)
            self._recovery_pending = self.recovery_available  # keep that file until answered
            self.autosave_timer.start()

    # ---- saving ---------------------------------------------------------------------------
    def session_state(self) -> dict:
        """The session of the window: data spec, model specs, codes, layouts, selection, query."""
        ws = self.ctx.workspace
        specs, _ = self.model_specs()
        tabs = self.win.tabs
        settings = {"view": tabs.tabText(tabs.currentIndex()) if tabs.count() else ""}
        return sessions.state_from_workspace(ws, self.win.data_spec, specs, settings)

    def model_specs(self) -> tuple[dict[str, str], list[str]]:
        """name -> spec of every loaded model that can be reopened, and notes on those that cannot."""
        specs, notes = sessions.model_specs_from_workspace(self.ctx.workspace)
        known = self.loader.model_specs
        for name in self.ctx.workspace.models:
            if name not in specs and name in known:
                specs[name] = known[name]
        notes = [n for n in notes if n.split(" ", 1)[0] not in specs]
        return specs, notes

    def save_session(self, path: str) -> bool:
        """Write the session to ``path`` (atomically); a failure is shown, never raised."""
        try:
            sessions.save_session(path, self.session_state())
        except SessionError as err:
            self.win.show_error(str(err))
            return False
        _, notes = self.model_specs()
        self.ctx.show_status(" ".join([f"Session saved to {os.path.basename(path)}.", *notes]))
        return True

    def save_session_dialog(self) -> None:
        settings = self.win.settings
        start = settings.value("dialogs/session_dir", os.path.expanduser("~"))
        path, _ = QFileDialog.getSaveFileName(
            self.win, "Save session", os.path.join(str(start), "explorer.session"), SESSION_FILTER
        )
        if path:
            if not path.endswith(sessions.SESSION_EXT):
                path += sessions.SESSION_EXT
            settings.set_value("dialogs/session_dir", os.path.dirname(path))
            self.save_session(path)

    # ---- restoring ------------------------------------------------------------------------
    def open_session_dialog(self) -> None:
        settings = self.win.settings
        start = settings.value("dialogs/session_dir", os.path.expanduser("~"))
        path, _ = QFileDialog.getOpenFileName(self.win, "Open session", str(start), SESSION_FILTER)
        if path:
            settings.set_value("dialogs/session_dir", os.path.dirname(path))
            self.open_session(path)

    def open_session(self, path: str) -> bool:
        """Read a session file, then reopen its data (in a worker), its models, and put its codes,
        layouts, selection and query back. A bad file is shown and changes nothing; returns
        whether the restore started (``restored`` fires when it is done)."""
        try:
            state = sessions.load_session(path)
        except SessionError as err:
            self.win.show_error(str(err))
            self.failed.emit(str(err))
            return False
        files = sessions.named_files(state)
        if not files:  # only sample data, pixels, pca: nothing to show first
            self._start(path, state)
            return True
        from explorer.ui.dialogs.trust import ask_session

        self.session_box = ask_session(
            self.win,
            path,
            state.get("data") if state.get("data") in files else None,
            [(spec, _trust_note(spec)) for spec in state["models"].values() if spec in files],
            lambda ok: self._start(path, state) if ok else self._cancel(path),
        )
        return True

    def _cancel(self, path: str) -> None:
        message = f"Session {os.path.basename(path)} not opened."
        self.ctx.show_status(message)
        self.failed.emit(message)

    def _start(self, path: str, state: dict) -> None:
        """Open what the session names (program-format models only through the trust gate: the
        loader hands those back to the window's trust box)."""
        self._session = state
        self.ctx.show_status(f"Restoring session {os.path.basename(path)}…")
        if state.get("data"):
            self._phase = "data"
            self.win.open_data(state["data"])
        else:
            self._load_models()

    def _waiting_for(self, phase: str, spec: str | None = None) -> bool:
        if self._session is None or self._phase != phase:
            return False
        return spec is None or spec == self._session["data"]

    def _on_data_loaded(self, spec: str) -> None:
        if self._waiting_for("data", spec):
            self._load_models()

    def _on_data_failed(self, spec: str, message: str) -> None:
        if self._waiting_for("data", spec):
            self._session, self._phase = None, ""
            self.ctx.show_status(f"Session not restored: {message}")
            self.failed.emit(message)

    def _load_models(self) -> None:
        ws = self.ctx.workspace
        missing = {spec: name for name, spec in self._session["models"].items() if name not in ws.models}
        if missing:
            self._phase = "models"
            self.loader.load_models(list(missing), names=missing)
        else:
            self._finish()

    def _on_models_idle(self) -> None:
        if self._waiting_for("models"):
            self._finish()

    def _finish(self) -> None:
        state, self._session, self._phase = self._session, None, ""
        ws = self.ctx.workspace
        notes = [f"{name} was not reopened." for name in state["models"] if name not in ws.models]
        notes += sessions.restore_into_workspace(ws, state)
        view = (state.get("settings") or {}).get("view")
        tabs = self.win.tabs
        for i in range(tabs.count()):
            if view and tabs.tabText(i) == view:
                tabs.setCurrentIndex(i)
        self.ctx.show_status("Session restored." + (" " + " ".join(notes) if notes else ""))
        self.restored.emit(notes)

    # ---- autosave and crash recovery ------------------------------------------------------
    def _mark_dirty(self, *args) -> None:
        self._dirty = True

    def autosave_now(self, clean_exit: bool = False, force: bool = False) -> str | None:
        """Save the autosave session when something changed (or ``force``); returns its path."""
        if self.autosave_path is None or self._recovery_pending or (not self._dirty and not force):
            return None
        specs, _ = self.model_specs()
        try:
            sessions.autosave(
                self.ctx.workspace, self.win.data_spec, specs, clean_exit=clean_exit, path=self.autosave_path
            )
        except (SessionError, OSError) as err:
            self.win.status_bar.showMessage(f"Autosave failed: {err}", 10000)
            return None
        self._dirty = False
        return self.autosave_path

    def offer_recovery(self):
        """Ask (without blocking) whether to restore the autosave a crash left; returns the box."""
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Relate Explorer",
            "Relate Explorer did not close normally last time. Restore the session it saved automatically?",
            QMessageBox.StandardButton.NoButton,
            self.win,
        )
        box.setObjectName("recoveryBox")
        restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Discard", QMessageBox.ButtonRole.RejectRole)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(lambda b: self.answer_recovery(b is restore))
        self.recovery_box = box
        box.open()
        return box

    def answer_recovery(self, restore: bool) -> None:
        self._recovery_pending = False
        self.recovery_available = False
        if restore and self.autosave_path:
            self.open_session(self.autosave_path)
        self._dirty = True  # the next autosave replaces the crash's

    def close(self) -> None:
        """On a normal close: stop the timer and write the autosave marked clean (no recovery)."""
        self.autosave_timer.stop()
        if self.autosave_path is not None:
            self.autosave_now(clean_exit=True, force=True)


def _trust_note(spec: str) -> str:
    """What the session box says about a model file it will open."""
    from explorer.models import trust

    return f"{trust.kind_of(spec)}: asks before opening unless trusted" if trust.is_program(spec) else ""
