"""The trust gate in the GUI: Open model / drops / sessions ask before a program-format file opens."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

import explorer.ui.main_window as mw
from explorer.core import session as sessions
from explorer.models import trust as gate
from explorer.ui.dialogs.trust import TRUST_BUTTON
from explorer.ui.main_window import MainWindow

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _shell_only(monkeypatch, tmp_path):
    monkeypatch.setattr(
        mw,
        "load_view_modules",
        lambda names=None: [__import__("explorer.ui.views.browser", fromlist=["View"])],
    )
    monkeypatch.setenv("EXPLORER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv(gate.ENV, raising=False)


def _torchscript(path, marker=None):
    """A sound TorchScript file for 8x8 digits, or (marker) one that hides torch.from_file."""
    if marker is not None:
        from tests.reliability import _programs

        path.write_bytes(_programs.torchscript_hiding_file_op(str(marker), "comment"))
        return
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 4)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.trace(net, torch.zeros(1, 1, 8, 8)), str(path))


def _visible(win, name):
    return [b for b in win.findChildren(QMessageBox, name) if b.isVisible()]


def _press(qtbot, win, name, text):
    qtbot.waitUntil(lambda: bool(_visible(win, name)), timeout=10000)
    box = _visible(win, name)[0]
    next(b for b in box.buttons() if b.text().replace("&", "") == text).click()


def _window(qtbot, ctx):
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.loader.models_idle, timeout=30000):
        win.start_loading("sample:digits", ["pixels"])
    return win


def test_open_model_asks_and_trust_and_open_loads_it(qtbot, ctx, tmp_path):
    win = _window(qtbot, ctx)
    path = tmp_path / "net.pt"
    _torchscript(path)
    with qtbot.waitSignal(win.loader.trust_needed, timeout=30000):
        win.loader.load_models([str(path)])
    assert "net.pt" not in ctx.workspace.models and win.last_error is None  # asked, not an error
    with qtbot.waitSignal(win.loader.models_loaded, timeout=30000) as got:
        _press(qtbot, win, "trustBox", TRUST_BUTTON)
    assert got.args[0] == ["net.pt"]
    assert gate.is_trusted(gate.file_sha256(path))
    qtbot.waitUntil(lambda: "net.pt" in ctx.workspace.codes, timeout=30000)
    assert ctx.workspace.codes["net.pt"].shape == (1797, 4)


def test_cancel_opens_nothing(qtbot, ctx, tmp_path):
    win = _window(qtbot, ctx)
    path = tmp_path / "net.pt"
    _torchscript(path)
    with qtbot.waitSignal(win.loader.trust_needed, timeout=30000):
        win.loader.load_models([str(path)])
    _press(qtbot, win, "trustBox", "Cancel")
    assert "not opened" in win.statusBar().currentMessage()
    assert win.statusBar() is win.status_bar and win.menuBar() is win.menu_bar  # the window made them
    assert set(ctx.workspace.models) == {"pixels"} and gate.trusted_entries() == []


def test_a_session_naming_a_hostile_program_shows_it_and_runs_nothing(qtbot, ctx, tmp_path):
    marker = tmp_path / "MARKER"
    _torchscript(tmp_path / "evil.pt", marker)
    path = tmp_path / "s.session"
    sessions.save_session(
        path,
        {
            "data": "sample:digits",
            "models": {"pixels": "pixels", "evil": "evil.pt"},
            "codes": {"evil": np.zeros((1797, 4), np.float32)},
        },
    )
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    assert win.open_session(str(path))
    qtbot.waitUntil(lambda: bool(_visible(win, "sessionOpenBox")), timeout=10000)
    text = _visible(win, "sessionOpenBox")[0].text()
    assert str(tmp_path / "evil.pt") in text and "TorchScript" in text  # what it will open, resolved
    with qtbot.waitSignal(win.loader.trust_needed, timeout=30000):
        _press(qtbot, win, "sessionOpenBox", "Open")
    qtbot.waitUntil(lambda: "pixels" in ctx.workspace.models, timeout=30000)
    assert "evil" not in ctx.workspace.models and not marker.exists()
    # trusting it anyway: the archive scan refuses it, with a message, and still nothing runs
    win.last_error = None
    _press(qtbot, win, "trustBox", TRUST_BUTTON)
    qtbot.waitUntil(lambda: win.last_error is not None, timeout=30000)
    assert "reads or writes files" in win.last_error and not marker.exists()
    assert "evil" not in ctx.workspace.models


def test_a_session_whose_open_is_cancelled_changes_nothing(qtbot, ctx, tmp_path):
    path = tmp_path / "s.session"
    _torchscript(tmp_path / "net.pt")
    sessions.save_session(path, {"data": "sample:digits", "models": {"net": "net.pt"}})
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.session_failed, timeout=10000):
        assert win.open_session(str(path))
        _press(qtbot, win, "sessionOpenBox", "Cancel")
    assert ctx.workspace.dataset is None and not ctx.workspace.models
