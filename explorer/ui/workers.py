"""Run core generators off the GUI thread and turn their progress records into signals.

A job is a generator (see ``explorer.core.progress``). :class:`TaskRunner` runs one job at a
time for one panel, in the manner of Orange's ``ConcurrentMixin``:

- starting a new job cancels the old one, and every signal carries the job's ``tag`` (the
  parameters that made it), so a late result for old parameters can be told apart and dropped;
- progress is rate-limited in the worker thread (at most one ``partial`` per ``min_interval``
  seconds, and always the last one), so a fast loop never floods the event loop;
- cancelling is honoured at the next ``yield``; :meth:`TaskRunner.shutdown` joins the thread;
- jobs run on pooled worker threads (an idle one is reused, at most ``MAX_IDLE_WORKERS`` wait
  ``IDLE_S`` for the next job): torch sets up each new thread on its first use (~30 ms of CPU,
  the first backward pass ~20 of it), which a new thread per job paid every time (a training run
  from the dialog, each encoding);
- a ``background`` runner's jobs (the views' metrics, evaluations, indexes, inspections: work no
  one waits for with the mouse) run one at a time in the whole app: at start-up five of them
  ran at once beside the codes and the first layout, each taking the GIL from the GUI thread,
  which then waited seconds between its own 100-300 ms of work. A waiting job holds no GIL and
  is cancelled like a running one.

- worker threads run nicer than the GUI thread (``WORKER_NICE``, Linux): a GUI thread woken by
  its timer or an event gets a core before the app's own training and layout threads;
- a job steps aside while the GUI thread is in a long event-loop turn (:class:`GuiTurns`): at
  its next ``yield`` it waits until the turn ends (at most ``PAUSE_S``), so a paint or a
  handler that has run ``LONG_TURN_S`` gets the cores and the GIL instead of sharing them with
  the app's own training, encoding and layouts (at a load of 2 on 2 cores, most of a stall
  during training was the GUI thread waiting for a core). Turns longer than ``MAX_TURN_S`` are
  not waited for: the GUI thread may be waiting for the job.

Results arrive on the GUI thread through queued signals: ``partial(tag, record)``,
``done(tag, result)``, ``failed(tag, message)``, ``cancelled(tag)``.
"""

from __future__ import annotations

import itertools
import os
import queue
import sys
import threading
import time
import traceback
from typing import Any, Callable, Iterator

from PySide6.QtCore import QAbstractEventDispatcher, QCoreApplication, QObject, QThread, Signal

from explorer.core.errors import ExplorerError
from explorer.ui import gui_gc


_LIVE: set = set()  # threads started and not yet ended, whatever happens to their runner
gui_gc.defer_full_while(lambda: bool(_LIVE))  # full collector passes wait for the jobs to end
_BACKGROUND = threading.Semaphore(1)  # background jobs run one at a time (see the module docstring)


MAX_IDLE_WORKERS = 4
IDLE_S = 60.0  # an idle worker thread waits this long for a job, then ends
_idle: list = []  # idle _Worker threads
_pool_lock = threading.Lock()
_worker_ids = itertools.count(1)


class _Worker(threading.Thread):
    """A pooled thread: runs the jobs handed to it one after another (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(name=f"explorer-worker-{next(_worker_ids)}", daemon=True)
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()

    def run(self) -> None:
        lower_thread_priority(WORKER_NICE)
        while True:
            try:
                job = self.jobs.get(timeout=IDLE_S)
            except queue.Empty:
                with _pool_lock:
                    if self in _idle:  # (else it was just handed a job: take it)
                        _idle.remove(self)
                        return
                continue
            job.run()
            del job
            with _pool_lock:
                if len(_idle) >= MAX_IDLE_WORKERS:
                    return
                _idle.append(self)


WORKER_NICE = 10  # worker threads run this much nicer than the GUI thread (Linux)


def lower_thread_priority(steps: int) -> None:
    """Make the calling thread ``steps`` nicer (Linux, where a nice value is a thread's own; the
    threads it starts, such as torch's OpenMP team, inherit it); elsewhere nothing. Within the
    process the scheduler then gives a waking GUI thread the core before a worker: traced during a
    training run, most of each long gap was the GUI thread waiting for a core the app's own training
    and layout threads held. Against other processes it changes little where the kernel weighs each
    session's processes as one group (sched_autogroup, on by default). A pooled thread stays nicer
    for its next jobs: only a privileged process may lower a nice value again."""
    if steps <= 0 or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + steps))
    except OSError:  # (not allowed here: the thread keeps its priority)
        pass


LONG_TURN_S = 0.012  # a GUI turn this long has jobs wait at their next yield ...
PAUSE_S = 0.05  # ... for at most this long (each yield)
MAX_TURN_S = 0.5  # a turn longer than this is not waited for (the GUI thread may wait for a job)


class GuiTurns(QObject):
    """When the GUI thread's current event-loop turn began, for jobs to step aside in long turns
    (see the module docstring): the first event it delivers (an event filter on the application)
    after its event dispatcher's ``aboutToBlock`` or ``awake`` begins a turn, the next of those
    signals ends it. (The glib dispatcher delivers an iteration's events between the two, the
    others after ``awake``: either way between two signals.) The filter takes itself off at that
    first event and goes back on between turns: on all events it was a Python call (and a take of
    the GIL) per event, ~5,000 in the first seconds after start-up, up to ~1,000 in one turn."""

    _installed: GuiTurns | None = None

    def __init__(self, app, dispatcher) -> None:
        super().__init__(dispatcher)
        self.began: float | None = None
        self.idle = threading.Event()  # set while the GUI thread is between turns
        self.idle.set()
        self.pauses = 0  # how often a job stepped aside (for tests)
        self.filtered = 0  # events the filter saw (for tests)
        self._app = app
        self._filtering = True
        dispatcher.aboutToBlock.connect(self._between_turns)
        dispatcher.awake.connect(self._between_turns)
        app.installEventFilter(self)

    @classmethod
    def install(cls) -> None:
        """Watch the GUI thread's event loop (once; call on the GUI thread)."""
        app = QCoreApplication.instance()
        if cls._installed is not None or app is None or QThread.currentThread() is not app.thread():
            return
        dispatcher = QAbstractEventDispatcher.instance(QThread.currentThread())
        if dispatcher is not None:
            cls._installed = cls(app, dispatcher)

    def eventFilter(self, obj, event) -> bool:
        self.filtered += 1
        if self.began is None:
            self.began = time.perf_counter()
            self.idle.clear()
        if self._filtering:  # the turn has begun: its other events go by without Python
            self._filtering = False
            self._app.removeEventFilter(self)
        return False

    def _between_turns(self) -> None:
        if self.began is not None:
            self.began = None
            self.idle.set()
        if not self._filtering:
            self._filtering = True
            self._app.installEventFilter(self)

    @classmethod
    def step_aside(cls) -> None:
        """In a worker: wait while the GUI thread is in a long turn (see the module docstring)."""
        turns = cls._installed
        began = turns.began if turns is not None else None
        if began is None:
            return
        age = time.perf_counter() - began
        if LONG_TURN_S <= age <= MAX_TURN_S and not turns.idle.is_set():
            turns.pauses += 1
            turns.idle.wait(PAUSE_S)


def _submit(job) -> None:
    """Run ``job.run()`` on an idle pooled thread, or on a new one."""
    with _pool_lock:
        worker = _idle.pop() if _idle else None
    if worker is None:
        worker = _Worker()
        worker.jobs.put(job)
        worker.start()
    else:
        worker.jobs.put(job)


class _JobThread(QObject):
    """One job on a pooled worker thread, with QThread's ``start``/``wait``/``isRunning``.

    Every signal carries the job itself, so the runner knows which job spoke without
    QObject.sender() (unreliable for queued signals in PySide6)."""

    partial = Signal(object, object, object)  # (thread, tag, record)
    done = Signal(object, object, object)  # (thread, tag, result)
    failed = Signal(object, object, str)  # (thread, tag, message)
    cancelled = Signal(object, object)  # (thread, tag)
    ended = Signal(object)  # (thread): the last thing run() does

    def __init__(
        self, make_job: Callable[[], Iterator], tag: Any, min_interval: float, background: bool = False
    ) -> None:
        super().__init__()
        self._make_job = make_job
        self.tag = tag
        self._min_interval = min_interval
        self._abort = False
        self._background = background
        self._started = False
        self._ended = threading.Event()

    def start(self) -> None:
        self._started = True
        _submit(self)

    def wait(self, timeout_ms: int | None = None) -> bool:
        """Block until the job has ended (or ``timeout_ms``); whether it has."""
        if not self._started:
            return True
        return self._ended.wait(None if timeout_ms is None else timeout_ms / 1000)

    def isRunning(self) -> bool:  # (QThread's name, for the callers that ask)
        return self._started and not self._ended.is_set()

    def abort(self) -> None:
        self._abort = True

    @property
    def aborted(self) -> bool:
        return self._abort

    def run(self) -> None:  # worker thread
        try:
            if not self._background:
                self._run()
                return
            while not _BACKGROUND.acquire(timeout=0.05):  # wait for the background slot
                if self._abort:
                    self.cancelled.emit(self, self.tag)
                    return
            try:
                self._run()
            finally:
                _BACKGROUND.release()
        finally:
            self._make_job = None  # the job's closure (its data) is not kept by an idle thread
            self._ended.set()
            self.ended.emit(self)

    def _run(self) -> None:
        gen = None
        try:
            gen = self._make_job()
            last_emit = 0.0
            pending = None
            while True:
                if self._abort:
                    gen.close()
                    self.cancelled.emit(self, self.tag)
                    return
                GuiTurns.step_aside()
                try:
                    record = next(gen)
                except StopIteration as stop:
                    if pending is not None:
                        self.partial.emit(self, self.tag, pending)
                    self.done.emit(self, self.tag, stop.value)
                    return
                now = time.perf_counter()
                if now - last_emit >= self._min_interval:
                    self.partial.emit(self, self.tag, record)
                    last_emit = now
                    pending = None
                else:
                    pending = record
        except ExplorerError as err:
            self.failed.emit(self, self.tag, str(err))
        except MemoryError:
            self.failed.emit(self, self.tag, "Out of memory: try a smaller data set or batch size.")
        except Exception as err:  # a bug: show it rather than lose the thread silently
            traceback.print_exc()
            self.failed.emit(self, self.tag, f"Unexpected error: {type(err).__name__}: {err}")


class TaskRunner(QObject):
    """One background job at a time; see the module docstring."""

    partial = Signal(object, object)  # (tag, Progress)
    done = Signal(object, object)  # (tag, result)
    failed = Signal(object, str)  # (tag, message)
    cancelled = Signal(object)  # (tag)
    running_changed = Signal(bool)

    def __init__(
        self, parent: QObject | None = None, min_interval: float = 0.05, background: bool = False
    ) -> None:
        super().__init__(parent)
        self.min_interval = min_interval
        self.background = background  # jobs wait for the app's one background slot
        GuiTurns.install()
        self._thread: _JobThread | None = None
        self._old: list[_JobThread] = []  # cancelled threads still finishing their step
        self.tag: Any = None

    def start(self, make_job: Callable[[], Iterator], tag: Any = None) -> None:
        """Cancel any running job and start ``make_job()`` (called in the worker thread)."""
        self.cancel()
        self.tag = tag
        thread = _JobThread(make_job, tag, self.min_interval, self.background)
        thread.partial.connect(self._on_partial)
        thread.done.connect(self._on_done)
        thread.failed.connect(self._on_failed)
        thread.cancelled.connect(self._on_cancelled)
        thread.ended.connect(self._on_ended)
        self._thread = thread
        _LIVE.add(thread)  # a thread must outlive its Python wrapper until it has ended
        thread.start()
        self.running_changed.emit(True)

    def is_running(self) -> bool:
        """True from :meth:`start` until the job's last signal has been delivered (or cancel)."""
        return self._thread is not None

    def cancel(self) -> None:
        """Ask the running job to stop at its next yield; its late signals are dropped."""
        if self._thread is not None:
            self._thread.abort()
            self._old.append(self._thread)
            self._thread = None
            self.running_changed.emit(False)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel and wait for every thread of this runner; True if all stopped in time."""
        for _ in range(10):  # a job that a running_changed(False) handler starts is cancelled too
            self.cancel()
            if self._thread is None:
                break
        ok = True
        for thread in self._old:
            ok = thread.wait(timeout_ms) and ok
        self._old = [t for t in self._old if t.isRunning()]
        return ok

    def is_idle(self) -> bool:
        """True when no thread of this runner (current or cancelled) is still alive."""
        return self._thread is None and not self._old

    # ---- signals from the worker (delivered on the GUI thread) ----------------------------
    def _is_current(self, thread: _JobThread) -> bool:
        return thread is self._thread and not thread.aborted

    def _on_partial(self, thread, tag, record) -> None:
        if self._is_current(thread):
            self.partial.emit(tag, record)

    def _on_done(self, thread, tag, result) -> None:
        if self._is_current(thread):
            self.done.emit(tag, result)

    def _on_failed(self, thread, tag, message) -> None:
        if self._is_current(thread):
            self.failed.emit(tag, message)

    def _on_cancelled(self, thread, tag) -> None:
        self.cancelled.emit(tag)

    def _on_ended(self, thread) -> None:
        thread.wait()  # run() is returning: this is immediate
        _LIVE.discard(thread)
        if thread is self._thread:
            self._thread = None
            self.running_changed.emit(False)
        if thread in self._old:
            self._old.remove(thread)
