"""Python's cycle collector in a GUI process: never automatic, run by a timer on the GUI thread
between events, and held while the app starts.

**Why not automatic.** CPython starts a collection at whatever allocation pushes the young
generation past its threshold: inside any Qt call, on any thread. A collection frees garbage PySide
wrappers; a wrapper of a QMenu with QActions deletes them, and ``~QObject`` locks Qt's signal-slot
mutexes. When the allocation comes from PySide code that Qt runs with such a mutex held (pyqtgraph
re-parents an item: ``QObject::disconnect`` -> ``disconnectNotify`` -> ``Sbk_GetPyOverride``
allocates), the GUI thread waits for itself forever (seen once in the test suite;
tests/ui/test_gui_gc.py makes it happen every time). A collection in a worker thread would destroy
GUI objects off the GUI thread. So :func:`install` (``qt_setup.ensure_app`` calls it) turns the
automatic collector off, and a QTimer on the GUI thread collects every ``INTERVAL_MS`` when
``gc.get_count()`` has passed ``gc.get_threshold()``, generation by generation by CPython's own rule
(as ``pyqtgraph.util.garbage_collector.GarbageCollector`` does, plus CPython's rule that the oldest
generation waits until it has grown by a quarter since its last pass). The timer runs while the app
is idle, so garbage made by workers is collected then too. While the GUI thread is blocked nothing
is collected; the first tick after it catches up in one young pass (all that was allocated since).

**Short passes.** The timer looks every ``BUSY_INTERVAL_MS`` while passes keep coming due (a
training run allocates fast) and backs off to ``INTERVAL_MS`` when idle, so each young pass covers
little. A full pass walks every object made since start-up (140 ms of CPU late in a training run,
none of it garbage), so it waits while a job runs (:func:`defer_full_while`; ``ui/workers.py``
registers its live jobs) for at most ``FULL_DEFER_MAX_S``, which keeps memory bounded.

**Start-up.** While the app starts, the engines and views are imported and built (the heap grows to
~400,000 tracked objects); full passes over it took 150-330 ms each and found 10-40 objects of
garbage. :func:`hold` stops the timer's passes while the views are imported and built, and
:func:`release` moves every object alive then into the permanent generation (``gc.freeze``: later
passes skip them) and lets the timer collect again. The window calls :func:`release` when its views
are ready, when it is destroyed, and at the latest after ``HOLD_MAX_S``.

A process without Qt (the CLI, the layout child) never calls :func:`install` and keeps Python's
automatic collector.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer

HOLD_MAX_S = 90.0  # the timer collects again after this long even if the views never finish
INTERVAL_MS = 100  # how often the GUI thread looks at the collector's counts when nothing is due
BUSY_INTERVAL_MS = 10  # ... and while passes keep coming due
FULL_DEFER_MAX_S = 120.0  # a full pass waits for the jobs to end at most this long
FULL_GROWTH = 0.25  # the oldest generation is collected once it has grown by this fraction

_held = False
_disabled_by_hold = False  # hold() without the timer collector turned the automatic one off
_collector: Collector | None = None
_busy_checks: list[Callable[[], bool]] = []


def defer_full_while(busy: Callable[[], bool]) -> None:
    """Full passes wait while ``busy()`` (at most ``FULL_DEFER_MAX_S``); e.g. jobs running."""
    _busy_checks.append(busy)


def _busy() -> bool:
    return any(check() for check in _busy_checks)


class Collector(QObject):
    """The timer collector (one a process, made by :func:`install`). ``passes`` counts the passes
    it ran per generation."""

    def __init__(self, app: QCoreApplication):
        super().__init__(app)
        self.passes = [0, 0, 0]
        self._full_size = len(gc.get_objects(2))  # objects in the oldest generation after its last pass
        # a middle pass has found jobs running since (reset when they end or a full pass runs)
        self._full_waiting_since: float | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self.collect_due)
        self.timer.start()

    def due(self) -> int:
        """The oldest generation a collection would take now by CPython's rule (-1: none)."""
        (c0, c1, c2), (t0, t1, t2) = gc.get_count(), gc.get_threshold()
        if _held or t0 == 0 or c0 <= t0:
            return -1
        if c1 > t1 and c2 > t2 and self._full_due():
            return 2
        return 1 if c1 > t1 else 0

    def _full_due(self) -> bool:
        # jobs first: the oldest generation's size is a list of all its objects (12 ms of GUI CPU
        # in one of a training run's longest gaps), asked at every middle pass while jobs run
        if not _busy():
            self._full_waiting_since = None  # (a wait begun while jobs ran ends with them)
            return self._grown()
        now = time.monotonic()
        if self._full_waiting_since is None:
            self._full_waiting_since = now
        if now - self._full_waiting_since <= FULL_DEFER_MAX_S:
            return False
        if self._grown():
            return True
        self._full_waiting_since = now  # not due: measured again after another FULL_DEFER_MAX_S
        return False

    def _grown(self) -> bool:
        return len(gc.get_objects(2)) - self._full_size > FULL_GROWTH * self._full_size

    def collect_due(self) -> int:
        """Run the collection that is due (the timer's slot; GUI thread only); returns the
        generation collected, or -1 for none."""
        generation = self.due()
        if generation >= 0:
            gc.collect(generation)
            self.passes[generation] += 1
            if generation == 2:
                self.after_freeze()
        interval = BUSY_INTERVAL_MS if generation >= 0 else min(INTERVAL_MS, 2 * self.timer.interval())
        if interval != self.timer.interval():
            self.timer.setInterval(interval)
        return generation

    def after_freeze(self) -> None:
        """Measure the oldest generation again (after a full pass or ``gc.freeze``)."""
        self._full_size = len(gc.get_objects(2))
        self._full_waiting_since = None


def install() -> Collector:
    """Turn Python's automatic collector off and collect from a timer on the GUI thread instead
    (the QApplication's thread; call it there, after the QApplication exists). Idempotent."""
    global _collector
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("gui_gc.install needs a QApplication")
    if QThread.currentThread() is not app.thread():
        raise RuntimeError("gui_gc.install must run on the GUI thread")
    if _collector is None:
        _collector = Collector(app)
    gc.disable()
    return _collector


def uninstall() -> None:
    """Back to Python's automatic collector after a full collection (tests that run without Qt in
    the same process); nothing if not installed."""
    global _collector, _disabled_by_hold
    if _collector is None:
        return
    _collector.timer.stop()
    _collector.setParent(None)
    _collector = None
    gc.collect()
    if _held:  # release() turns it back on
        _disabled_by_hold = True
    else:
        gc.enable()


@contextlib.contextmanager
def automatic():
    """Python's automatic collector for a stretch of Qt-free work on the GUI thread, as in a process
    without Qt (the bench's ``explorer train`` reference runs in the bench's GUI process)."""
    was = gc.isenabled()
    if _collector is not None and not _held:
        gc.enable()
    try:
        yield
    finally:
        if not was:
            gc.disable()


def installed() -> Collector | None:
    return _collector


def collecting() -> bool:
    """Whether cycles are being collected now (by the timer, or automatically without it)."""
    return not _held and (_collector is not None or gc.isenabled())


def hold() -> bool:
    """No collection until :func:`release`; False (and nothing done) if already held, or if there
    is no timer collector and the automatic one is off (someone else turned it off)."""
    global _held, _disabled_by_hold
    if _held or (_collector is None and not gc.isenabled()):
        return False
    _held = True
    if _collector is None:
        gc.disable()
        _disabled_by_hold = True
    return True


def release(*_args) -> None:
    """Freeze the objects alive now (later passes skip them) and collect again; nothing if
    :func:`hold` did not hold. Takes and ignores arguments (a Qt slot)."""
    global _held, _disabled_by_hold
    if not _held:
        return
    _held = False
    gc.freeze()
    if _collector is not None:
        _collector.after_freeze()
    if _disabled_by_hold:
        _disabled_by_hold = False
        gc.enable()


def held() -> bool:
    return _held
