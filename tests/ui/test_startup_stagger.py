"""Start-up work is spread over event-loop turns: the views are built one per turn, so the window
answers between them (issue 13 item 3: building them all in one handler held it 0.3-1.2 s)."""

from __future__ import annotations

from explorer.ui.context import AppContext
from explorer.ui.main_window import MainWindow
from explorer.ui.view_loading import load_view_modules


def test_lazy_views_are_built_one_per_event_loop_turn_and_views_ready_follows_the_last(qtbot):
    ctx = AppContext.standalone()
    win = MainWindow(ctx, lazy_views=True)
    qtbot.addWidget(win)
    built: list[list[str]] = []  # the views each call built
    add = win._add_views

    def spy(mods, final):
        before = set(win.views)
        add(mods, final)
        built.append(sorted(set(win.views) - before))

    win._add_views = spy
    from explorer.core.progress import Progress
    from explorer.ui.views import VIEW_MODULES

    load_view_modules()  # all imported: a rate-limited record can bring every module at once
    win._on_views_partial("views", Progress(step=1, total=2, payload=tuple(VIEW_MODULES)))
    assert set(win.views) == {"browser"}  # queued, not built in this handler
    win.show()
    with qtbot.waitSignal(win.views_ready, timeout=60000):
        pass
    assert all(len(b) <= 1 for b in built), built  # never two views in one handler
    expected = {m.__name__.rsplit(".", 1)[-1] for m in load_view_modules()}
    assert set(win.views) == expected and not win.busy()
    assert sum(len(b) for b in built) == len(expected) - 1  # all but the shell's browser
    win.close()


def test_the_views_job_imports_the_model_modules_off_the_gui_thread():
    """The relational view's first model load found the model modules not imported and imported
    them on the GUI thread (~0.2 s); the views' import job brings them in first."""
    import threading

    from explorer.models import base
    from explorer.ui.view_loading import import_views_job

    seen = []
    scan = base._scan_modules

    def spy():
        seen.append(threading.current_thread().name)
        scan()

    base._scanned = base._scan_done = False
    base._scan_modules = spy
    try:
        job = import_views_job([])
        try:
            while True:
                next(job)
        except StopIteration:
            pass
    finally:
        base._scan_modules = scan
        base._import_model_modules()
    assert seen and base._scan_done and "gae" in base.MODELS
