"""Soak: thousands of pans and zooms on our scatter view and several training runs in one process.

The Qt binding must neither drop nor leak references to None. PySide6 6.12.0 on Python 3.11 drops
them in plain pyqtgraph paints until None's count reaches zero (``Fatal Python error: none_dealloc``
within a few hundred pans); 6.10 and 6.11 leak them instead (the count rises by thousands). So each
soak measures ``sys.getrefcount(None)`` after a warm-up and between rounds, with a garbage
collection before each reading, and fails on a count that falls or rises round after round. A crash
fails the run outright. On Python 3.12 and later None is immortal and its count says nothing; the
soak still runs there (a crash would still show).
"""

from __future__ import annotations

import gc
import sys

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

NONE_IMMORTAL = sys.version_info >= (3, 12)
# Measured on Python 3.11 (readings after gc): a sound binding (6.8.3, 6.9.3) moves None's count by
# under 5 a round on the scatter and under 5 a training run; 6.11.3 adds ~2,500 a scatter round and
# ~100 a run, 6.12.0 takes ~1,000 a run away and crashes during the first scatter round.
RISE_PER_ROUND = 50
# In a full test run, threads left by earlier tests (layout processes' readers, workers winding
# down) move None's count by 50-100 a scatter round (seen: +99, +8, +65, +39); alone it is flat.
# The leaking binding adds ~2,500 a round, so the scatter soak's bar sits well between the two.
SCATTER_RISE_PER_ROUND = 500
FALL_SLACK = 200


def none_refs() -> int:
    """References to None after a full collection (meaningless where None is immortal)."""
    gc.collect()
    return sys.getrefcount(None)


def assert_no_none_drift(counts: list[int], what: str, rise_per_round: float = RISE_PER_ROUND) -> None:
    """Fail when None's count falls below the first reading or rises in every round."""
    if NONE_IMMORTAL:
        return
    base = counts[0]
    steps = np.diff(counts)
    lowest = min(counts)
    assert lowest >= base - FALL_SLACK, (
        f"{what}: references to None fell from {base} to {lowest} ({counts}); the Qt binding drops "
        "them and will crash with 'none_dealloc'. Pin PySide6 as pyproject.toml says."
    )
    rising = bool(np.all(steps > 0)) and (counts[-1] - base) / len(steps) > rise_per_round
    assert not rising, (
        f"{what}: references to None rose in every round ({counts}); the Qt binding leaks them."
    )


def _mouse(widget, kind, pos, button, buttons):
    return QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)


def pan(widget, dx: float, dy: float) -> None:
    """One left-button drag across ``widget`` (press, two moves, release), as a hand would."""
    c = QPointF(widget.width() / 2, widget.height() / 2)
    end = c + QPointF(dx, dy)
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    QApplication.sendEvent(widget, _mouse(widget, QEvent.Type.MouseButtonPress, c, left, left))
    QApplication.sendEvent(widget, _mouse(widget, QEvent.Type.MouseMove, (c + end) / 2, none, left))
    QApplication.sendEvent(widget, _mouse(widget, QEvent.Type.MouseMove, end, none, left))
    QApplication.sendEvent(widget, _mouse(widget, QEvent.Type.MouseButtonRelease, end, left, none))


def wheel(widget, steps: int) -> None:
    """One mouse-wheel notch (120 units per step) at the middle of ``widget``."""
    c = QPointF(widget.width() / 2, widget.height() / 2)
    QApplication.sendEvent(
        widget,
        QWheelEvent(
            c,
            widget.mapToGlobal(c),
            QPoint(0, 0),
            QPoint(0, 120 * steps),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        ),
    )


def test_thousands_of_pans_and_zooms_keep_none_counted(qtbot, digits_set):
    from explorer.ui.context import AppContext
    from explorer.ui.views.scatter import View

    data = digits_set.subset(np.arange(600))
    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(data)
    ctx.workspace.set_codes("pixels", data.float_images().reshape(len(data.images), -1))
    view = View(ctx)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    side = view.sides[0]
    qtbot.waitUntil(lambda: not view.busy() and side.layout is not None, timeout=30000)
    panel = side.panel
    vp = panel.plot_widget.viewport()
    moved = []
    panel.user_moved_view.connect(lambda: moved.append(1))

    def round_(n: int) -> None:
        for i in range(n):
            sign = 1 if i % 2 else -1
            pan(vp, 15 * sign, 9 * sign)
            wheel(vp, sign)
            if i % 10 == 0:  # paint as a window would (axes, points, hover card)
                panel.plot_widget.grab()
                QApplication.processEvents()

    round_(100)  # warm-up: pyqtgraph's and Qt's caches fill
    # pyqtgraph makes a SpotItem per point lazily, when a pick or hover first lands on it (a bounded
    # cache that would read as a slow rise); make them all now
    panel.cloud.scatter.points()
    counts = [none_refs()]
    for _ in range(4):
        round_(400)
        counts.append(none_refs())
    assert (
        len(moved) > 1700
    )  # the events reached the view box and moved the view (1,700 drags + 1,700 notches)
    print(f"\nreferences to None across pans/zooms: {counts}")
    assert_no_none_drift(counts, "pans and zooms on the scatter", SCATTER_RISE_PER_ROUND)
    for s in view.sides:
        s.runner.shutdown()


@pytest.fixture
def dialog(open_dialog, digits_set):
    return open_dialog(digits_set.subset(np.arange(600)))


def test_training_runs_in_one_process_keep_none_counted(qtbot, dialog, tmp_path):
    ctx = dialog.ctx
    counts = []
    for run in range(4):
        dialog.set_model("ae")
        dialog.epochs.setValue(3)
        dialog.batch_size.setValue(32)
        dialog.code_dim.setValue(8)
        dialog.options.editor("hidden").setText("32")
        dialog.save_path.setText(str(tmp_path / f"run{run}.safetensors"))
        with qtbot.waitSignal(dialog.finished_model, timeout=60000) as blocker:
            dialog.start()
        name = blocker.args[0]
        qtbot.waitUntil(lambda name=name: name in ctx.workspace.codes, timeout=30000)
        qtbot.waitUntil(dialog.runner.is_idle, timeout=10000)
        ctx.workspace.remove_model(name)  # keep what the runs leave behind the same each round
        counts.append(none_refs())
    print(f"\nreferences to None after each training run: {counts}")
    assert_no_none_drift(counts[1:], "training runs of the dialog")  # run 0 warms torch up
