"""Measuring peak memory and bounding run time inside a test (Linux)."""

from __future__ import annotations

import contextlib
import signal
import tracemalloc


class Peak:
    rss_bytes: int = 0  # resident set size high-water mark during the block (whole process)
    rss_before: int = 0  # resident set size when the block started

    @property
    def rss_growth(self) -> int:
        return self.rss_bytes - self.rss_before

    traced_bytes: int = 0  # Python + numpy allocations (tracemalloc); torch's are not traced


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


@contextlib.contextmanager
def peak_memory(trace: bool = True):
    """Yield a Peak filled in on exit: the RSS high-water mark is reset first (clear_refs 5).
    ``trace=False`` skips tracemalloc, which slows allocation-heavy code down a lot."""
    peak = Peak()
    peak.rss_before = _status("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:  # not Linux or not allowed: the high-water mark then includes earlier peaks
        pass
    if trace:
        tracemalloc.start()
    try:
        yield peak
    finally:
        if trace:
            peak.traced_bytes = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        peak.rss_bytes = _status("VmHWM")


@contextlib.contextmanager
def time_limit(seconds: float):
    """Fail (TimeoutError) instead of hanging when the block runs longer than ``seconds``."""

    def on_alarm(signum, frame):
        raise TimeoutError(f"took longer than {seconds} s (a hang?)")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
