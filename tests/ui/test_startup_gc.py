"""The cycle collector is off while the app's views import and build, and the objects alive then
are frozen (issue 13 item 3: five full collector passes in worker threads, 150-330 ms each with the
GIL held, were part of the start-up's longest stalls; they found 10-40 objects of garbage)."""

from __future__ import annotations

import gc

from explorer.ui import startup_gc


def test_hold_and_release_turn_the_collector_off_then_freeze_and_turn_it_on():
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        assert startup_gc.hold() and not gc.isenabled() and startup_gc.held()
        assert not startup_gc.hold()  # a second hold does nothing
        alive = [object() for _ in range(3)]  # noqa: F841 (tracked objects made while held)
        startup_gc.release()
        assert gc.isenabled() and not startup_gc.held() and gc.get_freeze_count() > frozen
        startup_gc.release()  # a second release does nothing
        assert gc.isenabled()
        gc.disable()  # someone else turned it off: hold leaves it to them
        assert not startup_gc.hold()
        startup_gc.release()
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


def test_the_app_holds_the_collector_until_its_views_are_ready(qtbot):
    assert gc.isenabled()

    from explorer.ui.app import create_main_window

    gc.unfreeze()
    try:
        win = create_main_window(hold_gc=True)  # as run_gui opens it
        qtbot.addWidget(win)
        assert not gc.isenabled() and startup_gc.held()  # from the window's first turn
        passes = gc.get_stats()[2]["collections"]
        with qtbot.waitSignal(win.views_ready, timeout=120000):
            win.show()
        assert gc.isenabled() and not startup_gc.held()
        assert gc.get_stats()[2]["collections"] == passes  # no full pass while the views came
        assert gc.get_freeze_count() > 10000  # the imported modules' objects are frozen
        win.close()
    finally:
        startup_gc.release()
        gc.enable()
        gc.unfreeze()


def test_the_collector_is_back_on_when_the_app_quits_before_its_views_are_ready(qtbot, monkeypatch):
    from explorer.ui.app import run_gui

    monkeypatch.setenv("EXPLORER_EXIT_AFTER_SHOW", "1")  # quit on the first turn
    monkeypatch.setenv("EXPLORER_NO_AUTOSAVE", "1")
    gc.unfreeze()
    try:
        assert run_gui() == 0
        assert gc.isenabled() and not startup_gc.held()
    finally:
        startup_gc.release()
        gc.enable()
        gc.unfreeze()
