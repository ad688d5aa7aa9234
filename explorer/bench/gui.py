"""The bench rows that need Qt (bench is the top layer, the one besides ui that may use Qt).

- scatter pan/zoom frame time: the scatter view's renderer vs a plain pyqtgraph ScatterPlotItem
  with a brush per point, each in an 800 x 600 plot, a frame being one view-range change plus a
  full synchronous render of the widget (``grab``);
- training throughput in the GUI worker (TaskRunner with a running event loop) vs headless;
- the longest GUI event-loop stall while training and t-SNE run together in workers (reference:
  the same jobs in two other processes);
- (time from a fresh process to the first window: :mod:`explorer.bench.gui_startup`).

Every function returns a list of :class:`explorer.bench.table.Row`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from explorer.bench.plan import Plan
from explorer.bench.table import Row
from explorer.bench.gui_scatter import PlotFrames, make_renderer, pan_zoom_ranges, scatter_points

PLOT_SIZE = (800, 600)


def _app():
    from explorer.ui.qt_setup import configure_pyqtgraph, ensure_app

    app = ensure_app()
    configure_pyqtgraph()
    return app


def _order(repeats: int) -> list[bool]:
    from explorer.bench.rows import _order as order

    return order(repeats)


# ---- scatter ----------------------------------------------------------------------------------
class PlainScatter(PlotFrames):
    """The reference: a PlotWidget with one ScatterPlotItem, a brush per point (pyqtgraph's
    fastest settings otherwise: pxMode, no outline)."""

    def __init__(self, xy: np.ndarray, labels: np.ndarray) -> None:
        import pyqtgraph as pg

        self.widget = pg.PlotWidget()
        self.widget.resize(*PLOT_SIZE)
        colours = [pg.intColor(i, hues=10) for i in range(10)]
        palette = [pg.mkBrush(c) for c in colours]
        brushes = np.empty(len(labels), dtype=object)
        brushes[:] = [palette[i] for i in labels % 10]
        self.item = pg.ScatterPlotItem(
            x=xy[:, 0],
            y=xy[:, 1],
            pxMode=True,
            size=3,
            pen=None,
            brush=brushes,
            data=np.arange(len(xy)),
        )
        self.widget.addItem(self.item)
        self.widget.show()


def _empty_frame_ms(rects) -> float:
    """Median frame time of the same plot with no points: axes, grid and ``grab`` alone, the floor
    under both renderers on this machine."""
    empty = PlainScatter(np.zeros((0, 2), np.float32), np.zeros(0, np.int64))
    times = empty.frame_times_ms(rects)
    empty.close()
    return statistics.median(times)


def _hover_note(n: int) -> str:
    """The scatter view's hover pick time."""
    from explorer.bench.gui_scatter import hover_pick_ms

    build, ms = hover_pick_ms(n)
    return f"; ours: hover pick {ms:.2f} ms (spatial index built in {build:.2f} s)"


def scatter_rows(plan: Plan) -> list[Row]:
    from PySide6.QtWidgets import QApplication

    app = _app()
    rows = []
    for n, frames in zip(plan.scatter_sizes, plan.scatter_frames):
        target_ms = 10.0 if n <= 100_000 else 50.0
        measure = f"scatter pan/zoom frame, {n:,} points"
        xy, labels = scatter_points(n)
        rects = pan_zoom_ranges(xy, frames)
        t0 = time.perf_counter()
        ref = PlainScatter(xy, labels)
        ref_setup = time.perf_counter() - t0
        t0 = time.perf_counter()
        ours = make_renderer(xy, labels, PLOT_SIZE)  # the scatter view's own renderer
        ours_setup = time.perf_counter() - t0
        app.processEvents()
        ours_t, ref_t = [], []
        note = (
            f"median over {plan.scatter_repeats} x {frames} frames of {PLOT_SIZE[0]}x{PLOT_SIZE[1]} "
            f"(setRange + grab); set-up: reference {ref_setup:.2f} s, ours {ours_setup:.2f} s"
        )
        for is_ours in _order(plan.scatter_repeats):
            (ours_t if is_ours else ref_t).extend((ours if is_ours else ref).frame_times_ms(rects))
            QApplication.processEvents()
        ref.close()
        note += f"; an empty plot takes {_empty_frame_ms(rects):.1f} ms a frame here" + _hover_note(n)
        ours.close()
        o = statistics.median(ours_t)
        rows.append(
            Row(measure, o, statistics.median(ref_t), "ms", f"< {target_ms:g} ms", o < target_ms, True, note)
        )
        del ref, ours
        app.processEvents()
    return rows


# ---- training in the GUI worker ---------------------------------------------------------------
def _run_in_worker(make_job, timeout_s: float = 3600.0):
    """Run ``make_job()`` in a TaskRunner while this thread spins a QEventLoop; (seconds, result)."""
    from PySide6.QtCore import QEventLoop, QTimer

    from explorer.ui.workers import TaskRunner

    runner = TaskRunner()
    loop = QEventLoop()
    out: dict = {}
    runner.done.connect(lambda tag, result: (out.__setitem__("result", result), loop.quit()))
    runner.failed.connect(lambda tag, message: (out.__setitem__("error", message), loop.quit()))
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    t0 = time.perf_counter()
    runner.start(make_job, tag="bench")
    loop.exec()
    seconds = time.perf_counter() - t0
    runner.shutdown()
    if "error" in out:
        raise RuntimeError(out["error"])
    if "result" not in out:
        raise TimeoutError("the worker did not finish in time")
    return seconds, out["result"]


def training_rows(plan: Plan) -> list[Row]:
    from explorer.bench.rows import train_headless_seconds, train_setup
    from explorer.training.engine import train
    from explorer.ui import gui_gc

    _app()
    data, config, items = train_setup(plan)
    train_headless_seconds(data, config)  # warm-up: torch's first-use costs hit neither side
    gui_t, cli_t, gui_cpu, cli_cpu = [], [], [], []

    def timed_job():  # the training thread's own CPU time (load-independent)
        t = time.thread_time()
        result = yield from train(config, data)
        gui_cpu.append(time.thread_time() - t)
        return result

    for in_gui in _order(plan.train_repeats):
        if in_gui:
            gui_t.append(_run_in_worker(timed_job)[0])
        else:
            t = time.thread_time()
            with gui_gc.automatic():  # Python's own collector, as in the `explorer train` process
                cli_t.append(train_headless_seconds(data, config))
            cli_cpu.append(time.thread_time() - t)
    gc, cc = statistics.median(gui_cpu), statistics.median(cli_cpu)
    # each GUI run against the reference run beside it (_order runs them in adjacent pairs), so a
    # load that changes over the row moves both of a pair alike: the row's figure is the reference's
    # throughput times the median pair ratio (the ratio of the two medians is in the note)
    pair_wall = statistics.median(c / g for g, c in zip(gui_t, cli_t))
    pair_cpu = statistics.median(c / g for g, c in zip(gui_cpu, cli_cpu))
    cli = items / statistics.median(cli_t)
    gui = cli * pair_wall
    medians = statistics.median(cli_t) / statistics.median(gui_t)
    note = (
        f"ae on {plan.train_data}, {plan.train_epochs} epoch(s), {config.threads} torch thread(s), "
        f"CPU; items/s over the whole run (validation included), median of {plan.train_repeats}; "
        f"the training thread's CPU time a run: GUI worker {gc:.2f} s, main thread {cc:.2f} s "
        f"(ratio {cc / gc:.3f}; at a load above the cores both the wall and the CPU times vary "
        f"+-15% run to run); the median of the {len(gui_t)} adjacent pairs' ratios: wall "
        f"{pair_wall:.3f} (the row's ratio), training thread CPU {pair_cpu:.3f}; the ratio of the "
        f"medians {medians:.3f}"
    )
    return [
        Row(
            "training throughput: GUI worker vs `explorer train`",
            gui,
            cli,
            "items/s",
            "ratio >= 0.95",
            gui / cli >= 0.95,
            False,
            note,
        )
    ]


# ---- event-loop stalls ------------------------------------------------------------------------
class GapMeter:
    """A 5 ms QTimer on the GUI thread; ``gaps`` are the times between its ticks (ms)."""

    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self._last: float | None = None

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append(1e3 * (now - self._last))
        self._last = now

    def run_for(self, seconds: float) -> float:
        """Spin the event loop for ``seconds`` with the timer on; the longest gap (ms)."""
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        self.gaps, self._last = [], None
        self.timer.start()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()
        self.timer.stop()
        return max(self.gaps) if self.gaps else float("nan")


def _gap_stats(gaps: list[float]) -> tuple[float, float, int]:
    """(longest, 99th percentile, count over 50 ms) of timer gaps in ms."""
    if not gaps:
        return float("nan"), float("nan"), 0
    return max(gaps), float(np.percentile(gaps, 99)), sum(g > 50 for g in gaps)


def _work_in_other_processes(plan: Plan, codes: np.ndarray, meter: GapMeter) -> list[list[float]]:
    """The same two jobs as `explorer train` and `explorer project --method tsne` processes while
    this GUI thread only ticks: what the machine's scheduling alone does to the timer."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "codes.npy")
        np.save(path, codes)
        base = [sys.executable, "-m", "explorer"]
        cmds = [
            base
            + [
                "train",
                "--model",
                "ae",
                "--data",
                plan.train_data,
                "--epochs",
                "1000",
                "--device",
                "cpu",
                "--out",
                os.path.join(tmp, "ae.safetensors"),
            ],
            base + ["project", "--codes", path, "--method", "tsne", "--out", os.path.join(tmp, "xy.npy")],
        ]
        procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in cmds]
        try:
            meter.run_for(min(8.0, max(1.0, plan.stall_seconds)))  # let them import and get busy
            windows = []
            for _ in range(plan.stall_windows):
                meter.run_for(plan.stall_seconds)
                windows.append(list(meter.gaps))
            return windows
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()


def _busy_gaps(plan: Plan, meter: GapMeter, data, config, codes, from_first_frame: bool = False) -> dict:
    """Tick ``meter`` for ``plan.stall_seconds`` while a training run and a t-SNE run work in two
    TaskRunners and the t-SNE frames are drawn into a scatter plot; gap statistics. With
    ``from_first_frame`` the timer starts once t-SNE draws its first layout (both jobs in their
    steady loops), else as the jobs start (imports and set-up included)."""
    from PySide6.QtCore import QEventLoop, QTimer

    import pyqtgraph as pg

    from explorer.projection import project_job
    from explorer.training.engine import train
    from explorer.ui.workers import TaskRunner

    long_config = type(config)(**{**config.__dict__, "epochs": 1000})
    plot = pg.PlotWidget()
    plot.resize(*PLOT_SIZE)
    item = pg.ScatterPlotItem(pxMode=True, size=3, pen=None, brush=pg.mkBrush(40, 90, 200))
    plot.addItem(item)
    plot.show()
    frames = {"n": 0}

    def draw(tag, record) -> None:
        if getattr(record, "payload", None) is not None:
            item.setData(pos=record.payload)
            frames["n"] += 1

    trainer, projector = TaskRunner(), TaskRunner()
    projector.partial.connect(draw)
    trainer.start(lambda: train(long_config, data), tag="train")
    projector.start(lambda: project_job(codes, "tsne", seed=0), tag="tsne")
    if from_first_frame:
        wait = QEventLoop()
        projector.partial.connect(lambda *_: wait.quit() if frames["n"] else None)
        QTimer.singleShot(120_000, wait.quit)
        wait.exec()
    drawn_before = frames["n"]
    meter.run_for(plan.stall_seconds)
    longest, p99, over = _gap_stats(meter.gaps)
    trainer.shutdown(60_000)
    projector.shutdown(60_000)
    plot.close()
    plot.deleteLater()
    return {
        "longest": longest,
        "p99": p99,
        "over": over,
        "ticks": len(meter.gaps),
        "frames": frames["n"] - drawn_before,
    }


def _stall_setup(plan: Plan):
    from explorer.bench.codes import mnist_codes
    from explorer.bench.rows import train_setup

    _app()
    data, config, _ = train_setup(plan)
    codes, _ = mnist_codes(plan.stall_tsne_n)
    return data, config, codes


def _stall_child(plan_name: str) -> None:
    """In a fresh process: the app's first training + t-SNE (imports and first-use costs included)."""
    from explorer.bench.plan import PLANS

    plan = PLANS[plan_name]
    data, config, codes = _stall_setup(plan)
    stats = _busy_gaps(plan, GapMeter(), data, config, codes)
    sys.stdout.write(json.dumps(stats) + "\n")
    sys.stdout.flush()
    os._exit(0)


def _stall_cold(plan: Plan) -> dict:
    env = dict(os.environ)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    cmd = [sys.executable, "-m", "explorer.bench.gui", "stall", plan.name]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError((proc.stderr.strip().splitlines() or ["the stall child failed"])[-1])
    return json.loads(lines[-1])


def stall_rows(plan: Plan) -> list[Row]:
    """The longest gap between 5 ms timer ticks on the GUI thread while training and t-SNE work in
    two TaskRunners (frames drawn): warm (this process has run both before) and the first time in
    a fresh process. Reference: the same two jobs as `explorer train` / `explorer project`
    processes, so only the machine's scheduling is left; the note adds the idle timer."""
    data, config, codes = _stall_setup(plan)
    meter = GapMeter()
    meter.run_for(plan.stall_seconds)
    idle = _gap_stats(meter.gaps)
    _busy_gaps(plan, meter, data, config, codes)  # first run here: imports and first-use costs
    warm_windows = [
        _busy_gaps(plan, meter, data, config, codes, from_first_frame=True) for _ in range(plan.stall_windows)
    ]
    warm = statistics.median(w["longest"] for w in warm_windows)
    other_windows = [_gap_stats(g) for g in _work_in_other_processes(plan, codes, meter)]
    elsewhere = statistics.median(w[0] for w in other_windows)
    cold = _stall_cold(plan)
    work = (
        f"ae training ({plan.train_data}) + t-SNE of {plan.stall_tsne_n:,} codes started in two "
        f"workers, t-SNE frames drawn, timer watched for {plan.stall_seconds:g} s"
    )
    ref = (
        f"reference: the same jobs as two other processes (longest per window "
        f"{', '.join(f'{w[0]:.0f}' for w in other_windows)} ms; 99th percentile "
        f"{max(w[1] for w in other_windows):.0f} ms); nothing running: longest {idle[0]:.0f} ms, "
        f"99th percentile {idle[1]:.0f} ms"
    )

    def describe(stats: dict) -> str:
        return (
            f"longest {stats['longest']:.0f} ms, {stats['frames']} frames, {stats['ticks']} ticks, "
            f"{stats['over']} gaps > 50 ms, 99th percentile {stats['p99']:.0f} ms"
        )

    return [
        Row(
            "longest GUI event-loop stall, training + t-SNE (warm)",
            warm,
            elsewhere,
            "ms",
            "< 50 ms",
            warm < 50.0,
            True,
            f"median over {plan.stall_windows} windows of {work} from t-SNE's first frame; per window: "
            f"{'; '.join(describe(w) for w in warm_windows)}; {ref}",
        ),
        Row(
            "longest GUI event-loop stall, training + t-SNE (first in a fresh process)",
            cold["longest"],
            elsewhere,
            "ms",
            "< 50 ms",
            cold["longest"] < 50.0,
            True,
            f"{work}, imports and first-use costs included; {describe(cold)}",
        ),
    ]


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "stall":
        _stall_child(sys.argv[2])
    else:
        sys.exit("usage: python -m explorer.bench.gui stall PLAN")
