"""Start-up behind a splash screen (issue 13 item 3): the engines are imported on the GUI thread
while the splash says which, and the main window shows only once its views are built, so no
import holding the GIL for seconds runs while the window answers the mouse."""

from __future__ import annotations

import gc
import sys

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from explorer.ui import splash as splash_mod
from explorer.ui import gui_gc


def test_preload_runs_every_stage_in_order_and_leaves_the_engines_and_views_imported():
    shown = []
    took = splash_mod.preload(lambda message, i, n: shown.append((message, i, n)))
    messages = [m for m, _, _ in shown]
    assert messages[0] == "Loading the plotting library…" and messages[1] == "Loading PyTorch…"
    assert "Loading scikit-learn…" in messages and "Loading the scatter plot view…" in messages
    n = len(shown)
    assert [i for _, i, _ in shown] == list(range(n)) and {k for _, _, k in shown} == {n}
    assert set(took) == set(messages) and all(t >= 0 for t in took.values())
    from explorer.ui.view_loading import SHELL_VIEWS
    from explorer.ui.views import VIEW_MODULES

    views = [n for n in VIEW_MODULES if n not in SHELL_VIEWS]  # (the shell's come with the window)
    for name in ["torch", "sklearn.metrics", "sklearn.neighbors", "explorer.jobs.scatter.index", *views]:
        assert name in sys.modules, name
    # numba's runtime is up and the scatter's start-up kernels are loaded (their first call on
    # the GUI thread, colouring the first scatter, had taken 340-540 ms of CPU with the GIL)
    from explorer.jobs.scatter import colours, grid

    if grid.numba is not None:
        assert colours._class_codes.signatures and grid._counting_sort.signatures


def test_the_splash_shows_the_icon_the_stage_and_a_progress_bar(qtbot):
    screen = splash_mod.Splash()
    qtbot.addWidget(screen)
    screen.show()
    screen.show_stage("Loading PyTorch…", 1, 4)
    assert screen.message() == "Loading PyTorch…"
    img = screen.grab().toImage()
    ratio = img.width() / splash_mod.SIZE[0]
    w, h = splash_mod.SIZE

    def px(x, y) -> QColor:
        return img.pixelColor(int(x * ratio), int(y * ratio))

    assert px(w * 0.2, h - 3) == QColor("#4e9af1")  # a quarter of the bar is done
    assert px(w * 0.5, h - 3) == QColor("#e8ebf0")
    icon = px(50, 160)  # the icon's dark rounded square
    assert icon.red() < 60 and icon.blue() > icon.red()
    assert not splash_mod.app_icon().isNull()


class _ShowSpy(QObject):
    """Records, when a main window first shows, which views it has and whether it is busy."""

    def __init__(self) -> None:
        super().__init__()
        self.at_show: list[tuple[set, bool]] = []

    def eventFilter(self, obj, event) -> bool:
        from explorer.ui.main_window import MainWindow

        if event.type() == QEvent.Type.Show and isinstance(obj, MainWindow) and not self.at_show:
            self.at_show.append((set(obj.views), obj.busy()))
        return False


def test_the_window_shows_after_the_imports_with_every_view_built(qtbot, monkeypatch):
    from explorer.ui.app import open_main_window
    from explorer.ui.view_loading import load_view_modules, view_key

    stages = []
    real = splash_mod.Splash.show_stage

    def spy(self, message, i=0, n=1):
        stages.append((message, gui_gc.collecting(), self.isVisible()))
        real(self, message, i, n)

    monkeypatch.setattr(splash_mod.Splash, "show_stage", spy)
    watcher = _ShowSpy()
    app = QApplication.instance()
    app.installEventFilter(watcher)
    marks: dict = {}
    gc.unfreeze()
    try:
        win = open_main_window(marks=marks)
        qtbot.addWidget(win)
    finally:
        app.removeEventFilter(watcher)
        gui_gc.release()
        gc.unfreeze()
    assert [m for m, _, _ in stages][:3] == ["Starting…", "Loading the plotting library…", "Loading PyTorch…"]
    assert stages[-1][0] == "Opening the window…"
    assert all(visible for _, _, visible in stages)  # the splash is up through every stage
    assert not any(enabled for _, enabled, _ in stages[1:])  # no collector passes while importing
    expected = {view_key(m) for m in load_view_modules()}
    assert watcher.at_show == [(expected, False)]  # shown once, with all its views, none pending
    assert marks["splash"] < marks["imported"] < marks["views_ready"] <= marks["shown"]
    assert win.isVisible() and gui_gc.collecting()
    win.close()
