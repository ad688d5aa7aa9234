"""Start the app: one QApplication, pyqtgraph configured once, a splash screen at once while the
engines import on the GUI thread (:mod:`explorer.ui.splash`), then the main window with its views.

Imports holding the GIL for seconds must not run while the window answers the mouse (they froze its
event loop for 1-2.7 s at a time); loading the data and models and encoding happen after the window
is on screen, in worker threads, with progress in the status bar.
"""

from __future__ import annotations

import os
import sys
import time
import traceback

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QTimer

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
    frozen (``ui/gui_gc.py``; tests need not: :func:`open_main_window` holds it itself)."""
    from explorer.ui.main_window import MainWindow

    from explorer.ui import gui_gc

    ctx = ctx if ctx is not None else build_context()
    win = MainWindow(ctx, lazy_views=lazy_views, autosave=autosave)
    if hold_gc and lazy_views and gui_gc.hold():  # no collector passes while the views import and build
        win.views_ready.connect(gui_gc.release)
        win.destroyed.connect(gui_gc.release)
        QTimer.singleShot(int(gui_gc.HOLD_MAX_S * 1000), gui_gc.release)
    win.start_loading(*_startup_specs(data, models))
    return win


def _startup_specs(data: str | None, models: list[str] | None) -> tuple[str, list[str]]:
    """What the window opens first: ``data`` (default: the sample data) and ``models`` (default:
    the default models), with the pixels always among them."""
    from explorer.ui.services import SAMPLE_DATA, default_model_specs

    specs = list(models) if models else default_model_specs()
    if "pixels" not in specs:
        specs.insert(0, "pixels")
    return data or SAMPLE_DATA, specs


VIEWS_TIMEOUT_S = 120.0  # the window shows after this long even if a view never finishes building


def open_main_window(
    data: str | None = None,
    models: list[str] | None = None,
    autosave: bool = False,
    splash: bool = True,
    marks: dict | None = None,
):
    """The app's start-up, as ``explorer`` runs it: a splash screen at once, the engines imported
    on this (the GUI) thread stage by stage (:func:`explorer.ui.splash.preload`), then the main
    window made, its data and models starting to load in workers while its views are built one per
    event-loop turn, and the window shown once they are in. The cycle collector is off until the
    views are built (then what is alive is frozen: ``ui/gui_gc.py``). ``marks`` gets
    ``perf_counter`` times "splash", "imported", "views_ready", "shown", "opened" (the data set,
    once it has opened), and "stages" (message -> seconds). Returns the window."""
    from explorer.ui import splash as splash_mod
    from explorer.ui import gui_gc

    ensure_app()
    marks = marks if marks is not None else {}
    screen = None
    if splash:
        screen = splash_mod.Splash()
        screen.show()
        screen.show_stage("Starting…", 0, 1)
    marks["splash"] = time.perf_counter()
    held = gui_gc.hold()
    try:
        marks["stages"] = splash_mod.preload(screen.show_stage if screen is not None else None)
        marks["imported"] = time.perf_counter()
        if screen is not None:
            screen.show_stage("Opening the window…", 1, 1)
        win = create_main_window(data, models, autosave=autosave)
        win.opened.connect(lambda spec: marks.setdefault("opened", time.perf_counter()))
        loop = QEventLoop()
        win.views_ready.connect(loop.quit)
        timeout = QTimer(loop)
        timeout.setSingleShot(True)
        timeout.timeout.connect(loop.quit)
        timeout.start(int(VIEWS_TIMEOUT_S * 1000))
        if win.busy():
            loop.exec()
        timeout.stop()
        marks["views_ready"] = time.perf_counter()
    finally:
        if held:
            gui_gc.release()
    win.show()
    if screen is not None:
        screen.finish(win)
        screen.deleteLater()
    marks["shown"] = time.perf_counter()
    return win


def run_gui(data: str | None = None, models: list[str] | None = None) -> int:
    """Open the main window and run the event loop until it closes; returns the exit status."""
    app = ensure_app()
    autosave = not os.environ.get(NO_AUTOSAVE_ENV)
    win = open_main_window(data, models, autosave=autosave)
    previous_hook = install_excepthook(win)
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
    from explorer.ui import gui_gc

    gui_gc.release()  # the event loop ended before the views were ready: collect again
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
