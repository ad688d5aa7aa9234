"""The start-up row (needs Qt): process start to the first window shown, as ``explorer`` starts
(the splash screen; the main window's and the opened data's times in the note), against python +
PySide6 showing an empty QMainWindow. Each start in a fresh process
(``python -m explorer.bench.gui_startup startup|startup-reference``)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from explorer.bench.plan import Plan
from explorer.bench.table import Row


def _startup_child(reference: bool) -> None:
    """In a fresh process: start the app as ``explorer`` does (splash, engines imported, views
    built, main window) or, as the reference, show a bare QMainWindow; print the wall-clock times
    when the first window (the splash) showed, when the main window showed and when the sample data
    had opened."""
    from PySide6.QtCore import QTimer

    marks: dict = {}
    if reference:
        from PySide6.QtWidgets import QApplication, QMainWindow

        app = QApplication(sys.argv[:1])
        win = QMainWindow()
        win.resize(1200, 800)
        win.show()
        QTimer.singleShot(0, lambda: (marks.__setitem__("shown", time.time()), app.quit()))
    else:
        from explorer.ui.app import ensure_app, open_main_window

        app = ensure_app()
        times: dict = {}
        win = open_main_window(marks=times)  # the sample data and the default models, as `explorer` does
        win.opened.connect(lambda spec: app.quit())
        QTimer.singleShot(0, lambda: app.quit() if "opened" in times else None)
        QTimer.singleShot(60_000, app.quit)
    app.exec()
    if not reference:
        clock = time.time() - time.perf_counter()  # perf_counter -> wall clock
        marks.update(
            {
                k: clock + times[m]
                for k, m in [("shown", "splash"), ("window", "shown"), ("opened", "opened")]
                if m in times
            }
        )
    sys.stdout.write(json.dumps(marks) + "\n")
    sys.stdout.flush()
    os._exit(0)  # do not wait for background loaders: only the marks matter


def _startup_once(reference: bool) -> dict:
    env = dict(os.environ)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    child = "startup-reference" if reference else "startup"
    cmd = [sys.executable, "-m", "explorer.bench.gui_startup", child]
    t0 = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    lines = proc.stdout.strip().splitlines()
    marks = json.loads(lines[-1]) if lines else {}
    return {k: v - t0 for k, v in marks.items()}


def startup_rows(plan: Plan) -> list[Row]:
    from explorer.bench.rows import _order  # (not at import: the child measures a clean start)

    ours, ref, opened, window = [], [], [], []
    for is_ours in _order(plan.startup_repeats):
        marks = _startup_once(reference=not is_ours)
        if "shown" not in marks:
            raise RuntimeError("the start-up child printed no time")
        (ours if is_ours else ref).append(marks["shown"])
        if is_ours and "opened" in marks:
            opened.append(marks["opened"])
        if is_ours and "window" in marks:
            window.append(marks["window"])
    o = statistics.median(ours)
    note = (
        f"process start to the first window shown (the splash screen), median of {len(ours)}; "
        + (
            f"the main window, its views built, after {statistics.median(window):.2f} s (the engines "
            "import under the splash); "
            if window
            else ""
        )
        + (f"sample data open after {statistics.median(opened):.2f} s; " if opened else "")
        + "reference: python + PySide6 showing an empty QMainWindow"
    )
    return [
        Row(
            "start-up: `explorer` to a window shown (the splash)",
            o,
            statistics.median(ref),
            "s",
            "< 2 s",
            o < 2.0,
            True,
            note,
        )
    ]


if __name__ == "__main__":
    if sys.argv[1:] == ["startup"]:
        _startup_child(reference=False)
    elif sys.argv[1:] == ["startup-reference"]:
        _startup_child(reference=True)
    else:
        sys.exit("usage: python -m explorer.bench.gui_startup startup|startup-reference")
