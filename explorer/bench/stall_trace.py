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


def _sample(main: int) -> None:
    me = threading.get_ident()
    try:
        main_clock = time.pthread_getcpuclockid(main)
    except (AttributeError, OSError):  # not on this platform
        main_clock = None
    while True:
        time.sleep(0.005)
        now = time.perf_counter()
        cpu = time.clock_gettime(main_clock) if main_clock is not None else float("nan")
        names = {t.ident: t.name for t in threading.enumerate()}
        snap = []
        for ident, frame in sys._current_frames().items():
            if ident != me:
                stack = traceback.extract_stack(frame)[-8:]
                where = [f"{os.path.basename(f.filename)}:{f.lineno}:{f.name}" for f in stack]
                snap.append((names.get(ident, str(ident)), where))
        _samples.append((now, snap, cpu))


def start() -> None:
    """Start sampling (call on the GUI thread: its CPU clock is read with each sample)."""
    main = threading.get_ident()
    threading.Thread(target=_sample, args=(main,), name="stall-trace", daemon=True).start()


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
        for t, snap, _ in inside[:3] + inside[-2:]:
            for name, where in snap:
                if (name, tuple(where)) not in seen:
                    seen.add((name, tuple(where)))
                    print(f"  [{t - begin:+.3f} s] {name}: {' > '.join(where[-6:])}", file=stream)
        for where, ms in _gui_cpu_by_stack(inside)[:4]:
            print(f"  GUI thread CPU {ms:.0f} ms in: {' > '.join(where)}", file=stream)


def _gui_cpu_by_stack(inside) -> list[tuple[tuple[str, ...], float]]:
    """The GUI thread's CPU time between consecutive samples, given to its stack at the later one
    and summed per stack (ms), most first."""
    total: dict[tuple[str, ...], float] = {}
    for (_, _, c0), (_, snap, c1) in zip(inside, inside[1:]):
        main = next((w for n, w in snap if n == "MainThread"), None)
        if main is not None and c1 == c1 and c0 == c0:
            key = tuple(main[-6:])
            total[key] = total.get(key, 0.0) + 1e3 * (c1 - c0)
    return sorted(total.items(), key=lambda kv: -kv[1])
