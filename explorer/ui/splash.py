"""The start-up splash screen and the imports it covers.

The app's engines (PyTorch, scikit-learn, numba, pyqtgraph) take 3-8 s of CPU to import, most of it
in their C initialisation with the GIL held. Imported in worker threads behind a window that already
answers the mouse, they froze its event loop for 1-2.7 s at a time (issue 13 item 3: the GUI
thread waits for the GIL, whatever it has to do). So :func:`preload` imports them on the GUI thread
first, one stage at a time, while a :class:`Splash` says which stage runs; the main window is shown
once they are in and its views are built, and then answers at once.
"""

from __future__ import annotations

import importlib
import os
import time
from typing import Callable, Iterator

from PySide6.QtCore import QEventLoop, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QSplashScreen

ICON_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "resources", "icon.png")
SIZE = (520, 260)  # the splash's size in device-independent pixels


def app_icon() -> QIcon:
    """The app's icon (resources/icon.png; an empty icon if the file is missing)."""
    return QIcon(ICON_PATH)


def _stage_modules() -> list[tuple[str, list[str]]]:
    """(message, modules) per stage, heaviest engines first: what the views and the start-up's
    worker jobs (codes, PCA layout, faithfulness, point index, verification metrics) import."""
    from explorer.ui.view_loading import SHELL_VIEWS
    from explorer.ui.views import VIEW_MODULES

    titles = {"scatter": "scatter plot", "retrieval": "retrieval", "verification": "verification"}
    views = [
        (f"Loading the {titles.get(n.rsplit('.', 1)[-1], n.rsplit('.', 1)[-1])} view…", [n])
        for n in VIEW_MODULES
        if n not in SHELL_VIEWS
    ]
    return [
        ("Loading PyTorch…", ["torch", "safetensors.torch"]),
        ("Loading scikit-learn…", ["sklearn.metrics", "sklearn.neighbors", "sklearn.decomposition"]),
        ("Loading numba…", ["explorer.jobs.scatter.index"]),
        ("Loading the models…", ["explorer.models.base"]),
        *views,
    ]


def warm_numba_kernels() -> None:
    """Call the scatter's numba kernels that start-up runs, on a few points with the start-up's
    dtypes: numba's first call in a process sets up its runtime and loads the kernel from its disk
    cache (340-540 ms of CPU with the GIL held, measured on the GUI thread when the first scatter
    was coloured); after this, a kernel's first call with a new signature costs ~8 ms."""
    import numpy as np

    from explorer.jobs.scatter.colours import point_colours
    from explorer.jobs.scatter.index import grid_for

    point_colours(np.array([0, 1, -1], np.int64), 2, None, np.zeros(3, bool))  # by class, no emphasis
    grid_for(np.array([[0.0, 0.0], [1.0, 2.0], [0.5, 1.0]], np.float32))  # the point index's grid


def preload_stages() -> Iterator[tuple[str, Callable[[], None]]]:
    """(message, step) pairs: run each step on the GUI thread, the splash showing its message."""
    from explorer.ui.qt_setup import configure_pyqtgraph

    yield "Loading the plotting library…", configure_pyqtgraph
    for message, names in _stage_modules():

        def step(names=names) -> None:
            for name in names:
                importlib.import_module(name)
            if "explorer.models.base" in names:  # the model modules (each view's first model load)
                from explorer.models.base import model_keys

                model_keys()
            if "explorer.jobs.scatter.index" in names:
                warm_numba_kernels()

        yield message, step


def preload(show: Callable[[str, int, int], None] | None = None) -> dict[str, float]:
    """Run :func:`preload_stages` here (the GUI thread); before each, ``show(message, i, n)``.
    Returns seconds per stage (message -> s). A stage that fails is left to fail where it is used
    (the view that needs it reports it)."""
    stages = list(preload_stages())
    took = {}
    for i, (message, step) in enumerate(stages):
        if show is not None:
            show(message, i, len(stages))
        t = time.perf_counter()
        try:
            step()
        except Exception:  # e.g. a missing optional engine: the view that needs it says so
            pass
        took[message] = time.perf_counter() - t
    return took


class Splash(QSplashScreen):
    """The app's icon and name with one line saying what loads and a thin progress bar.
    :meth:`show_stage` paints at once (the next stage then runs with the event loop blocked)."""

    def __init__(self) -> None:
        ratio = QGuiApplication.primaryScreen().devicePixelRatio() if QGuiApplication.primaryScreen() else 1.0
        pix = QPixmap(int(SIZE[0] * ratio), int(SIZE[1] * ratio))
        pix.setDevicePixelRatio(ratio)
        pix.fill(QColor("#ffffff"))
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.setPen(QColor("#d0d4dc"))
        p.drawRect(QRectF(0.5, 0.5, SIZE[0] - 1, SIZE[1] - 1))
        icon = QPixmap(ICON_PATH)
        if not icon.isNull():
            p.drawPixmap(QRectF(36, 52, 120, 120), icon, QRectF(icon.rect()))
        title = QFont(QApplication.font())
        title.setPointSizeF(title.pointSizeF() * 2.2)
        title.setBold(True)
        p.setFont(title)
        p.setPen(QColor("#1f2a44"))
        p.drawText(
            QRectF(180, 70, 320, 50),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            "Relate Explorer",
        )
        sub = QFont(QApplication.font())
        sub.setPointSizeF(sub.pointSizeF() * 1.05)
        p.setFont(sub)
        p.setPen(QColor("#5b6478"))
        p.drawText(
            QRectF(180, 118, 320, 44),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap,
            "Look inside your image encoders: codes, neighbours, pairs and analogies.",
        )
        p.end()
        super().__init__(pix)
        self.setWindowIcon(app_icon())
        self._fraction = 0.0

    def show_stage(self, message: str, i: int = 0, n: int = 1) -> None:
        """Show ``message`` with the bar at ``i / n`` and paint it now."""
        self._fraction = max(0.0, min(1.0, i / n if n else 0.0))
        self.showMessage(
            message, Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft, QColor("#333333")
        )
        self.repaint()
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)

    def drawContents(self, painter: QPainter) -> None:
        w, h = SIZE
        painter.fillRect(QRectF(0, h - 6, w, 6), QColor("#e8ebf0"))
        painter.fillRect(QRectF(0, h - 6, w * self._fraction, 6), QColor("#4e9af1"))
        painter.setPen(QColor("#333333"))
        painter.drawText(
            QRectF(20, h - 44, w - 40, 30),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            self.message(),
        )
