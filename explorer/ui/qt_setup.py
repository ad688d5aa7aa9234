"""Qt set-up shared by the app, its windows and dialogs, and the bench: the QApplication, pyqtgraph's
global options, the GIL switch interval and the GUI thread's cycle collector (``ui/gui_gc.py``). A
leaf module: it imports no other part of the app but gui_gc and axis_labels (themselves leaves).
"""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

APP_NAME = "Relate Explorer"
ORG_NAME = "relate-explorer"

_pg_configured = False


def configure_pyqtgraph() -> None:
    """Global pyqtgraph options; must run before any view creates a plot (done once).

    The main window calls it before it creates views; at start-up that happens in the worker that
    imports the views, so importing pyqtgraph (about a second) does not delay the window."""
    global _pg_configured
    if _pg_configured:
        return
    import pyqtgraph as pg

    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="w", foreground="#333333")
    from explorer.ui import axis_labels

    axis_labels.install()  # axis labels re-laid out only when their text changes
    _pg_configured = True


GUI_SWITCH_INTERVAL = 0.001  # seconds


def keep_gui_responsive() -> None:
    """Let the GUI thread take the GIL back from busy workers within 1 ms instead of Python's 5.

    pyqtgraph paints through Python methods; each needs the GIL, and with a training loop in a
    worker thread every such call used to wait up to a full switch interval (5 ms), which added up
    to 100 ms stalls per frame. Measured: the worst event-loop stall drops, throughput is unchanged.
    """
    if sys.getswitchinterval() > GUI_SWITCH_INTERVAL:
        sys.setswitchinterval(GUI_SWITCH_INTERVAL)


def ensure_app(argv: list[str] | None = None) -> QApplication:
    """The process's QApplication (created with the app's names and style on first call)."""
    app = QApplication.instance()
    if app is None:
        QCoreApplication.setOrganizationName(ORG_NAME)
        QCoreApplication.setApplicationName(APP_NAME)
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
        app.setStyle("Fusion")
        app.setStyleSheet(load_style_sheet())
        from PySide6.QtGui import QIcon

        app.setWindowIcon(QIcon(os.path.join(RESOURCES, "icon.png")))
    keep_gui_responsive()
    from explorer.ui import gui_gc

    gui_gc.install()  # cycles collected between events on this thread, never inside a Qt call
    return app


RESOURCES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "resources")


def load_style_sheet() -> str:
    path = os.path.join(RESOURCES, "style.qss")
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""
