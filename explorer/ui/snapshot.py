"""Render the main window and each view to PNG files without a display (``explorer snapshot``)."""

from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QEventLoop, QSize
from PySide6.QtWidgets import QApplication

from explorer.core.atomic import atomic_write


def wait_until_idle(win, timeout_s: float = 120.0, settle_s: float = 0.3) -> bool:
    """Run the event loop until no service or view is busy for ``settle_s``; False on timeout."""
    from explorer.ui.services import any_busy

    app = QApplication.instance()
    deadline = time.perf_counter() + timeout_s
    quiet_since = None
    while time.perf_counter() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if win.busy() or any_busy(win.ctx, list(win.views.values())):
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.perf_counter()
        elif time.perf_counter() - quiet_since >= settle_s:
            return True
        time.sleep(0.01)
    return False


def save_png(widget, path: str) -> None:
    pix = widget.grab()
    atomic_write(
        path, lambda tmp: pix.save(tmp, "PNG") or (_ for _ in ()).throw(OSError(f"could not write {path}"))
    )


def render_snapshots(
    outdir: str,
    data: str | None = None,
    models: list[str] | None = None,
    size: tuple[int, int] = (1400, 880),
    timeout_s: float = 180.0,
    log=print,
    training_epochs: int = 8,
) -> list[str]:
    """Open the app on ``data`` (default: the sample data) and write main_window.png and one
    <view>.png per view into ``outdir``; returns the paths written.

    A view module may name other data to be pictured on (``SNAPSHOT_DATA = "sample:shifts"``) and
    models to load for it (``SNAPSHOT_MODELS = [path, ...]``); those pictures are taken last."""
    from explorer.ui.app import create_main_window, ensure_app
    from explorer.ui.services import SAMPLE_DATA

    app = ensure_app()
    os.makedirs(outdir, exist_ok=True)
    win = create_main_window(data, models)
    win.resize(QSize(*size))
    win.show()
    started = time.perf_counter()
    if not wait_until_idle(win, timeout_s):
        log(f"snapshot: still busy after {timeout_s:.0f}s; taking the pictures anyway")
    _flush_views(win)
    for view in win.views.values():
        prepare = getattr(view, "prepare_snapshot", None)
        if callable(prepare):
            prepare()
    wait_until_idle(win, timeout_s)
    written = []
    tabs = win.tabs
    # each view in its own picture, the main window showing the first tab
    for key, view in win.views.items():
        _show_view(win, view, timeout_s)
        path = os.path.join(outdir, f"{key}.png")
        save_png(view, path)
        written.append(path)
    if tabs.count():
        tabs.setCurrentIndex(0)
    app.processEvents()
    path = os.path.join(outdir, "main_window.png")
    save_png(win, path)
    written.insert(0, path)
    if training_epochs > 0:
        path = os.path.join(outdir, "training_dialog.png")
        if snapshot_training_dialog(win, path, training_epochs, timeout_s):
            written.append(path)
    # views that are best shown on other data (module SNAPSHOT_DATA / SNAPSHOT_MODELS) come last
    shown = data or SAMPLE_DATA
    for key, view in win.views.items():
        mod = sys.modules.get(type(view).__module__)
        other = getattr(mod, "SNAPSHOT_DATA", None)
        if not other or other == shown:
            continue
        win.open_data(other)
        extra = list(getattr(mod, "SNAPSHOT_MODELS", []) or [])
        if extra:
            win.loader.load_models(extra)
        shown = other
        wait_until_idle(win, timeout_s)
        _flush_views(win)
        prepare = getattr(view, "prepare_snapshot", None)
        if callable(prepare):
            prepare()
            wait_until_idle(win, timeout_s)
        _show_view(win, view, timeout_s)
        save_png(view, os.path.join(outdir, f"{key}.png"))
    log(f"snapshot: {len(written)} pictures in {time.perf_counter() - started:.1f}s")
    win.close()
    app.processEvents()
    return written


def snapshot_training_dialog(win, path: str, epochs: int, timeout_s: float, model: str | None = None):
    """Train ``model`` (default: the kind the dialog opens on for the open data, bgae on a folder
    of sequences, else dae; it was dae on any data) for ``epochs`` in the training dialog
    (checkpoint in a temp folder) and picture the dialog when it has finished; returns the kind
    trained, or None if it could not run."""
    import tempfile

    app = QApplication.instance()
    dlg = win.open_training_dialog()
    dlg.resize(min(1100, win.width()), min(760, win.height()))  # as on a screen of the window's size
    deadline = time.perf_counter() + timeout_s
    while not dlg.ready() and time.perf_counter() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    if not dlg.ready():
        return None
    model = model or dlg.default_kind()
    dlg.set_model(model)
    if not dlg.start_button.isEnabled():
        return None
    dlg.epochs.setValue(epochs)
    with tempfile.TemporaryDirectory() as tmp:
        dlg.save_path.setText(os.path.join(tmp, f"{model}.safetensors"))
        dlg.start()
        while dlg.is_training() and time.perf_counter() < deadline:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.01)
        dlg.cancel()
        dlg.runner.shutdown(30000)
    app.processEvents()
    save_png(dlg, path)
    dlg.close()
    return model


def _flush_views(win) -> None:
    """Deliver the hidden views' waiting workspace events (explorer/ui/view_updates.py)."""
    updates = win.ctx.services.get("view_updates")
    if updates is not None:
        updates.flush()


def _show_view(win, view, timeout_s: float = 120.0) -> None:
    """Turn to ``view`` and wait until it is idle: a hidden view gets its waiting workspace events
    when shown (ui/view_updates.py), and the work they start (the relational view's mapping-code
    layout) must be in the picture, not its "computing ..." note over an empty plot."""
    i = win.tab_index(view)
    if i >= 0:
        win.tabs.setCurrentIndex(i)
    QApplication.instance().processEvents()
    wait_until_idle(win, timeout_s)
