import time

import pytest

from explorer.core.errors import DataError
from explorer.core.progress import Progress
from explorer.ui.workers import TaskRunner


def counting_job(n, delay=0.0, result="finished"):
    def job():
        for i in range(n):
            if delay:
                time.sleep(delay)
            yield Progress(step=i + 1, total=n, message="counting")
        return result

    return job


@pytest.fixture
def runner(qtbot):
    r = TaskRunner(min_interval=0.0)
    yield r
    assert r.shutdown(5000)


def test_signals_arrive_in_strict_order(qtbot, runner):
    log = []
    runner.running_changed.connect(lambda running: log.append(("running", running)))
    runner.partial.connect(lambda tag, rec: log.append(("partial", tag, rec.step)))
    runner.done.connect(lambda tag, res: log.append(("done", tag, res)))
    signals = [
        runner.running_changed,
        runner.partial,
        runner.partial,
        runner.partial,
        runner.done,
        runner.running_changed,
    ]
    with qtbot.waitSignals(signals, order="strict", timeout=5000):
        runner.start(counting_job(3, delay=0.01), tag="t1")
    assert log == [
        ("running", True),
        ("partial", "t1", 1),
        ("partial", "t1", 2),
        ("partial", "t1", 3),
        ("done", "t1", "finished"),
        ("running", False),
    ]
    assert not runner.is_running() and runner.is_idle()


def test_cancel_drops_late_results(qtbot, runner):
    seen = []
    runner.partial.connect(lambda tag, rec: seen.append(("partial", tag, rec.step)))
    runner.done.connect(lambda tag, res: seen.append(("done", tag)))
    with qtbot.waitSignal(runner.partial, timeout=5000):
        runner.start(counting_job(10_000, delay=0.002), tag="old")
    with qtbot.waitSignal(runner.cancelled, timeout=5000) as blocker:
        runner.cancel()
        n_at_cancel = len(seen)
    assert blocker.args == ["old"]
    qtbot.wait(50)
    assert len(seen) == n_at_cancel  # nothing from the cancelled job after cancel()
    assert ("done", "old") not in seen


def test_a_new_job_cancels_the_old_one(qtbot, runner):
    done = []
    runner.done.connect(lambda tag, res: done.append((tag, res)))
    runner.start(counting_job(10_000, delay=0.002, result="A"), tag="A")
    with qtbot.waitSignal(runner.done, timeout=5000):
        runner.start(counting_job(3, result="B"), tag="B")
    qtbot.wait(50)
    assert done == [("B", "B")]


def test_shutdown_joins_the_threads(qtbot):
    r = TaskRunner()
    r.start(counting_job(100_000, delay=0.001), tag="slow")
    qtbot.wait(20)
    threads = [r._thread]
    assert threads[0].isRunning()
    t0 = time.perf_counter()
    assert r.shutdown(5000)
    assert time.perf_counter() - t0 < 1.0  # stopped at the next yield
    assert not threads[0].isRunning() and not r.is_running()


def test_user_errors_arrive_as_failed(qtbot, runner):
    def job():
        yield Progress(step=1, total=2)
        raise DataError("The file is not an image.")

    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.start(job, tag="bad")
    assert blocker.args == ["bad", "The file is not an image."]


def test_progress_is_rate_limited_and_keeps_the_last_record(qtbot):
    r = TaskRunner(min_interval=0.05)
    steps = []
    r.partial.connect(lambda tag, rec: steps.append(rec.step))
    with qtbot.waitSignal(r.done, timeout=5000):
        r.start(counting_job(20_000), tag="fast")
    assert 1 <= len(steps) < 200 and steps[-1] == 20_000
    assert steps == sorted(steps)
    r.shutdown()


def test_the_turn_watcher_sees_one_event_a_turn_not_every_event(qtbot, runner):
    """GuiTurns' filter is a Python call per event it sees: it sees a turn's first event (the
    turn's start) and not the 500 posted events delivered in the same turn."""
    from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer

    from explorer.ui.workers import GuiTurns

    class Sink(QObject):
        def __init__(self):
            super().__init__()
            self.seen = 0

        def event(self, e):
            if e.type() == QEvent.Type.User:
                self.seen += 1
                return True
            return super().event(e)

    sink = Sink()
    turns = GuiTurns._installed
    marks = {}

    def post_many():  # one handler posts 500 events: the next turn delivers them all
        marks["before"] = turns.filtered
        for _ in range(500):
            QCoreApplication.postEvent(sink, QEvent(QEvent.Type.User))

    QTimer.singleShot(0, post_many)
    qtbot.waitUntil(lambda: sink.seen == 500, timeout=5000)
    assert turns.filtered - marks["before"] < 20  # (500 before: one call per event)
    assert turns.began is None or time.perf_counter() - turns.began < 1.0


def test_a_job_steps_aside_while_the_gui_thread_is_in_a_long_turn(qtbot, runner):
    """A worker's job waits at its yields while one GUI-thread handler runs long (the handler
    gets the cores and the GIL), and goes on when the turn ends; short turns do not stop it."""
    from PySide6.QtCore import QTimer

    from explorer.ui.workers import LONG_TURN_S, GuiTurns

    stamps = []

    def job():
        while True:
            time.sleep(0.001)
            stamps.append(time.perf_counter())
            yield Progress(step=len(stamps), total=0)

    runner.start(job, tag="steps")
    qtbot.waitUntil(lambda: len(stamps) > 20, timeout=5000)
    turn = {}

    def long_handler():  # 150 ms of GUI-thread work in one event-loop turn
        turn["begin"] = time.perf_counter()
        while time.perf_counter() - turn["begin"] < 0.15:
            pass
        turn["end"] = time.perf_counter()

    pauses = GuiTurns._installed.pauses
    QTimer.singleShot(0, long_handler)
    qtbot.waitUntil(lambda: "end" in turn and stamps[-1] > turn["end"] + 0.02, timeout=5000)
    inside = [t for t in stamps if turn["begin"] + LONG_TURN_S + 0.005 < t < turn["end"]]
    after = [t for t in stamps if turn["end"] < t < turn["end"] + 0.02]
    assert len(inside) <= 5  # (each wait is at most PAUSE_S; ~130 steps without stepping aside)
    assert len(after) >= 3 and GuiTurns._installed.pauses > pauses
    runner.cancel()


def test_shutdown_also_stops_a_job_that_its_own_cancel_started(qtbot):
    """A handler of running_changed(False) that starts the next job (a queue: the load service's)
    runs inside shutdown's cancel; that job is cancelled and waited for too, not left running."""
    import threading

    from explorer.core.progress import Progress

    hold = threading.Event()

    def held():
        while not hold.is_set():
            time.sleep(0.01)
            yield Progress(message="held")

    r = TaskRunner(min_interval=0.0)
    queue = [held]
    r.running_changed.connect(lambda running: (not running and queue) and r.start(queue.pop(), tag="next"))
    r.start(held, tag="first")
    try:
        ok = r.shutdown(5000)
        assert queue == [] and ok  # the queued job started in the cancel ...
        assert r.is_idle() and not r.is_running()  # ... and was stopped with the first (was: running)
    finally:
        hold.set()
