"""What runs during the GUI thread's longest stalls: a sampler of every thread's stack (5 ms).

Debugging aid of the stall rows (``EXPLORER_STALL_TRACE=1 python -m explorer.bench.gui_stalls
MOMENT PLAN``): after the moment, the longest gaps between timer ticks are printed to standard
error with the stacks sampled inside them, so the thread that held the GIL (or the GUI thread's
own slow call) can be named.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback

_samples: list[tuple[float, list[tuple[str, list[str]]]]] = []


def enabled() -> bool:
    return bool(os.environ.get("EXPLORER_STALL_TRACE"))


def _sample() -> None:
    me = threading.get_ident()
    while True:
        time.sleep(0.005)
        now = time.perf_counter()
        names = {t.ident: t.name for t in threading.enumerate()}
        snap = []
        for ident, frame in sys._current_frames().items():
            if ident != me:
                stack = traceback.extract_stack(frame)[-8:]
                where = [f"{os.path.basename(f.filename)}:{f.lineno}:{f.name}" for f in stack]
                snap.append((names.get(ident, str(ident)), where))
        _samples.append((now, snap))


def start() -> None:
    threading.Thread(target=_sample, name="stall-trace", daemon=True).start()


def report(
    gaps: list[tuple[float, float]], cpu: list[float] | None = None, top: int = 6, stream=None
) -> None:
    """``gaps``: (time the gap ended (perf_counter), length in ms); ``cpu``: the GUI thread's CPU
    time in each (ms). The ``top`` longest gaps are shown, then the ``top`` with the most GUI CPU
    (our own handlers, whatever the load)."""
    stream = stream or sys.stderr
    cpu = cpu if cpu is not None and len(cpu) == len(gaps) else [float("nan")] * len(gaps)
    rows = [(end, gap, c) for (end, gap), c in zip(gaps, cpu)]
    longest = sorted(rows, key=lambda g: -g[1])[:top]
    busiest = [r for r in sorted(rows, key=lambda g: -g[2] if g[2] == g[2] else 0)[:top] if r not in longest]
    for end, gap, c in longest + busiest:
        begin = end - gap / 1e3
        inside = [s for s in _samples if begin <= s[0] <= end + 0.01]
        print(f"=== gap {gap:.0f} ms, GUI thread CPU {c:.0f} ms, {len(inside)} samples", file=stream)
        seen = set()
        for t, snap in inside[:3] + inside[-2:]:
            for name, where in snap:
                if (name, tuple(where)) not in seen:
                    seen.add((name, tuple(where)))
                    print(f"  [{t - begin:+.3f} s] {name}: {' > '.join(where[-6:])}", file=stream)
