"""Start the app: one QApplication, pyqtgraph configured once, the main window shown at once.

Heavy work (importing torch, loading models, encoding) happens after the window is on screen, in
worker threads, with progress in the status bar.
"""

from __future__ import annotations

import os
import sys
import traceback

from PySide6.QtCore import QCoreApplication, QEvent, QTimer

# the QApplication and pyqtgraph set-up live in the leaf module ui/qt_setup.py, so the main window
# and its dialogs use them without importing this module (which imports the main window)
from explorer.ui.qt_setup import ensure_app


def build_context():
    """A fresh workspace, its Qt adapter and the shared services."""
    from explorer.ui.context import AppContext
    from explorer.ui.services import install_services

    return install_services(AppContext.standalone())


def create_main_window(
    data: str | None = None,
    models: list[str] | None = None,
    ctx=None,
    lazy_views: bool = True,
    autosave: bool = False,
    hold_gc: bool = False,
):
    """Build the main window and start loading ``data`` and ``models`` (defaults: the samples);
    the views other than the data browser load in the background (``lazy_views``). ``autosave``:
    keep the autosave session (only the interactive app does; snapshots and tests do not).
    ``hold_gc``: no cycle-collector passes until the views are ready, then the objects alive are
    frozen (``ui/startup_gc.py``; the app and its start-up bench row do, tests need not)."""
    from explorer.ui.main_window import MainWindow
    from explorer.ui.services import SAMPLE_DATA, default_model_specs

    from explorer.ui import startup_gc

    ctx = ctx if ctx is not None else build_context()
    win = MainWindow(ctx, lazy_views=lazy_views, autosave=autosave)
    if hold_gc and lazy_views and startup_gc.hold():  # no collector passes while the views import and build
        win.views_ready.connect(startup_gc.release)
        win.destroyed.connect(startup_gc.release)
        QTimer.singleShot(int(startup_gc.HOLD_MAX_S * 1000), startup_gc.release)
    data = data or SAMPLE_DATA
    specs = list(models) if models else default_model_specs()
    if "pixels" not in specs:
        specs.insert(0, "pixels")
    win.start_loading(data, specs)
    return win


def run_gui(data: str | None = None, models: list[str] | None = None) -> int:
    """Open the main window and run the event loop until it closes; returns the exit status."""
    app = ensure_app()
    autosave = not os.environ.get(NO_AUTOSAVE_ENV)
    win = create_main_window(data, models, autosave=autosave, hold_gc=True)
    previous_hook = install_excepthook(win)
    win.show()
    if win.recovery_available:  # the last run crashed: offer its autosave (non-blocking)
        QTimer.singleShot(0, win.offer_recovery)
    if os.environ.get("EXPLORER_EXIT_AFTER_SHOW"):  # startup timing: quit once the window is up

        def report_and_quit() -> None:
            age = _process_age_s()
            if age is not None:
                print(f"explorer: window shown {age:.2f} s after the process started", file=sys.stderr)
            app.quit()

        QTimer.singleShot(0, report_and_quit)
    status = app.exec()
    # a quit posted but not yet delivered would end the next event loop of this process at once
    # (a second window, a test's wait): drop it with the loop it was for
    QCoreApplication.removePostedEvents(None, QEvent.Type.Quit)
    from explorer.ui import startup_gc

    startup_gc.release()  # the event loop ended before the views were ready: the collector back on
    if win.isVisible():  # quit without closing (e.g. from the session manager): stop the workers
        win.close()
    sys.excepthook = previous_hook
    return status


NO_AUTOSAVE_ENV = "EXPLORER_NO_AUTOSAVE"  # set: no autosave and no crash-recovery prompt


def make_excepthook(win, stream=None):
    """An excepthook that prints the traceback to stderr and shows one line in ``win``.

    Qt calls slots from its event loop; an exception escaping one would otherwise only be printed,
    and the user would see nothing. KeyboardInterrupt and SystemExit keep Python's behaviour."""

    def hook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, (KeyboardInterrupt, SystemExit)):
            sys.__excepthook__(exc_type, exc, tb)
            return
        traceback.print_exception(exc_type, exc, tb, file=stream or sys.stderr)
        text = str(exc).strip().splitlines()
        line = f"Unexpected error: {exc_type.__name__}" + (f": {text[0]}" if text else "")
        try:
            win.show_error(line + " (details on the console; the app keeps running).")
        except Exception:  # the window is gone (e.g. during shutdown): the console has it
            pass

    return hook


def install_excepthook(win):
    """Route uncaught exceptions (e.g. in Qt slots) to ``win.show_error``; returns the old hook."""
    previous = sys.excepthook
    sys.excepthook = make_excepthook(win)
    return previous


def _process_age_s() -> float | None:
    """Seconds since this process started (Linux /proc), for start-up timing."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
