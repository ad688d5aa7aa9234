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
    counters = stall_trace.read_sched()  # this process's threads, from /proc (Linux)
    assert main in counters and counters[main][0] > 0


def test_thread_use_names_the_training_thread_the_gui_thread_and_the_rest():
    from explorer.bench.gui_stalls import _thread_use

    s = 1_000_000_000  # ns
    before = {1: (1 * s, 0), 2: (0, 0), 3: (0, 0)}
    after = {1: (2 * s, s // 10), 2: (5 * s, 2 * s), 3: (3 * s, s), 4: (s // 2, 0)}  # 4 began in the run
    dialog = _thread_use(before, after, gui=1, gui_trains=False)  # the busiest other thread trains
    assert dialog["train_cpu_s"] == 5.0 and dialog["train_wait_s"] == 2.0
    assert dialog["gui_cpu_s"] == 1.0 and dialog["gui_wait_s"] == 0.1
    assert dialog["others_cpu_s"] == 3.5 and dialog["others_wait_s"] == 1.0
    headless = _thread_use(before, after, gui=1, gui_trains=True)  # the GUI thread trains
    assert headless["train_cpu_s"] == 1.0 and headless["gui_cpu_s"] == 0.0
    assert headless["others_cpu_s"] == 8.5


def test_the_speed_row_is_the_median_of_the_pairs_ratios_times_the_headless_median():
    from explorer.bench.gui_stalls import _speed, _speed_row
    from explorer.bench.plan import QUICK

    def leg(ips, train_cpu, gui_cpu=0.0):
        return {
            "items_per_s": ips,
            "run_seconds": 10.0,
            "seconds": 8.0,
            "train_cpu_s": train_cpu,
            "train_wait_s": 0.5,
            "others_cpu_s": 0.5,
            "gui_cpu_s": gui_cpu,
            "process_cpu_s": 2 * train_cpu,
            "load": [1.0, 1.2],
        }

    # the load changes over the row: pairs alike within, not across
    runs = ((900, 1000), (450, 500), (1900, 2000))
    pairs = [{"dialog": leg(d, 3.0, 0.4), "headless": leg(h, 2.0)} for d, h in runs]
    sp = _speed(pairs)
    assert sp["ratios"] == [0.9, 0.9, 0.95] and sp["ratio"] == 0.9
    assert sp["headless_items_per_s"] == 1000 and sp["train_cpu_ratio"] == 1.5 and sp["gui_cpu_s"] == 0.4
    assert abs(sp["live_cpu_share"] - 0.4 / 3.0) < 1e-9  # (the GUI thread's; others alike in both)
    row = _speed_row(QUICK, sp)
    assert row.ours == 900 and row.reference == 1000 and row.met is False
    assert "3 alternated pairs" in row.note and "0.90, 0.90, 0.95" in row.note and "13% of" in row.note
    assert _speed([]) == {}
