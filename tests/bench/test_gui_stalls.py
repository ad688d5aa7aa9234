"""The stall rows' statistics: the longest gap and the GUI thread's own CPU time in it."""

from __future__ import annotations

import io
import math

from explorer.bench import stall_trace
from explorer.bench.gui_stalls import _describe, _stats


def test_stats_give_the_longest_gap_and_the_gui_threads_cpu_in_it_and_at_most():
    gaps = [5.0, 300.0, 6.0, 80.0]
    cpu = [1.0, 12.0, 1.0, 70.0]  # the 300 ms gap was mostly waiting; the 80 ms one our own work
    s = _stats(gaps, cpu)
    assert s["longest"] == 300.0 and s["cpu_longest"] == 12.0 and s["cpu_max"] == 70.0
    assert s["over"] == 2 and s["ticks"] == 4
    assert "GUI thread CPU 12 ms" in _describe(s) and "most CPU in one gap 70 ms" in _describe(s)
    bare = _stats(gaps)  # no CPU times: NaN, and the text leaves them out
    assert math.isnan(bare["cpu_max"]) and "CPU" not in _describe(bare)
    assert _stats([])["ticks"] == 0


def test_the_trace_report_names_the_gaps_with_their_cpu_and_the_collector_passes_in_them(monkeypatch):
    # passes: (start, end, generation, thread, CPU ms, freed); the first is inside the 300 ms gap
    passes = [(0.80, 0.95, 2, "MainThread", 139.0, 0), (1.5, 1.501, 0, "MainThread", 1.0, 12)]
    monkeypatch.setattr(stall_trace, "_gc_passes", passes)
    out = io.StringIO()
    stall_trace.report([(1.0, 300.0), (2.0, 80.0), (3.0, 5.0)], [12.0, 70.0, 1.0], top=1, stream=out)
    text = out.getvalue()
    assert "gap 300 ms at +0.000 s (ends at 1.0000), GUI thread CPU 12 ms" in text  # the longest
    assert "gap 80 ms at +1.220 s (ends at 2.0000), GUI thread CPU 70 ms" in text  # the busiest
    assert "collector pass, generation 2, MainThread: 150 ms (139 ms CPU), 0 freed" in text
    assert "generation 0" not in text.split("=== gap 80")[0].split("=== gap 300")[1]  # not in that gap
    assert "gen 0 on MainThread: 1 passes, 1 ms (1 CPU), longest 1 (most CPU 1)" in text
    assert "gen 2 on MainThread: 1 passes, 150 ms (139 CPU), longest 150 (most CPU 139)" in text


def test_the_trace_splits_a_gap_by_the_schedulers_counters(monkeypatch):
    import threading

    main = threading.main_thread().native_id
    ms = 1_000_000  # ns
    before = {main: (10 * ms, 5 * ms), 4242: (0, 0)}
    after = {main: (40 * ms, 205 * ms), 4242: (150 * ms, 1 * ms)}  # GUI: 30 on a core, 200 waiting
    monkeypatch.setattr(stall_trace, "_sched", [(0.9, before), (1.31, after)])
    monkeypatch.setitem(stall_trace._names, 4242, "explorer-worker-7")
    text = stall_trace._sched_split(1.0, 1.3)
    assert "over 410 ms: GUI thread on a core 30 ms, waiting for a core 200 ms" in text
    assert "blocked (GIL or idle) 180 ms" in text and "explorer-worker-7 150" in text
    assert stall_trace._sched_split(0.5, 0.8) == ""  # no counters read before the gap
    counters = stall_trace._read_sched()  # this process's threads, from /proc (Linux)
    assert main in counters and counters[main][0] > 0
