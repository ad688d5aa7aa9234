"""The GUI process's cycle collector (``ui/gui_gc.py``): never automatic (a collection run by an
allocation inside a Qt call deadlocked the GUI thread), run by a timer on the GUI thread by
CPython's generation rule, held while the app's views import and build, then the objects alive are
frozen (issue 13 item 3: full passes, 150-330 ms each with the GIL held, were part of the
start-up's longest stalls and found 10-40 objects of garbage)."""

from __future__ import annotations

import gc
import os
import pathlib
import subprocess
import sys
import threading
import time
import types
import weakref

import pytest

from explorer.ui import gui_gc

CHILD = pathlib.Path(__file__).with_name("gc_soak_child.py")


class Cycle:
    freed: list = []  # one entry per instance freed (list.append is atomic across threads)

    def __init__(self):
        self.me = self

    def __del__(self):
        Cycle.freed.append(None)


@pytest.fixture
def passes():
    """(generation, thread id) of every collection while the test runs."""
    seen = []

    def note(phase, info):
        if phase == "start":
            seen.append((info["generation"], threading.get_ident()))

    gc.callbacks.append(note)
    yield seen
    gc.callbacks.remove(note)


def test_automatic_collection_is_off_and_the_timer_collects_cycles_on_the_gui_thread(qtbot, passes):
    collector = gui_gc.installed()
    assert collector is not None and not gc.isenabled() and gui_gc.collecting()
    assert collector.timer.isActive() and collector.timer.interval() <= gui_gc.INTERVAL_MS
    gc.collect()
    refs = [weakref.ref(Cycle()) for _ in range(2 * gc.get_threshold()[0])]
    assert all(r() is not None for r in refs)  # garbage, but nothing collects it automatically
    assert collector.due() == 0
    qtbot.waitUntil(lambda: all(r() is None for r in refs), timeout=3000)
    assert passes and all(ident == threading.main_thread().ident for _, ident in passes)
    assert collector.due() == -1
    more = [[] for _ in range(2 * gc.get_threshold()[0])]
    assert collector.collect_due() == 0 and len(more)
    assert collector.timer.interval() == gui_gc.BUSY_INTERVAL_MS  # a pass was due: it looks often
    qtbot.waitUntil(lambda: collector.timer.interval() == gui_gc.INTERVAL_MS, timeout=3000)  # then backs off


def test_the_timer_takes_the_generation_cpythons_rule_takes(qtbot, monkeypatch):
    # only this test's job check: a job an earlier test left running must not defer the full pass
    monkeypatch.setattr(gui_gc, "_busy_checks", [])
    collector = gui_gc.installed()
    collector.timer.stop()
    try:
        t0, t1, t2 = gc.get_threshold()
        gc.collect()
        assert collector.due() == -1
        keep = [[] for _ in range(t0 + 1)]  # young objects past the threshold: a young pass
        assert collector.due() == 0 and collector.collect_due() == 0
        for _ in range(t1 + 1):
            gc.collect(0)  # each young pass counts towards the middle generation's
        keep += [[] for _ in range(t0 + 1)]
        assert collector.due() == 1
        gc.freeze()  # the oldest generation is empty now (and small in the app after start-up)
        collector.after_freeze()
        for _ in range(t2 + 1):
            gc.collect(1)  # each middle pass counts towards the oldest's
        for _ in range(t1 + 1):
            gc.collect(0)
        keep += [[] for _ in range(t0 + 1)]
        collector._full_size = len(gc.get_objects(2))  # as if a full pass had just run
        assert collector.due() == 1  # the oldest generation has not grown: a full pass waits
        grown = [[] for _ in range(collector._full_size // 3 + 100)]
        gc.collect(1)  # into the oldest generation: it grew by a third
        for _ in range(t1 + 1):
            gc.collect(0)
        keep += [[] for _ in range(t0 + 1)]
        busy = [True]
        gui_gc.defer_full_while(lambda: busy[0])  # a job runs: the full pass waits ...
        assert collector.due() == 1
        collector._full_waiting_since -= gui_gc.FULL_DEFER_MAX_S + 1  # ... at most FULL_DEFER_MAX_S
        assert collector.due() == 2
        collector._full_waiting_since = None
        assert collector.due() == 1
        busy[0] = False  # the jobs ended
        full = collector.passes[2]
        assert collector.due() == 2 and collector.collect_due() == 2 and collector.passes[2] == full + 1
        assert gc.get_count()[2] == 0 and len(grown) and len(keep)
    finally:
        gc.unfreeze()
        collector.timer.start()


def test_a_worker_making_garbage_while_the_gui_idles_stays_bounded(qtbot, passes):
    """Cycles made in a worker thread for a second while the GUI thread only waits are collected by
    the timer as they come (never in the worker), so the live ones stay within a few ticks' worth."""
    made = [0]
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            for _ in range(200):
                Cycle()
            made[0] += 200
            time.sleep(0.001)

    worker = threading.Thread(target=churn)
    gc.collect()
    base = len(Cycle.freed)
    worker.start()
    peaks = []
    try:
        for _ in range(10):
            qtbot.wait(100)
            peaks.append(made[0] - (len(Cycle.freed) - base))  # alive now
    finally:
        stop.set()
        worker.join()
    per_tick = made[0] / len(peaks)  # ~one tick of the timer a reading
    assert max(peaks) < 3 * per_tick  # what was made is gone within a few ticks, while the worker runs
    assert passes and all(ident == threading.main_thread().ident for _, ident in passes)


def test_garbage_menus_while_items_are_re_parented_do_not_deadlock():
    """The deadlock seen in the suite, made to happen: QMenu/QAction cycles pending while pyqtgraph
    items move between plots, with Python allocating inside Qt's disconnect. Under Python's automatic
    collector the same child hangs within a few rounds (``--automatic``); with gui_gc it finishes
    and the timer frees every menu."""
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(CHILD.parents[2]), os.environ.get("PYTHONPATH")])),
    )
    out = subprocess.run(
        [sys.executable, str(CHILD)], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert lines["rounds"] == "40 menus 120 by-timer 120", out.stdout
    assert lines["menus-left"] == "0"


def test_hold_and_release_stop_the_passes_then_freeze_and_collect_again(qtbot):
    collector = gui_gc.installed()
    frozen = gc.get_freeze_count()
    try:
        assert gui_gc.hold() and not gui_gc.collecting() and gui_gc.held()
        assert not gui_gc.hold()  # a second hold does nothing
        alive = [object() for _ in range(3)]  # noqa: F841 (tracked objects made while held)
        garbage = [[] for _ in range(2 * gc.get_threshold()[0])]  # noqa: F841
        assert collector.due() == -1 and collector.collect_due() == -1  # held: no pass
        gui_gc.release()
        assert gui_gc.collecting() and not gui_gc.held() and gc.get_freeze_count() > frozen
        assert not gc.isenabled()  # still the timer's, never automatic
        gui_gc.release()  # a second release does nothing
        assert gui_gc.collecting()
    finally:
        gui_gc.release()
        gc.unfreeze()


def test_without_the_timer_hold_turns_the_automatic_collector_off_and_release_back_on(qtbot):
    gui_gc.uninstall()
    try:
        assert gc.isenabled() and gui_gc.installed() is None
        assert gui_gc.hold() and not gc.isenabled() and not gui_gc.collecting()
        gui_gc.release()
        assert gc.isenabled() and gui_gc.collecting()
        gc.disable()  # someone else turned it off: hold leaves it to them
        assert not gui_gc.hold()
        gui_gc.release()
        assert not gc.isenabled()
    finally:
        gui_gc.release()
        gui_gc.install()
        gc.unfreeze()
    assert not gc.isenabled() and gui_gc.installed() is not None


def test_the_app_holds_the_collector_until_its_views_are_ready(qtbot):
    from explorer.ui.app import create_main_window

    gc.unfreeze()
    try:
        win = create_main_window(hold_gc=True)  # as run_gui opens it
        qtbot.addWidget(win)
        assert not gui_gc.collecting() and gui_gc.held()  # from the window's first turn
        passes = gc.get_stats()[2]["collections"]
        with qtbot.waitSignal(win.views_ready, timeout=120000):
            win.show()
        assert gui_gc.collecting() and not gui_gc.held() and not gc.isenabled()
        assert gc.get_stats()[2]["collections"] == passes  # no full pass while the views came
        assert gc.get_freeze_count() > 10000  # the imported modules' objects are frozen
        win.close()
    finally:
        gui_gc.release()
        gc.unfreeze()


def test_the_collector_is_back_on_when_the_app_quits_before_its_views_are_ready(qtbot, monkeypatch):
    from explorer.ui.app import run_gui

    monkeypatch.setenv("EXPLORER_EXIT_AFTER_SHOW", "1")  # quit on the first turn
    monkeypatch.setenv("EXPLORER_NO_AUTOSAVE", "1")
    gc.unfreeze()
    try:
        assert run_gui() == 0
        assert gui_gc.collecting() and not gui_gc.held()
    finally:
        gui_gc.release()
        gc.unfreeze()


def test_automatic_gives_pythons_own_collector_for_a_stretch_of_qt_free_work(qtbot):
    assert not gc.isenabled()
    with gui_gc.automatic():
        assert gc.isenabled()  # the bench's `explorer train` reference, as in a CLI process
    assert not gc.isenabled() and gui_gc.installed() is not None


def test_while_jobs_run_a_middle_pass_does_not_measure_the_oldest_generation(qtbot, monkeypatch):
    collector = gui_gc.installed()
    collector.timer.stop()
    monkeypatch.setattr(gui_gc, "_busy_checks", [lambda: True])  # a job runs
    collector._full_waiting_since = None
    calls = []
    real = gc.get_objects
    monkeypatch.setattr(gc, "get_objects", lambda *a: calls.append(a) or real(*a))
    try:
        t0, t1, t2 = gc.get_threshold()
        for _ in range(t2 + 1):
            gc.collect(1)  # the oldest generation's count past its threshold
        for _ in range(t1 + 1):
            gc.collect(0)
        keep = [[] for _ in range(2 * t0 + 1)]
        assert collector.due() == 1  # the full pass waits for the job ...
        assert calls == [] and len(keep)  # ... without listing the oldest generation's objects
    finally:
        collector._full_waiting_since = None
        collector.timer.start()


def _middle_pass_due():
    """Counts that make the next look a middle pass with the oldest generation past its threshold
    (returns what keeps the young objects alive)."""
    t0, t1, t2 = gc.get_threshold()
    for _ in range(t2 + 1):
        gc.collect(1)
    for _ in range(t1 + 1):
        gc.collect(0)
    return [[] for _ in range(2 * t0 + 1)]


def test_a_full_pass_due_in_a_later_job_waits_even_if_an_earlier_job_began_the_clock(qtbot, monkeypatch):
    """The wait for the jobs is timed from the jobs that run now: one begun by a job that ended
    minutes ago does not let a due full pass run (140 ms on the GUI thread) in the middle of the
    next training run."""
    collector = gui_gc.installed()
    collector.timer.stop()
    busy = [True]
    clock = [1000.0]
    monkeypatch.setattr(gui_gc, "_busy_checks", [lambda: busy[0]])
    monkeypatch.setattr(gui_gc, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    size = collector._full_size
    try:
        collector._full_waiting_since = None
        collector._full_size = 10**9  # the oldest generation has not grown: no full pass due
        keeps = []
        keeps.append(_middle_pass_due())
        assert collector.due() == 1  # a job runs: the clock starts
        busy[0] = False
        keeps.append(_middle_pass_due())
        assert collector.due() == 1  # the job ended, nothing due
        clock[0] += 10 * gui_gc.FULL_DEFER_MAX_S  # much later, another job
        busy[0] = True
        collector._full_size = 1  # now a full pass is due
        keeps.append(_middle_pass_due())
        assert collector.due() == 1 and keeps  # it waits for this job (was 2: it ran at once)
        clock[0] += gui_gc.FULL_DEFER_MAX_S + 1
        assert collector.due() == 2  # ... at most FULL_DEFER_MAX_S
    finally:
        collector._full_size = size
        collector._full_waiting_since = None
        collector.timer.start()


def test_after_the_wait_a_job_that_keeps_running_lists_the_oldest_generation_once_a_wait(qtbot, monkeypatch):
    collector = gui_gc.installed()
    collector.timer.stop()
    clock = [1000.0]
    monkeypatch.setattr(gui_gc, "_busy_checks", [lambda: True])
    monkeypatch.setattr(gui_gc, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    calls = []
    real = gc.get_objects
    size = collector._full_size
    try:
        collector._full_waiting_since = None
        collector._full_size = 10**9  # never grown enough
        keeps = []
        monkeypatch.setattr(gc, "get_objects", lambda *a: calls.append(a) or real(*a))
        keeps.append(_middle_pass_due())
        assert collector.due() == 1
        clock[0] += gui_gc.FULL_DEFER_MAX_S + 1
        for _ in range(5):  # five middle passes after the wait ran out
            keeps.append(_middle_pass_due())
            assert collector.due() == 1 and keeps
        assert len(calls) == 1  # measured once, then another wait (was 5: at every middle pass)
    finally:
        collector._full_size = size
        collector._full_waiting_since = None
        collector.timer.start()
