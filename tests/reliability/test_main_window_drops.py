"""Files dropped on the main window: non-images, bombs, empty and large folders, hostile models.

Each ends in a one-line message (a non-modal error box) or a loaded data set; the event loop never
stalls for long while a big folder loads, and the window keeps working afterwards."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtCore import QElapsedTimer, QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from . import _craft
from .test_gui_input import _png_claiming, _real_bomb


@pytest.fixture
def window(qtbot, tmp_path_factory, qapp):
    from PySide6.QtCore import QCoreApplication, QSettings

    QCoreApplication.setOrganizationName("relate-explorer-tests")
    QCoreApplication.setApplicationName("explorer-tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path_factory.mktemp("settings"))
    )
    from explorer.ui.qt_setup import configure_pyqtgraph
    from explorer.ui.context import AppContext
    from explorer.ui.main_window import MainWindow
    from explorer.ui.services import install_services, shutdown_services

    configure_pyqtgraph()
    ctx = install_services(AppContext.standalone())
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.show()
    yield win
    _close_boxes(win)
    win.close()
    shutdown_services(ctx)


def _close_boxes(window) -> list[str]:
    """Close the error boxes ``window`` opened (its live children only); their texts."""
    texts = []
    for box in window.findChildren(QMessageBox, "errorBox"):
        if box.isVisible():
            texts.append(box.text())
            box.close()
    return texts


def _drop(window, path) -> None:
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(path))])
    ev = QDropEvent(
        QPointF(window.width() / 2, window.height() / 2),
        Qt.DropAction.CopyAction,
        md,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(ev)
    assert ev.isAccepted()


def _drop_and_expect_error(qtbot, window, path, signal) -> str:
    window.last_error = None
    with qtbot.waitSignal(signal, timeout=30_000):
        _drop(window, path)
    qtbot.waitUntil(lambda: window.last_error is not None, timeout=5000)
    message = window.last_error
    assert message and "Traceback" not in message and len(message.strip().splitlines()) == 1, message
    assert _close_boxes(window)  # the user saw it
    return message


def test_bad_data_drops_give_a_message_and_keep_the_window_working(qtbot, window, tmp_path):
    cases = {
        "notes.txt": b"just text\n",
        "noise.png": bytes(range(256)) * 4,
        "claims-20000x20000.png": _png_claiming(20_000, 20_000),
        "bomb-10000x10000.png": _real_bomb(),
        "empty.npz": b"",
    }
    seen = {}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        seen[name] = _drop_and_expect_error(qtbot, window, tmp_path / name, window.loader.data_failed)
    (tmp_path / "empty folder").mkdir()
    seen["empty folder"] = _drop_and_expect_error(
        qtbot, window, tmp_path / "empty folder", window.loader.data_failed
    )
    assert "No images found" in seen["empty folder"]
    assert window.ctx.workspace.dataset is None or window.ctx.workspace.dataset.count > 0
    # still working: a good data set opens after all that
    with qtbot.waitSignal(window.opened, timeout=30_000):
        window.open_data("sample:digits")
    assert window.ctx.workspace.dataset.count == 1797


def test_a_folder_of_thousands_of_files_loads_without_freezing(qtbot, window, tmp_path):
    root = tmp_path / "many"
    rng = np.random.default_rng(0)
    for k in range(4):
        (root / f"c{k}").mkdir(parents=True)
        for i in range(500):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(root / f"c{k}" / f"{i}.png")
    (root / "c0" / "broken.png").write_bytes(b"not a png")
    stalls = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def tick():
        now = clock.elapsed()
        stalls.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    t0 = time.perf_counter()
    with qtbot.waitSignal(window.opened, timeout=60_000):
        _drop(window, root)
    seconds = time.perf_counter() - t0
    timer.stop()
    ds = window.ctx.workspace.dataset
    assert ds.count == 2000 and len(ds.skipped) == 1
    # the load runs in a worker: the GUI thread keeps ticking (stall = longest gap between 10 ms ticks)
    print(f"\n2000-file folder: {seconds:.2f} s, longest event-loop stall {max(stalls)} ms")
    assert max(stalls) < 1000


def test_hostile_model_drops_are_refused_and_run_nothing(qtbot, window, tmp_path, sound_models):
    """.pt (TorchScript), .pth and .ckpt (torch.save) with code in their pickles: all go to the model
    loader (not "not a data set"), are refused with a message, and nothing runs."""
    marker = tmp_path / "MARKER"
    payloads = _craft.payloads(str(marker))
    # three different contents: trust is remembered per content, so the same bytes would not ask twice
    cases = [(".pt", "ts", "open/proto2"), (".pth", "sd", "open/proto2"), (".ckpt", "sd", "open/proto5")]
    for ext, base, kind in cases:
        evil = tmp_path / f"evil{ext}"
        evil.write_bytes(_craft.replace_members(sound_models[base], {"/data.pkl": payloads[kind]}))
        with qtbot.waitSignal(window.loader.trust_needed, timeout=30_000):  # first line: the trust box
            _drop(window, evil)
        assert not marker.exists()
        message = _trust_and_expect_error(qtbot, window)  # second line: the archive scan
        assert "run Python code" in message, message
        assert not marker.exists()


def _trust_and_expect_error(qtbot, window) -> str:
    """Press "Trust and open" in the window's trust box; the error the loader then shows."""
    from explorer.ui.dialogs.trust import TRUST_BUTTON

    qtbot.waitUntil(
        lambda: any(b.isVisible() for b in window.findChildren(QMessageBox, "trustBox")), timeout=5000
    )
    box = next(b for b in window.findChildren(QMessageBox, "trustBox") if b.isVisible())
    window.last_error = None
    with qtbot.waitSignal(window.loader.job_finished, timeout=30_000):
        next(b for b in box.buttons() if b.text() == TRUST_BUTTON).click()
    qtbot.waitUntil(lambda: window.last_error is not None, timeout=5000)
    message = window.last_error
    assert message and "Traceback" not in message and len(message.strip().splitlines()) == 1, message
    assert _close_boxes(window)
    return message


def test_closing_the_window_while_training_stops_the_worker_within_a_second(qtbot, window, tmp_path):
    from explorer.ui import workers

    with qtbot.waitSignal(window.opened, timeout=30_000):
        window.open_data("sample:digits")
    dialog = window.open_training_dialog() or window._training_dialog
    qtbot.waitUntil(dialog.ready, timeout=60_000)
    dialog.set_model("ae")
    dialog.epochs.setValue(100)
    dialog.batch_size.setValue(32)
    dialog.options.editor("hidden").setText("32")
    dialog.save_path.setText(str(tmp_path / "run.safetensors"))
    steps = []
    dialog.progress.connect(lambda rec: steps.append(rec.step))
    dialog.start()
    qtbot.waitUntil(lambda: len(steps) >= 3, timeout=60_000)
    thread = dialog.runner._thread
    t0 = time.perf_counter()
    window.close()
    seconds = time.perf_counter() - t0
    print(f"\nclosing the window while training: {seconds:.2f} s until the worker had stopped")
    assert not thread.isRunning() and dialog.runner.is_idle()
    assert seconds < 1.0
    # no worker left behind (QThreads that ran Python stay listed by threading as dummies, so ask
    # the runner's own registry of started-and-not-ended threads)
    qtbot.waitUntil(lambda: not any(t.isRunning() for t in workers._LIVE), timeout=1000)
