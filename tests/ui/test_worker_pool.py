"""TaskRunner jobs run on pooled threads: a job after another one ended reuses its thread (torch's
per-thread set-up, ~30 ms of CPU, is paid once), jobs at the same time get threads of their own."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from explorer.core.progress import Progress
from explorer.ui import workers
from explorer.ui.workers import TaskRunner


def _where(log, hold: threading.Event | None = None):
    def make():
        log.append(threading.get_ident())
        yield Progress(step=0, total=1)
        if hold is not None:
            hold.wait(5)
        return len(log)

    return make


def test_a_job_after_another_reuses_its_thread_and_concurrent_jobs_get_their_own(qtbot):
    log: list[int] = []
    a, b = TaskRunner(), TaskRunner()
    done = []
    for r in (a, b):
        r.done.connect(lambda tag, res: done.append(res))
    a.start(_where(log), tag=1)
    qtbot.waitUntil(lambda: len(done) == 1 and a.is_idle(), timeout=5000)
    a.start(_where(log), tag=2)
    qtbot.waitUntil(lambda: len(done) == 2 and a.is_idle(), timeout=5000)
    assert log[0] == log[1]  # the same pooled thread
    hold = threading.Event()
    a.start(_where(log, hold), tag=3)
    qtbot.waitUntil(lambda: len(log) == 3, timeout=5000)
    b.start(_where(log), tag=4)  # while the first is running
    qtbot.waitUntil(lambda: len(log) == 4, timeout=5000)
    hold.set()
    qtbot.waitUntil(lambda: len(done) == 4 and a.is_idle() and b.is_idle(), timeout=5000)
    assert log[2] != log[3]
    assert len(workers._idle) <= workers.MAX_IDLE_WORKERS


def test_shutdown_waits_for_a_pooled_job_and_it_is_no_longer_running(qtbot):
    hold = threading.Event()
    log: list[int] = []
    r = TaskRunner()
    r.start(_where(log, hold), tag=1)
    qtbot.waitUntil(lambda: len(log) == 1, timeout=5000)
    job = r._thread
    assert job.isRunning() and not job.wait(50)  # still held
    hold.set()
    assert r.shutdown(5000) and not job.isRunning()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice value is Linux's")
def test_jobs_run_nicer_than_the_gui_thread_and_threads_they_start_inherit_it(qtbot):
    def job():
        tid = threading.get_native_id()
        seen = {"job": os.getpriority(os.PRIO_PROCESS, tid)}
        child = threading.Thread(
            target=lambda: seen.__setitem__(
                "child", os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            )
        )
        child.start()
        child.join()
        yield Progress(step=0, total=1)
        return seen

    gui = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    r = TaskRunner()
    out = []
    r.done.connect(lambda tag, res: out.append(res))
    r.start(job, tag=1)
    qtbot.waitUntil(lambda: bool(out), timeout=5000)
    want = min(19, gui + workers.WORKER_NICE)
    assert out[0] == {"job": want, "child": want}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == gui  # the GUI thread's own
