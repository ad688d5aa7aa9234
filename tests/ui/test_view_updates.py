"""Workspace events reach a shown view at once and a hidden one when it is shown, coalesced
(explorer/ui/view_updates.py): the end of a training run redraws only the view being looked at."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QTabWidget, QWidget

from explorer.ui.view_updates import build_view


class CountingView(QWidget):
    """Counts its slot calls, and which events it saw in what order."""

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.calls: list[tuple] = []
        ctx.qws.connect_view(self)

    def _on_models_changed(self) -> None:
        self.calls.append(("models", sorted(self.ctx.workspace.models)))

    def _on_codes_changed(self, model: str) -> None:
        self.calls.append(("codes", model))

    def _on_selection_changed(self) -> None:
        self.calls.append(("selection", self.ctx.workspace.selection.tolist()))

    def _on_labels_changed(self, indices) -> None:
        self.calls.append(("labels", indices.tolist()))


@pytest.fixture
def bare():
    """A context without services (no code service encoding the stand-in models)."""
    from explorer.ui.context import AppContext

    return AppContext.standalone()


@pytest.fixture
def tabs(qtbot, bare):
    """Three counting views as tabs of a shown window; the first is the current tab."""
    ctx = bare
    win = QTabWidget()
    qtbot.addWidget(win)
    views = [build_view(ctx, CountingView) for _ in range(3)]
    for k, v in enumerate(views):
        win.addTab(v, f"view {k}")
    win.show()
    qtbot.waitExposed(win)
    return win, views


def _codes(n=4):
    return np.zeros((n, 2), np.float32)


def test_a_new_model_and_its_codes_redraw_only_the_shown_view(tabs, bare):
    ctx = bare
    win, (shown, hidden, other) = tabs
    ws = ctx.workspace
    ws.add_model("ae (run)", object())  # the end of a training run: the model, then its codes
    ws.set_codes("ae (run)", _codes())
    assert shown.calls == [("models", ["ae (run)"]), ("codes", "ae (run)")]
    assert hidden.calls == [] and other.calls == []
    assert hidden.ctx.qws.waiting() and hidden.ctx.qws.hidden() and not shown.ctx.qws.waiting()


def test_a_hidden_view_gets_what_it_missed_once_when_shown(tabs, bare):
    ctx = bare
    win, (shown, hidden, other) = tabs
    ws = ctx.workspace
    for k in range(3):  # three runs end while the view is hidden; the first model's codes twice
        ws.add_model(f"m{k}", object())
        ws.set_codes("m0", _codes())
    assert hidden.calls == []
    win.setCurrentIndex(1)  # shown: up to date before its first paint, each event once
    assert hidden.calls == [("models", ["m0", "m1", "m2"]), ("codes", "m0")]
    assert hidden.ctx.qws.delivered == {"models": 1, "codes": 1}
    assert not hidden.ctx.qws.waiting()
    assert other.calls == []  # still hidden
    assert len(shown.calls) == 6  # it was shown all along: every event at once, in its call
    ws.add_model("m3", object())  # now shown: at once
    assert hidden.calls[-1] == ("models", ["m0", "m1", "m2", "m3"])


def test_waiting_events_keep_their_order_and_each_label_edit(tabs, bare, digits_300):
    ctx = bare
    win, (shown, hidden, other) = tabs
    ws = ctx.workspace
    ws.set_dataset(digits_300)
    win.setCurrentIndex(1)
    win.setCurrentIndex(0)
    hidden.calls.clear()
    ws.set_selection([3])
    ws.add_model("m", object())
    ws.set_selection([5])  # the second selection moves behind the model
    ws.set_labels([7], ["1"])
    ws.set_labels([8], ["2"])  # label edits carry their items: both are delivered
    win.setCurrentIndex(1)
    assert hidden.calls == [("models", ["m"]), ("selection", [5]), ("labels", [7]), ("labels", [8])]


def test_a_window_not_shown_gets_every_event_at_once(qtbot, bare):
    ctx = bare
    views = [build_view(ctx, CountingView) for _ in range(2)]
    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    for v in views:
        tabs.addTab(v, "v")
    ctx.workspace.add_model("m", object())  # (tests and offscreen scripts drive views unshown)
    assert all(v.calls == [("models", ["m"])] for v in views)


def test_flush_brings_hidden_views_up_to_date_and_they_are_not_busy_meanwhile(tabs, bare):
    ctx = bare
    from explorer.ui.services import any_busy

    win, views = tabs
    views[1].busy = lambda: True  # (a view whose work waits for the codes it has not been told)
    ctx.workspace.add_model("m", object())
    assert not any_busy(ctx, views)  # its work has not started: nothing to wait for
    assert ctx.services["view_updates"].waiting() == 2
    ctx.services["view_updates"].flush()
    assert all(v.calls == [("models", ["m"])] for v in views)
    assert any_busy(ctx, views)


def test_real_views_a_hidden_verification_view_follows_the_new_model_when_shown(qtbot, ctx, digits_300):
    from explorer.ui.views import retrieval, verification

    ws = ctx.workspace
    ws.set_dataset(digits_300)
    ws.add_model("pixels", None)
    ws.set_codes("pixels", digits_300.float_images().reshape(300, -1))
    win = QTabWidget()
    qtbot.addWidget(win)
    shown = build_view(ctx, retrieval.View)
    hidden = build_view(ctx, verification.View)
    win.addTab(shown, "retrieval")
    win.addTab(hidden, "verification")
    win.show()
    qtbot.waitExposed(win)
    codes = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    ws.add_model("ae (digits)", None)
    ws.set_codes("ae (digits)", codes)
    names = lambda combo: [combo.itemText(i) for i in range(combo.count())]  # noqa: E731
    assert "ae (digits)" in names(shown.columns[1].combo)
    assert "ae (digits)" not in names(hidden.model_combo)  # not redrawn while hidden
    win.setCurrentIndex(1)
    assert "ae (digits)" in names(hidden.model_combo)
    assert hidden.ctx.qws.delivered == {"models": 1, "codes": 1}
    for view in (shown, hidden):
        getattr(view, "shutdown", lambda: None)()
