"""The GUI children of the collection bench rows (explorer.bench.collection_rows): the app opening
a photo folder (time to the first screen of thumbnails, peak memory, screenshots), reopening it to
the scatter, and the plain pyqtgraph reference. Each runs in its own process and returns a dict.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import numpy as np

from explorer.bench.collection_common import FIRST_SCREEN, _peak_mb, _since_start


def first_thumbnails(folder: str, watch_s: float, shots: str, models=("pixels", "pca")) -> dict:
    from PySide6.QtCore import QTimer

    from explorer.ui.app import create_main_window, ensure_app
    from explorer.ui.snapshot import save_png

    t0 = time.time() - _since_start()
    os.makedirs(shots, exist_ok=True)
    app = ensure_app()
    win = create_main_window(data=folder, models=list(models))
    win.resize(1400, 900)
    win.show()
    marks: dict = {}

    def poll() -> None:
        now = time.time() - t0
        ds = win.ctx.workspace.dataset
        if ds is not None and "opened" not in marks:
            marks["opened"] = now
        if (
            ds is not None
            and ds.file_backed
            and "thumbs" not in marks
            and ds.source.ready()[:FIRST_SCREEN].all()
        ):
            marks["thumbs"] = now
            QTimer.singleShot(200, lambda: save_png(win, os.path.join(shots, "first-thumbnails.png")))
        for k in (5, 30):
            if now > k and f"shot{k}" not in marks:
                marks[f"shot{k}"] = now
                save_png(win, os.path.join(shots, f"after-{k}s.png"))
        if now > watch_s:
            marks["peak_mb"] = _peak_mb()
            if ds is not None and ds.file_backed:
                marks["thumbs_done"] = int(ds.source.ready().sum())
            app.quit()

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(20)
    app.exec()
    return marks


def reopen(folder: str, limit_s: float) -> dict:
    from PySide6.QtCore import QTimer

    from explorer.ui.app import create_main_window, ensure_app

    t0 = time.time() - _since_start()
    app = ensure_app()
    win = create_main_window(data=folder, models=["pixels", "pca"])
    win.resize(1400, 900)
    win.show()
    marks: dict = {}

    def poll() -> None:
        now = time.time() - t0
        view = next((v for v in win.views.values() if hasattr(v, "sides")), None)
        side = view.sides[0] if view is not None else None
        if (
            side is not None
            and side.layout is not None
            and side.model == "pca"
            and side.shown_tag is not None
            and side.shown_tag[0] != "live"
            and not side.runner.is_running()
        ):
            marks["scatter"] = now
            path = os.path.join(tempfile.gettempdir(), "explorer-bench-reopen-layout.npy")
            np.save(path, np.asarray(side.layout, np.float32))
            marks["layout_file"] = path
            app.quit()
        elif now > limit_s:
            app.quit()

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(20)
    app.exec()
    marks["peak_mb"] = _peak_mb()
    return marks


def scatter_reference(layout_file: str) -> dict:
    import pyqtgraph as pg
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    t0 = time.time() - _since_start()
    app = QApplication(sys.argv[:1])
    xy = np.load(layout_file)
    w = pg.PlotWidget()
    w.resize(1000, 800)
    w.addItem(
        pg.ScatterPlotItem(xy[:, 0], xy[:, 1], pxMode=True, size=3, pen=None, brush=(30, 100, 200, 120))
    )
    w.show()
    marks: dict = {}
    QTimer.singleShot(0, lambda: (marks.__setitem__("seconds", time.time() - t0), app.quit()))
    app.exec()
    return marks
