"""Background jobs (the views' metrics, evaluations, indexes, inspections) run one at a time in
the whole app, beside the jobs a user waits for (issue 13 item 3: at start-up five ran at once and
the GUI thread waited seconds for the GIL between its own short handlers)."""

from __future__ import annotations

import threading
import time

from explorer.core.progress import Progress
from explorer.ui.workers import TaskRunner


def _job(log: list, name: str, seconds: float = 0.15):
    def make():
        log.append((name, "start", time.perf_counter(), threading.current_thread().name))
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            time.sleep(0.01)
            yield Progress(step=0, total=1)
        log.append((name, "end", time.perf_counter(), ""))
        return name

    return make


def _intervals(log):
    starts = {n: t for n, what, t, _ in log if what == "start"}
    ends = {n: t for n, what, t, _ in log if what == "end"}
    return {n: (starts[n], ends[n]) for n in starts if n in ends}


def test_background_jobs_take_turns_and_other_jobs_run_beside_them(qtbot):
    log: list = []
    runners = [TaskRunner(background=True) for _ in range(3)]
    plain = TaskRunner()
    done = []
    for r in [*runners, plain]:
        r.done.connect(lambda tag, res: done.append(res))
    for i, r in enumerate(runners):
        r.start(_job(log, f"bg{i}"), tag=i)
    plain.start(_job(log, "plain", 0.3), tag="p")
    qtbot.waitUntil(lambda: len(done) == 4, timeout=10000)
    spans = _intervals(log)
    bg = sorted(spans[f"bg{i}"] for i in range(3))
    assert all(a[1] <= b[0] for a, b in zip(bg, bg[1:]))  # one at a time
    p0, p1 = spans["plain"]
    assert p0 < bg[0][1]  # the plain job did not wait for them


def test_a_background_job_cancelled_while_it_waits_never_runs(qtbot):
    log: list = []
    first, second = TaskRunner(background=True), TaskRunner(background=True)
    cancelled = []
    second.cancelled.connect(cancelled.append)
    first.start(_job(log, "first", 0.4), tag=1)
    qtbot.waitUntil(lambda: any(n == "first" for n, *_ in log), timeout=5000)
    second.start(_job(log, "second"), tag=2)
    time.sleep(0.05)
    second.cancel()
    qtbot.waitUntil(lambda: second.is_idle() and first.is_idle(), timeout=5000)
    assert [n for n, what, *_ in log if what == "start"] == ["first"]
    # the slot is free again: a new background job runs
    done = []
    second.done.connect(lambda tag, res: done.append(res))
    second.start(_job(log, "third", 0.02), tag=3)
    qtbot.waitUntil(lambda: done == ["third"], timeout=5000)
