"""Bench rows: the longest GUI-thread stall of the app itself, in three moments of real use.

Each moment runs in a fresh process (``python -m explorer.bench.gui_stalls MOMENT PLAN``) with the
real main window, a 5 ms timer on the GUI thread (:class:`explorer.bench.gui.GapMeter`) and the
longest gap between its ticks as the measure:

- ``startup``: from the main window's first event-loop turn (it shows once the splash screen's
  imports are done and its views are built, :func:`explorer.ui.app.open_main_window`) while the
  sample data, the default models, their codes and the first layout load (and UMAP's warm-up
  runs), for a few seconds; the times to the splash and to the window are given beside it;
- ``umap``: UMAP of ``plan.app_umap_n`` MNIST images (pixel codes) chosen in the scatter, from the
  click to the finished layout (frames drawn as they form); reference: the same with the layout in
  a worker thread of the GUI process (``EXPLORER_LAYOUT_CHILD=0``, how it ran before);
- ``train``: an ``ae`` run of ``plan.app_train_epochs`` epochs started from the training dialog,
  live scatter on, until its codes are in the views; then the same settings headless in the same
  process, in ``plan.app_train_pairs`` alternated pairs of longer runs, for a second row: the dialog run's
  training speed against headless (>= 0.95x), the median of the pairs' ratios, with each thread's
  CPU during the runs (``/proc/self/task/TID/schedstat``) so the live views' cost shows whatever
  the load.

The reference of the start-up and training rows is the same app idle for as long (the machine's
scheduling alone). ``EXPLORER_STALL_TRACE=1`` prints what ran during the longest gaps
(:mod:`explorer.bench.stall_trace`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from explorer.bench.plan import Plan
from explorer.bench.table import Row


def _stats(gaps: list[float], cpu: list[float] | None = None) -> dict:
    """Of the gaps between timer ticks (ms) and the GUI thread's CPU time in each (ms): the longest
    gap, its 99th percentile, how many exceed 50 ms, the ticks; ``cpu_longest``: the GUI thread's
    CPU time in the longest gap, ``cpu_max``: the most CPU time in any gap (what our handlers cost,
    whatever the load; the rest of a gap is waiting for the GIL or for a core)."""
    if not gaps:
        nan = float("nan")
        return {"longest": nan, "p99": nan, "over": 0, "ticks": 0, "cpu_longest": nan, "cpu_max": nan}
    cpu = cpu if cpu is not None and len(cpu) == len(gaps) else [float("nan")] * len(gaps)
    longest = int(np.argmax(gaps))
    return {
        "longest": float(gaps[longest]),
        "p99": float(np.percentile(gaps, 99)),
        "over": int(sum(g > 50 for g in gaps)),
        "ticks": len(gaps),
        "cpu_longest": float(cpu[longest]),
        "cpu_max": float(np.max(cpu)),
    }


class _Meter:
    """A 5 ms precise timer whose gaps (and the GUI thread's CPU time in each) are kept until
    :meth:`stop`."""

    def __init__(self) -> None:
        from explorer.bench.gui import GapMeter

        self.meter = GapMeter()

    def start(self) -> None:
        self.meter.gaps, self.meter._last = [], None
        self.ends: list[float] = []
        self.cpu: list[float] = []  # GUI thread CPU seconds at each tick
        self.sched0: tuple[int, int, int] | None = None  # the GUI thread's schedstat at the first tick
        self.meter.timer.timeout.connect(self._tick)
        self.meter.timer.start()

    def _tick(self) -> None:
        self.ends.append(time.perf_counter())
        self.cpu.append(time.thread_time())
        if self.sched0 is None:
            self.sched0 = _gui_schedstat()

    def stop(self) -> dict:
        self.meter.timer.stop()
        from explorer.bench import stall_trace

        cpu = list(1e3 * np.diff(self.cpu)) if len(self.cpu) > 1 else []
        if stall_trace.enabled():
            stall_trace.report(list(zip(self.ends[1:], self.meter.gaps)), cpu)
        out = _stats(self.meter.gaps, cpu)
        out["cpu_first"] = float(cpu[0]) if cpu else float("nan")  # the first turn: the first paint
        end = _gui_schedstat()
        if self.sched0 is not None and end is not None:  # from the first tick on
            (r0, w0, n0), (r1, w1, n1) = self.sched0, end
            out.update(gui_run_ms=(r1 - r0) / 1e6, gui_wait_ms=(w1 - w0) / 1e6, gui_slices=n1 - n0)
        return out


def _gui_schedstat() -> tuple[int, int, int] | None:
    """The calling (GUI) thread's scheduler counters (Linux): ns on a core, ns runnable but waiting
    for one, time slices; None elsewhere."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/schedstat") as f:
            run, wait, slices = f.read().split()[:3]
        return int(run), int(wait), int(slices)
    except (OSError, ValueError):
        return None


def _spin_until(done, timeout_s: float, step_ms: int = 20) -> bool:
    """Run the event loop until ``done()`` or the timeout; whether ``done()`` came true. One event
    loop for the whole wait, ``done()`` asked every ``step_ms`` by a timer: a new QEventLoop and
    single-shot timer every 20 ms cost the GUI thread 0.18 s of CPU in 5 s of an idle app (0.02 s
    in one loop), in the dialog's runs and not in the headless ones it is compared with."""
    from PySide6.QtCore import QEventLoop, QTimer

    if done():
        return True
    deadline = time.perf_counter() + timeout_s
    loop = QEventLoop()
    result = {"done": False}

    def check() -> None:
        if done():
            result["done"] = True
            loop.quit()
        elif time.perf_counter() > deadline:
            loop.quit()

    timer = QTimer()
    timer.setInterval(step_ms)
    timer.timeout.connect(check)
    timer.start()
    loop.exec()
    timer.stop()
    return result["done"]


def _window(data: str | None, models: list[str] | None, marks: dict | None = None):
    """The main window as ``explorer`` opens it (splash, engines imported, views built, then shown
    and loading ``data`` and ``models``); ``marks`` as for ``open_main_window``."""
    from explorer.ui.app import ensure_app, open_main_window

    ensure_app()
    return open_main_window(data, models, marks=marks)


def _settled(win):
    from explorer.ui.services import any_busy

    return lambda: not win.busy() and not any_busy(win.ctx, list(win.views.values()))


def _idle(seconds: float) -> dict:
    meter = _Meter()
    meter.start()
    _spin_until(lambda: False, seconds)
    return meter.stop()


# ---- the moments (each in its own process) ---------------------------------------------------------
def moment_startup(plan: Plan) -> dict:
    from explorer.ui.app import _process_age_s

    meter = _Meter()
    marks: dict = {}
    age = _process_age_s() or 0.0
    t_start = time.perf_counter() - age  # the process's start on the perf_counter clock
    win = _window(None, None, marks)  # the sample data and the default models, as `explorer` opens
    cpu_at_window = time.process_time()
    t0 = time.perf_counter()
    meter.start()  # the timer ticks from the shown window's first event-loop turn
    settled = _settled(win)
    _spin_until(lambda: time.perf_counter() - t0 > plan.app_startup_s and settled(), 120)
    out = meter.stop()
    out["seconds"] = time.perf_counter() - t0
    out["to_splash_s"] = marks["splash"] - t_start  # from the process's start
    out["to_window_s"] = marks["shown"] - t_start
    out["imports_s"] = marks["imported"] - marks["splash"]
    out["views_s"] = marks["views_ready"] - marks["imported"]
    out["cpu_to_window_s"] = cpu_at_window  # the process's CPU time (all threads) until then
    out["idle"] = _idle(min(3.0, plan.app_startup_s))
    return out


def moment_umap(plan: Plan) -> dict:
    from explorer.bench.codes import mnist_images

    images, labels = mnist_images(plan.app_umap_n)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"mnist{plan.app_umap_n}.npz")
        np.savez(path, images=(images * 255).astype(np.uint8), labels=labels)
        win = _window(path, ["pixels"])
        settled = _settled(win)
        if not _spin_until(lambda: "pixels" in win.ctx.workspace.codes and settled(), 300):
            raise TimeoutError("the app did not settle (codes, first layout) in 5 minutes")
        _spin_until(lambda: False, 1.0)
        scatter = win.views["scatter"]
        win.show_view("scatter")
        frames = {"n": 0}
        scatter.sides[0].runner.partial.connect(
            lambda tag, rec: frames.__setitem__("n", frames["n"] + (rec.payload is not None))
        )
        meter = _Meter()
        meter.start()
        t0 = time.perf_counter()
        scatter.state.update(method="umap", model="pixels")
        _spin_until(lambda: scatter.busy(), 10)
        ok = _spin_until(lambda: not scatter.busy(), 1200)
        seconds = time.perf_counter() - t0
        out = meter.stop()
        side = scatter.sides[0]
        out.update(
            seconds=seconds,
            frames=frames["n"],
            finished=bool(ok and side.layout is not None and len(side.layout) == plan.app_umap_n),
        )
        win.close()
    return out


def moment_train(plan: Plan) -> dict:
    """The stall row's run from the dialog (``plan.app_train_epochs``), then the speed row's
    alternated pairs of ``plan.app_speed_epochs``: the dialog's run, the same settings headless,
    ``plan.app_train_pairs`` times (without the stall row's 5 ms meter, whose ticks are GUI work)."""
    win = _window(None, None)
    settled = _settled(win)
    if not _spin_until(lambda: win.ctx.workspace.dataset is not None and settled(), 300):
        raise TimeoutError("the app did not settle in 5 minutes")
    dialog = win.open_training_dialog()
    if not _spin_until(dialog.ready, 120):
        raise TimeoutError("the training dialog did not read its model types")
    dialog.set_model("ae")
    dialog.epochs.setValue(plan.app_train_epochs)
    dialog.live_scatter.setChecked(True)
    dialog.save_check.setChecked(False)
    _spin_until(lambda: False, 0.5)
    idle = _idle(2.0)
    leg, stalls = _dialog_leg(win, dialog, meter=True)  # the stall row's run (its meter costs CPU)
    out: dict = dict(stalls, idle=idle, seconds=leg["seconds"], finished=leg["finished"])
    out.update(items_per_s=leg["items_per_s"], run_seconds=leg["run_seconds"])
    dialog.epochs.setValue(plan.app_speed_epochs)
    pairs: list[dict] = []
    for _ in range(plan.app_train_pairs if leg["finished"] else 0):
        _spin_until(lambda: False, 0.5)  # the app catches up (paints, collector) before the next
        leg, _ = _dialog_leg(win, dialog, meter=False)
        if not leg["finished"]:
            break
        head = _headless_run(dialog.train_config(), win.ctx.workspace.dataset, leg["summary"])
        pairs.append({"dialog": leg, "headless": head})
    out["pairs"] = pairs
    out["speed"] = _speed(pairs)
    dialog.shutdown()
    win.close()
    return out


def _dialog_leg(win, dialog, meter: bool) -> tuple[dict, dict]:
    """One run from the dialog until its codes are in the views: its facts (items/s, whole-run
    seconds, the threads' CPU from its start until the model joined, see :func:`_thread_use`), and
    with ``meter`` the stall statistics over it."""
    from explorer.bench.stall_trace import read_sched

    settled = _settled(win)
    names: list[str] = []
    at_end: list = []

    def joined(name: str) -> None:
        at_end.append((read_sched(), time.process_time()))
        names.append(name)

    dialog.finished_model.connect(joined)
    gauge = _Meter() if meter else None
    load0 = os.getloadavg()[0]
    before, cpu0 = read_sched(), time.process_time()
    if gauge is not None:
        gauge.start()
    t0 = time.perf_counter()
    dialog.start()
    # asked every 100 ms: the wait's own ticks are GUI-thread work the headless runs do not have
    ok = _spin_until(
        lambda: bool(names) and names[0] in win.ctx.workspace.codes and settled(), 900, step_ms=100
    )
    seconds = time.perf_counter() - t0
    stalls = gauge.stop() if gauge is not None else {}
    dialog.finished_model.disconnect(joined)
    summary = dialog.last_result.summary if dialog.last_result is not None else {}
    leg = {
        "finished": bool(ok),
        "seconds": seconds,
        "items_per_s": float(summary.get("items_per_s", 0.0)),
        "run_seconds": float(summary.get("seconds", 0.0)),
        "summary": {"threads": summary.get("threads")},
        "load": [load0, os.getloadavg()[0]],
    }
    if at_end:
        after, cpu1 = at_end[0]
        leg.update(_thread_use(before, after, threading.get_native_id(), gui_trains=False))
        leg["process_cpu_s"] = cpu1 - cpu0
    return leg, stalls


def _thread_use(before: dict, after: dict, gui: int, gui_trains: bool) -> dict:
    """Seconds on a core (``*_cpu_s``) and runnable waiting for one (``*_wait_s``) between two
    :func:`explorer.bench.stall_trace.read_sched` counters: the training thread (the GUI thread if
    ``gui_trains``, else the busiest other thread), the GUI thread, and all other threads (torch's
    intra-op team, layout and code workers) summed."""
    use = {}
    for tid, (run, wait) in after.items():
        run0, wait0 = before.get(tid, (0, 0))
        use[tid] = ((run - run0) / 1e9, (wait - wait0) / 1e9)
    gui_use = use.pop(gui, (0.0, 0.0))
    train = gui if gui_trains else max(use, key=lambda t: use[t][0], default=None)
    train_use = gui_use if gui_trains else use.pop(train, (0.0, 0.0))
    return {
        "train_cpu_s": train_use[0],
        "train_wait_s": train_use[1],
        "gui_cpu_s": 0.0 if gui_trains else gui_use[0],
        "gui_wait_s": 0.0 if gui_trains else gui_use[1],
        "others_cpu_s": sum(u[0] for u in use.values()),
        "others_wait_s": sum(u[1] for u in use.values()),
    }


def _headless_run(config, data, summary: dict) -> dict:
    """The dialog's run again with the same settings (and torch threads), driven as `explorer train`
    drives it on this (now idle) GUI process's main thread with Python's own collector: items/s
    of its training steps, its seconds and the threads' CPU (:func:`_thread_use`)."""
    import dataclasses
    import io

    from explorer.bench.stall_trace import read_sched
    from explorer.core.progress import drive
    from explorer.training.engine import train
    from explorer.ui import gui_gc

    config = dataclasses.replace(config, threads=summary.get("threads") or config.threads)
    load0 = os.getloadavg()[0]
    before, cpu0 = read_sched(), time.process_time()
    with gui_gc.automatic():
        result = drive(train(config, data), label="training", stream=io.StringIO())
    after, cpu1 = read_sched(), time.process_time()
    return {
        "items_per_s": float(result.summary["items_per_s"]),
        "seconds": float(result.summary["seconds"]),
        "process_cpu_s": cpu1 - cpu0,
        "load": [load0, os.getloadavg()[0]],
        **_thread_use(before, after, threading.get_native_id(), gui_trains=True),
    }


def _live_share(dialog: dict, headless: dict) -> float:
    """The CPU the dialog's run took beside its training (the GUI thread, and the other threads
    beyond the headless run's: layout, codes) per second of its training thread's CPU: what the
    live views cost, whatever the load."""
    extra = dialog["gui_cpu_s"] + dialog["others_cpu_s"] - headless["others_cpu_s"]
    return extra / max(dialog["train_cpu_s"], 1e-9)


def _speed(pairs: list[dict]) -> dict:
    """The speed row's figures from the alternated pairs: the median of the pairs' items/s ratios
    (a load changing over the row moves both runs of a pair alike), the headless runs' median
    items/s, and per run the medians of the training thread's CPU ratio (the same training: CPU
    beyond 1 is spinning or live work on that thread), the GUI thread's CPU in the dialog's runs
    and the training thread's wait for a core in both."""
    if not pairs:
        return {}

    def median(values) -> float:
        return float(np.median(values)) if len(values) else float("nan")

    dialogs = [p["dialog"] for p in pairs]
    heads = [p["headless"] for p in pairs]
    measured = [p for p in pairs if "train_cpu_s" in p["dialog"]]
    ratios = [d["items_per_s"] / max(h["items_per_s"], 1e-9) for d, h in zip(dialogs, heads)]
    return {
        "ratios": ratios,
        "ratio": median(ratios),
        "headless_items_per_s": median([h["items_per_s"] for h in heads]),
        "run_seconds": median([d["run_seconds"] for d in dialogs]),
        "headless_seconds": median([h["seconds"] for h in heads]),
        "train_cpu_ratio": median(
            [p["dialog"]["train_cpu_s"] / max(p["headless"]["train_cpu_s"], 1e-9) for p in measured]
        ),
        "process_cpu_ratio": median(
            [p["dialog"]["process_cpu_s"] / max(p["headless"]["process_cpu_s"], 1e-9) for p in measured]
        ),
        "gui_cpu_s": median([p["dialog"]["gui_cpu_s"] for p in measured]),
        "live_cpu_share": median([_live_share(p["dialog"], p["headless"]) for p in measured]),
        "train_wait_s": median([p["dialog"]["train_wait_s"] for p in measured]),
        "headless_wait_s": median([p["headless"]["train_wait_s"] for p in measured]),
        "load": [min(d["load"][0] for d in dialogs), max(h["load"][1] for h in heads)],
    }


MOMENTS = {"startup": moment_startup, "umap": moment_umap, "train": moment_train}


def run_moment(name: str, plan: Plan, env: dict | None = None) -> dict:
    """Run one moment in a fresh process; its JSON result."""
    full = dict(os.environ)
    if not full.get("DISPLAY") and not full.get("WAYLAND_DISPLAY"):
        full["QT_QPA_PLATFORM"] = "offscreen"
    full.setdefault("EXPLORER_UMAP_WARMUP", "1")  # as the app runs
    full["EXPLORER_NO_AUTOSAVE"] = "1"
    full.update(env or {})
    cmd = [sys.executable, "-m", "explorer.bench.gui_stalls", name, plan.name]
    with tempfile.TemporaryDirectory() as cache:  # no layout or codes cached by an earlier moment
        full["EXPLORER_CACHE_DIR"] = cache
        proc = subprocess.run(cmd, capture_output=True, text=True, env=full, timeout=1800)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError((proc.stderr.strip().splitlines() or [f"the {name} moment failed"])[-1])
    return json.loads(lines[-1])


def _describe(s: dict) -> str:
    cpu = ""
    if np.isfinite(s.get("cpu_max", float("nan"))):
        cpu = f" (GUI thread CPU {s['cpu_longest']:.0f} ms of it; most CPU in one gap {s['cpu_max']:.0f} ms)"
    return (
        f"longest {s['longest']:.0f} ms{cpu}, 99th percentile {s['p99']:.0f} ms, {s['over']} gaps "
        f"> 50 ms of {s['ticks']} ticks"
    )


def app_stall_rows(plan: Plan) -> list[Row]:
    """The three rows (see the module docstring)."""
    rows = []
    start = run_moment("startup", plan)
    rows.append(
        Row(
            "longest GUI stall in the app: start-up",
            start["longest"],
            start["idle"]["longest"],
            "ms",
            "< 50 ms",
            start["longest"] < 50.0,
            True,
            f"from the main window's first event-loop turn until the sample data, models, codes and "
            f"first layout are in ({start['seconds']:.1f} s, UMAP warm-up on); {_describe(start)}; "
            f"before it, the splash {start['to_splash_s']:.1f} s after the process started, the "
            f"engines imported under it in {start['imports_s']:.1f} s, the views built in "
            f"{start['views_s']:.1f} s: the window {start['to_window_s']:.1f} s after the start "
            f"({start['cpu_to_window_s']:.1f} s of CPU); reference: the same window idle, "
            f"{_describe(start['idle'])}",
        )
    )
    ours = run_moment("umap", plan)
    ref = run_moment("umap", plan, {"EXPLORER_LAYOUT_CHILD": "0"})
    rows.append(
        Row(
            f"longest GUI stall in the app: UMAP of {plan.app_umap_n:,} points",
            ours["longest"],
            ref["longest"],
            "ms",
            "< 50 ms",
            ours["longest"] < 50.0 and ours["finished"],
            True,
            f"scatter method set to UMAP on pixel codes until the layout is in: ours in the layout "
            f"process, {ours['seconds']:.1f} s, {ours['frames']} frames, {_describe(ours)}; reference: "
            f"the same in a worker thread of the GUI process, {ref['seconds']:.1f} s, {ref['frames']} "
            f"frames, {_describe(ref)}",
        )
    )
    train = run_moment("train", plan)
    rows.append(
        Row(
            "longest GUI stall in the app: a training run",
            train["longest"],
            train["idle"]["longest"],
            "ms",
            "< 50 ms",
            train["longest"] < 50.0 and train["finished"],
            True,
            f"ae on sample:mnist, {plan.app_train_epochs} epochs from the training dialog, live "
            f"scatter on, until its codes are in ({train['seconds']:.1f} s, "
            f"{train['items_per_s']:,.0f} items/s); {_describe(train)}; reference: the same app "
            f"idle for 2 s, {_describe(train['idle'])}",
        )
    )
    speed = train.get("speed") or {}
    if speed:
        rows.append(_speed_row(plan, speed))
    return rows


def _speed_row(plan: Plan, sp: dict) -> Row:
    """The dialog's run against the same settings headless (the moment's alternated pairs)."""
    ratios = ", ".join(f"{r:.2f}" for r in sp["ratios"])
    return Row(
        "training in the app: the dialog's run vs the same settings headless",
        sp["headless_items_per_s"] * sp["ratio"],
        sp["headless_items_per_s"],
        "items/s",
        "ratio >= 0.95",
        sp["ratio"] >= 0.95,
        False,
        f"ae on sample:mnist, {plan.app_speed_epochs} epochs a run, {len(sp['ratios'])} alternated "
        f"pairs in one process (the dialog's run with live scatter, loss plots and reconstructions, "
        f"then its TrainConfig driven as `explorer train` drives it); the figure is the headless "
        f"median x the median of the pairs' items/s ratios ({ratios}; items/s of the training "
        f"steps: probes, validation and the time the worker steps aside left out); whole runs "
        f"{sp['run_seconds']:.1f} s vs {sp['headless_seconds']:.1f} s; training thread CPU "
        f"dialog / headless {sp['train_cpu_ratio']:.3f}, the process's {sp['process_cpu_ratio']:.2f}; "
        f"GUI thread CPU in a dialog run {sp['gui_cpu_s']:.2f} s, the live views' CPU "
        f"(GUI thread and threads beyond the headless run's) {100 * sp['live_cpu_share']:.0f}% of "
        f"the training thread's; the training thread waited for a "
        f"core {sp['train_wait_s']:.2f} s a run vs {sp['headless_wait_s']:.2f} s headless; load "
        f"average {sp['load'][0]:.1f}-{sp['load'][1]:.1f}",
    )


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in MOMENTS:
        sys.exit(f"usage: python -m explorer.bench.gui_stalls {'|'.join(MOMENTS)} PLAN")
    from explorer.bench.plan import PLANS

    from explorer.bench import stall_trace

    if stall_trace.enabled():
        stall_trace.start()
    result = MOMENTS[sys.argv[1]](PLANS[sys.argv[2]])
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)  # background loaders and layout processes need not be waited for
