"""Child process of tests/ui/test_gui_gc.py: garbage QMenu/QAction cycles pending while pyqtgraph
items are re-parented between plots, and Python allocating inside Qt's ``QObject::disconnect`` (a
Python ``disconnectNotify``: Qt calls it with its signal-slot mutex held, where PySide's override
lookup allocates). Python's automatic collector, run by such an allocation, frees the menus there and
``~QObject`` waits for the mutex its own thread holds: ``--automatic`` (the code before gui_gc)
hangs within a few rounds. Prints ``rounds R menus M by-timer T`` (menus freed by gui_gc's timer
before the final collection) and ``menus-left L`` after it.
"""

from __future__ import annotations

import gc
import os
import sys
import time
import weakref

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import pyqtgraph as pg
from PySide6.QtWidgets import QMenu

from explorer.ui import gui_gc
from explorer.ui.qt_setup import ensure_app

ROUNDS, MENUS, ACTIONS = 40, 3, 50


class Plot(pg.PlotWidget):
    def disconnectNotify(self, signal):
        # tracked allocations inside Qt's disconnect: several young collections' worth
        junk = [[] for _ in range(12 * gc.get_threshold()[0])]
        del junk


def garbage_menus(n: int) -> list[weakref.ref]:
    """``n`` parentless menus of ``ACTIONS`` connected actions, each in a reference cycle."""
    refs = []
    for _ in range(n):
        menu = QMenu()
        for i in range(ACTIONS):
            menu.addAction(f"action {i}").triggered.connect(menu.close)
        menu.cycle = menu  # only the cycle collector frees it
        refs.append(weakref.ref(menu))
    return refs


def main(automatic: bool) -> int:
    app = ensure_app()
    if automatic:
        gui_gc.uninstall()  # Python's automatic collector, as before gui_gc
    else:  # as the app runs: what start-up made is frozen; the timer looks often
        gui_gc.hold()
        gui_gc.release()
        gui_gc.INTERVAL_MS = gui_gc.BUSY_INTERVAL_MS = 2
    plots = [Plot(), Plot()]
    refs: list[weakref.ref] = []
    for r in range(ROUNDS):
        refs += garbage_menus(MENUS)
        item = pg.BarGraphItem(x=[1, 2], height=[1, 2], width=0.8)
        plots[r % 2].addItem(item)
        plots[(r + 1) % 2].addItem(item)  # re-parented: disconnected from the first plot's view
        plots[(r + 1) % 2].removeItem(item)
        deadline = time.perf_counter() + 0.004
        while time.perf_counter() < deadline:  # a few event-loop turns (the timer's ticks)
            app.processEvents()
    deadline = time.perf_counter() + 2.0
    while time.perf_counter() < deadline and any(ref() is not None for ref in refs):
        young = [[] for _ in range(1000)]  # an app allocates as it runs: passes come due
        app.processEvents()
        del young
    by_timer = sum(ref() is None for ref in refs)
    print(f"rounds {ROUNDS} menus {len(refs)} by-timer {by_timer}", flush=True)
    gc.collect()  # at a safe point, on the GUI thread
    print(f"menus-left {sum(ref() is not None for ref in refs)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main("--automatic" in sys.argv))
