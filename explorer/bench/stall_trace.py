"""What runs during the GUI thread's longest stalls: a sampler of every thread's stack (5 ms).

Debugging aid of the stall rows (``EXPLORER_STALL_TRACE=1 python -m explorer.bench.gui_stalls
MOMENT PLAN``): after the moment, the longest gaps between timer ticks are printed to standard
error with the stacks sampled inside them, so the thread that held the GIL (or the GUI thread's
own slow call) can be named.

On Linux each gap is also split by the kernel's per-thread scheduler counters
(``/proc/<pid>/task/<tid>/schedstat``: time on a core, time runnable but waiting for one): the GUI
thread's own CPU, its wait for a core, and the rest (blocked: waiting for the GIL, or idle in the
event loop's poll), beside the CPU time every other thread of the process (Python workers, and
native ones such as torch's intra-op pool) used in the gap. Every cycle-collector pass is timed
(``gc.callbacks``: its generation, thread, wall and CPU time); those inside a gap are listed with it,
and a summary per generation and thread comes first.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
import traceback

_samples: list[tuple[float, list[tuple[str, list[str]]]]] = []
_sched: list[tuple[float, dict[int, tuple[int, int]]]] = []  # (time, tid -> (ns on a core, ns waiting))
_names: dict[int, str] = {}  # native thread id -> Python thread name
# cycle-collector passes: (start, end (perf_counter), generation, thread name, thread CPU ms, collected)
_gc_passes: list[tuple[float, float, int, str, float, int]] = []
_gc_open: dict[int, tuple[float, float]] = {}


def _on_gc(phase: str, info: dict) -> None:
    ident = threading.get_ident()
    if phase == "start":
        _gc_open[ident] = (time.perf_counter(), time.thread_time())
        return
    t0, c0 = _gc_open.pop(ident, (float("nan"), float("nan")))
    name = threading.current_thread().name
    _gc_passes.append(
        (
            t0,
            time.perf_counter(),
            info["generation"],
            name,
            1e3 * (time.thread_time() - c0),
            info["collected"],
        )
    )


def enabled() -> bool:
    return bool(os.environ.get("EXPLORER_STALL_TRACE"))


def read_sched() -> dict[int, tuple[int, int]]:
    """Per thread of this process: (ns on a core, ns runnable and waiting for one) so far."""
    out = {}
    base = f"/proc/{os.getpid()}/task"
    try:
        tids = os.listdir(base)
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"{base}/{tid}/schedstat") as f:
                run, wait = f.read().split()[:2]
            out[int(tid)] = (int(run), int(wait))
        except (OSError, ValueError):
            continue
    return out


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
        threads = threading.enumerate()
        names = {t.ident: t.name for t in threads}
        _names.update({t.native_id: t.name for t in threads if t.native_id is not None})
        _sched.append((now, read_sched()))
        _samples.append((now, _stacks(me, names), cpu))


def _stacks(me: int, names: dict) -> list[tuple[str, list[str]]]:
    """Every other thread's stack (last 8 frames) as text. In a function of its own so no frame
    outlives the sample: a frame held while the sampler sleeps keeps its locals alive, such as the
    widget the GUI thread's event filter was given mid-construction, whose wrapper then comes back
    as a QWidget from addMenu() or statusBar() (``ui/window_menus.add_menu``)."""
    snap = []
    for ident, frame in sys._current_frames().items():
        if ident != me:
            stack = traceback.extract_stack(frame)[-8:]
            where = [f"{os.path.basename(f.filename)}:{f.lineno}:{f.name}" for f in stack]
            snap.append((names.get(ident, str(ident)), where))
    return snap


def start() -> None:
    """Start sampling (call on the GUI thread: its CPU clock is read with each sample)."""
    main = threading.get_ident()
    gc.callbacks.append(_on_gc)
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
    print(gc_summary(), file=stream)
    longest = sorted(rows, key=lambda g: -g[1])[:top]
    busiest = [r for r in sorted(rows, key=lambda g: -g[2] if g[2] == g[2] else 0)[:top] if r not in longest]
    for end, gap, c in longest + busiest:
        begin = end - gap / 1e3
        inside = [s for s in _samples if begin <= s[0] <= end + 0.01]
        at = begin - (gaps[0][0] - gaps[0][1] / 1e3)  # from the first tick
        print(
            f"=== gap {gap:.0f} ms at +{at:.3f} s (ends at {end:.4f}), GUI thread CPU {c:.0f} ms, "
            f"{len(inside)} samples",
            file=stream,
        )
        seen = set()
        for t, snap, _ in inside[:3] + inside[-2:]:
            for name, where in snap:
                if (name, tuple(where)) not in seen:
                    seen.add((name, tuple(where)))
                    print(f"  [{t - begin:+.3f} s] {name}: {' > '.join(where[-6:])}", file=stream)
        for where, ms in _gui_cpu_by_stack(inside)[:4]:
            print(f"  GUI thread CPU {ms:.0f} ms in: {' > '.join(where)}", file=stream)
        for (name, where), n in _common_stacks(inside)[:3]:
            print(f"  most sampled ({n} of {len(inside)}): {name}: {' > '.join(where)}", file=stream)
        for t0, t1, gen, name, ms, found in _gc_passes:
            if t1 >= begin and t0 <= end:
                print(
                    f"  collector pass, generation {gen}, {name}: {1e3 * (t1 - t0):.0f} ms "
                    f"({ms:.0f} ms CPU), {found} freed",
                    file=stream,
                )
        split = _sched_split(begin, end)
        if split:
            print(f"  {split}", file=stream)


def _common_stacks(inside) -> list[tuple[tuple[str, tuple[str, ...]], int]]:
    """The other threads' stacks (last 4 frames) seen most often in ``inside``, idle waits left out."""
    idle = ("wait", "_worker", "read_message", "select", "get", "_sample", "run")
    counts: dict = {}
    for _, snap, _ in inside:
        for name, where in snap:
            if name != "MainThread" and where and where[-1].rsplit(":", 1)[-1] not in idle:
                key = (name, tuple(where[-4:]))
                counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), key=lambda kv: -kv[1])


def _sched_split(begin: float, end: float) -> str:
    """The gap [begin, end] split by the scheduler counters of the samples around it: the GUI
    thread's CPU, its wait for a core, the rest; and the CPU time of the busiest other threads."""
    before = [s for s in _sched if s[0] <= begin]
    after = [s for s in _sched if s[0] >= end]
    if not before or not after:
        return ""
    (t0, a), (t1, b) = before[-1], after[0]
    main = threading.main_thread().native_id
    span = 1e3 * (t1 - t0)

    def delta(tid: int) -> tuple[float, float]:
        r0, w0 = a.get(tid, (0, 0))
        r1, w1 = b.get(tid, (r0, w0))
        return (r1 - r0) / 1e6, (w1 - w0) / 1e6

    run, wait = delta(main)
    others = sorted(((delta(t)[0], t) for t in b if t != main), reverse=True)
    busy = ", ".join(f"{_names.get(t, f'native {t}')} {ms:.0f}" for ms, t in others[:5] if ms >= 1)
    return (
        f"scheduler, over {span:.0f} ms: GUI thread on a core {run:.0f} ms, waiting for a core "
        f"{wait:.0f} ms, blocked (GIL or idle) {max(0.0, span - run - wait):.0f} ms; other threads' "
        f"CPU (ms): {busy or 'none'}; all others {sum(ms for ms, _ in others):.0f}"
    )


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


def gc_summary() -> str:
    """The collector's passes since :func:`start`, per generation and thread: how many, their total
    and longest wall time, and CPU time (ms)."""
    groups: dict[tuple[int, str], list[tuple[float, float]]] = {}
    for t0, t1, gen, name, cpu, _ in _gc_passes:
        groups.setdefault((gen, name), []).append((1e3 * (t1 - t0), cpu))
    parts = [
        f"gen {gen} on {name}: {len(ms)} passes, {sum(w for w, _ in ms):.0f} ms "
        f"({sum(c for _, c in ms):.0f} CPU), longest {max(w for w, _ in ms):.0f} "
        f"(most CPU {max(c for _, c in ms):.0f})"
        for (gen, name), ms in sorted(groups.items())
    ]
    return "=== collector passes: " + ("; ".join(parts) or "none")
