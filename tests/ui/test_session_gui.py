"""Sessions in the GUI: save / open, autosave and crash recovery, bad files, the excepthook."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

import explorer.ui.main_window as mw
from explorer.core import session as sessions
from explorer.ui.app import build_context, make_excepthook
from explorer.ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def _shell_only(monkeypatch, tmp_path):
    """Only the data browser (fast), and the autosave in this test's folder."""
    monkeypatch.setattr(
        mw,
        "load_view_modules",
        lambda names=None: [__import__("explorer.ui.views.browser", fromlist=["View"])],
    )
    monkeypatch.setenv("EXPLORER_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def fresh_ctx():
    from explorer.ui.services import shutdown_services

    made = []

    def make():
        made.append(build_context())
        return made[-1]

    yield make
    for c in made:
        shutdown_services(c)


def _close_boxes(*windows):
    """Close the message boxes these windows opened. Only live children are touched: walking
    QApplication.topLevelWidgets() can reach widgets of windows deleted by earlier tests, and
    one CI run segfaulted there."""
    for win in windows:
        for box in win.findChildren(QMessageBox):
            if box.isVisible():
                box.close()


def loaded_window(qtbot, ctx, autosave=False):
    """A window with sample:digits, pixels codes, a selection, a query and a layout."""
    win = MainWindow(ctx, autosave=autosave)
    qtbot.addWidget(win)
    ws = ctx.workspace
    with qtbot.waitSignal(win.loader.models_idle, timeout=30000):
        win.start_loading("sample:digits", ["pixels"])
    qtbot.waitUntil(lambda: "pixels" in ws.codes, timeout=30000)
    ws.set_selection([3, 5, 7, 100])
    ws.set_query(index=11)
    rng = np.random.default_rng(0)
    ws.set_layout("pixels", "pca", rng.normal(size=(ws.dataset.count, 2)).astype(np.float32))
    return win


def restore(qtbot, win, path):
    with qtbot.waitSignal(win.session_restored, timeout=30000) as blocker:
        assert win.open_session(str(path))
    return blocker.args[0]


def assert_same_state(a, b):
    assert b.dataset.count == a.dataset.count == 1797
    assert set(b.models) == set(a.models) == {"pixels"}
    np.testing.assert_array_equal(b.codes["pixels"], a.codes["pixels"])
    np.testing.assert_array_equal(b.layouts[("pixels", "pca")], a.layouts[("pixels", "pca")])
    np.testing.assert_array_equal(b.selection, [3, 5, 7, 100])
    assert b.query_index == 11 and b.current_model == "pixels"


def test_save_and_open_a_session(qtbot, ctx, fresh_ctx, tmp_path):
    win = loaded_window(qtbot, ctx)
    path = tmp_path / "work.session"
    assert win.save_session(str(path))
    assert win.data_spec == "sample:digits"
    saved = sessions.load_session(path)
    assert saved["data"] == "sample:digits" and saved["models"] == {"pixels": "pixels"}

    ctx2 = fresh_ctx()
    win2 = MainWindow(ctx2)
    qtbot.addWidget(win2)
    notes = restore(qtbot, win2, path)
    assert notes == []
    assert_same_state(ctx.workspace, ctx2.workspace)
    assert "Session restored" in win2.statusBar().currentMessage()
    # the restored codes are kept: no encoding job redoes them
    qtbot.waitUntil(lambda: not ctx2.services["codes"].busy(), timeout=10000)
    np.testing.assert_array_equal(ctx2.workspace.codes["pixels"], ctx.workspace.codes["pixels"])


def test_dropping_a_session_file_opens_it(qtbot, ctx, fresh_ctx, tmp_path):
    win = loaded_window(qtbot, ctx)
    path = tmp_path / "drop.session"
    win.save_session(str(path))
    ctx2 = fresh_ctx()
    win2 = MainWindow(ctx2)
    qtbot.addWidget(win2)
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(path))])
    with qtbot.waitSignal(win2.session_restored, timeout=30000):
        win2.dropEvent(
            QDropEvent(
                QPointF(10, 10),
                Qt.DropAction.CopyAction,
                md,
                Qt.MouseButton.LeftButton,
                Qt.KeyboardModifier.NoModifier,
            )
        )
    assert_same_state(ctx.workspace, ctx2.workspace)


def test_crash_leaves_an_autosave_that_restores(qtbot, ctx, fresh_ctx, tmp_path):
    win = loaded_window(qtbot, ctx, autosave=True)
    assert not win.recovery_available and win.autosave_timer.isActive()
    path = win.autosave_now()  # what the timer does while the app runs
    assert path == str(tmp_path / "state" / "autosave.session")
    assert win.autosave_now() is None  # nothing changed since: no write
    assert sessions.needs_recovery(path)  # the "crash": the window never closes cleanly

    ctx2 = fresh_ctx()
    win2 = MainWindow(ctx2, autosave=True)
    qtbot.addWidget(win2)
    assert win2.recovery_available
    assert win2.autosave_now(force=True) is None  # the crash's autosave is kept until answered
    box = win2.offer_recovery()
    assert box.isVisible() and box.windowModality() != Qt.WindowModality.ApplicationModal  # open(): no exec
    restore_button = next(b for b in box.buttons() if b.text() == "Restore")
    with qtbot.waitSignal(win2.session_restored, timeout=30000):
        restore_button.click()
    assert_same_state(ctx.workspace, ctx2.workspace)
    _close_boxes(win, win2)
    win2.close()  # a normal close marks the autosave clean
    assert not sessions.needs_recovery(path)
    win.close()


def test_a_corrupt_session_shows_a_message_and_keeps_the_state(qtbot, ctx, tmp_path):
    win = loaded_window(qtbot, ctx)
    ws = ctx.workspace
    before = (ws.dataset, dict(ws.codes), ws.selection.copy(), ws.query_index)
    good = tmp_path / "good.session"
    win.save_session(str(good))
    bad = tmp_path / "bad.session"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])  # truncated
    junk = tmp_path / "junk.session"
    junk.write_bytes(b"not a session at all")
    for path in (bad, junk):
        win.last_error = None
        with qtbot.waitSignal(win.session_failed, timeout=1000):
            assert not win.open_session(str(path))
        assert win.last_error and path.name in win.last_error and "\n" not in win.last_error
    assert ws.dataset is before[0] and set(ws.codes) == set(before[1])
    np.testing.assert_array_equal(ws.selection, before[2])
    assert ws.query_index == before[3]
    _close_boxes(win)


def test_excepthook_routes_to_show_error(qtbot, ctx):
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    stream = io.StringIO()
    hook = make_excepthook(win, stream)
    try:
        raise ValueError("the widget had no rows\nsecond line")
    except ValueError:
        hook(*sys.exc_info())
    assert win.last_error.startswith("Unexpected error: ValueError: the widget had no rows")
    assert "second line" not in win.last_error
    assert "Traceback" in stream.getvalue() and "second line" in stream.getvalue()
    _close_boxes(win)


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_keeps_the_app_running(qtbot, ctx, capsys):
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.show()
    old = sys.excepthook
    sys.excepthook = make_excepthook(win)
    try:

        def broken_slot():
            raise RuntimeError("slot failed")

        QTimer.singleShot(0, broken_slot)
        qtbot.waitUntil(lambda: win.last_error is not None, timeout=3000)
    finally:
        sys.excepthook = old
    assert win.last_error.startswith("Unexpected error: RuntimeError: slot failed")
    assert "slot failed" in capsys.readouterr().err
    assert win.isVisible()
    _close_boxes(win)


def test_a_model_trained_in_the_app_is_in_the_session_autosave_and_recovery(qtbot, ctx, fresh_ctx, tmp_path):
    """Issue 13 item 5: a model trained in the dialog is saved with the session (by its checkpoint)
    and reopened under the same name, with the codes and layouts kept for it."""
    win = loaded_window(qtbot, ctx, autosave=True)
    ws = ctx.workspace
    dlg = win.open_training_dialog()
    qtbot.waitUntil(dlg.ready, timeout=60000)
    dlg.set_model("ae")
    dlg.epochs.setValue(1)
    dlg.batch_size.setValue(256)
    dlg.code_dim.setValue(4)
    dlg.options.editor("hidden").setText("16")
    dlg.save_path.setText(str(tmp_path / "run" / "ae.safetensors"))
    with qtbot.waitSignal(dlg.finished_model, timeout=60000) as blocker:
        dlg.start()
    name = blocker.args[0]
    qtbot.waitUntil(lambda: name in ws.codes, timeout=30000)
    ws.set_layout(name, "pca", ws.codes[name][:, :2].copy())
    specs, notes = win.sessions.model_specs()
    assert specs[name] == str(tmp_path / "run" / "ae.safetensors") and notes == []
    session = tmp_path / "trained.session"
    assert win.save_session(str(session))
    auto = win.autosave_now(force=True)
    assert sessions.load_session(auto)["models"][name] == specs[name]  # autosave and crash recovery

    ctx2 = fresh_ctx()
    win2 = MainWindow(ctx2)
    qtbot.addWidget(win2)
    with qtbot.waitSignal(win2.session_restored, timeout=30000) as restored:
        assert win2.open_session(str(session))
        box = win2.sessions.session_box  # it names the checkpoint it opens
        assert "ae.safetensors" in box.text()
        next(b for b in box.buttons() if b.text() == "Open").click()
    assert restored.args[0] == []
    ws2 = ctx2.workspace
    assert name in ws2.models and ws2.models[name].name == name
    np.testing.assert_array_equal(ws2.codes[name], ws.codes[name])
    np.testing.assert_array_equal(ws2.layouts[(name, "pca")], ws.layouts[(name, "pca")])
    dlg.shutdown()
    _close_boxes(win, win2)
