"""A CPU budget for a training run's live views: the probe encodes, layout frames and glide paints
of the live scatter cost at most ``share`` of the training thread's CPU, and still show a frame at
least every ``max_gap_s`` seconds.

The run asks :meth:`LiveBudget.admit` at each point where it could probe; the frame is admitted
when the previous frame's measured cost (everything charged with :meth:`spend` since it was
admitted: its probe in the training thread, its layout in a worker, its paints on the GUI thread)
is within ``share`` of the training CPU since then (:meth:`work` reports the training thread's
running total), or when the last frame is ``max_gap_s`` old. A frame over budget is skipped, never
queued. :meth:`allowance` is what the current frame may still spend (e.g. on glide steps).

Thread-safe (one lock); the clock is injectable for tests. No Qt."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator

SHARE = 0.04  # live views' CPU at most 4% of the training thread's
MAX_GAP_S = 2.0  # ... but a frame at least every 2 s of wall time, so the scatter visibly forms


class LiveBudget:
    """See the module docstring. ``clock`` gives wall seconds (time.perf_counter)."""

    def __init__(
        self,
        share: float = SHARE,
        max_gap_s: float = MAX_GAP_S,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.share, self.max_gap_s, self.clock = float(share), float(max_gap_s), clock
        self._lock = threading.Lock()
        self._work = 0.0  # the training thread's CPU seconds so far
        self._work_at_frame = 0.0  # ... when the current frame was admitted
        self._spent = 0.0  # live CPU seconds charged since then
        self._last: float | None = None  # wall time of the last admitted frame
        self._last_interval = 0.0  # training CPU between the last two admitted frames
        self.admitted = 0
        self.skipped = 0
        self.total_spent = 0.0  # all live CPU charged (for reports)

    def work(self, cpu_s: float) -> None:
        """The training thread's CPU seconds so far (a running total)."""
        with self._lock:
            self._work = max(self._work, float(cpu_s))

    def spend(self, cpu_s: float) -> None:
        """Charge ``cpu_s`` seconds of live-view CPU (any thread) to the current frame."""
        with self._lock:
            self._spent += max(0.0, float(cpu_s))
            self.total_spent += max(0.0, float(cpu_s))

    def allowance(self) -> float:
        """CPU seconds the current frame may still spend within its share (negative: over), if
        the next frame comes after as much training as the last one did (or more, so far)."""
        with self._lock:
            since = max(self._work - self._work_at_frame, self._last_interval)
            return self.share * since - self._spent

    def admit(self, force: bool = False) -> bool:
        """Whether a new frame may start now (see the module docstring); ``force``: yes (the run's
        first and last frames)."""
        with self._lock:
            now = self.clock()
            due = self._last is None or now - self._last >= self.max_gap_s
            within = self._spent <= self.share * (self._work - self._work_at_frame)
            if not (force or due or within):
                self.skipped += 1
                return False
            self._last_interval = self._work - self._work_at_frame
            self._last, self._work_at_frame, self._spent = now, self._work, 0.0
            self.admitted += 1
            return True


def charged(job: Generator, budget: LiveBudget | None) -> Generator:
    """``job`` (a worker generator) passed through, charging the CPU of this thread spent in each
    of its steps to ``budget`` (None: just ``job``). Returns what ``job`` returns."""
    if budget is None:
        return (yield from job)
    while True:
        t0 = time.thread_time()
        try:
            rec = next(job)
        except StopIteration as stop:
            budget.spend(time.thread_time() - t0)
            return stop.value
        budget.spend(time.thread_time() - t0)
        yield rec
