import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from explorer.ui.main_window import MainWindow, dataset_facts_text, load_view_modules
from explorer.ui.views.browser import INDEX_ROLE


@pytest.fixture
def window(qtbot, ctx):
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.show()
    return win


def open_and_wait(qtbot, win, spec, timeout=20000):
    with qtbot.waitSignal(win.opened, timeout=timeout) as blocker:
        win.open_data(spec)
    return blocker.args[0]


def test_opens_sample_mnist_and_filters_to_one_class(qtbot, window):
    open_and_wait(qtbot, window, "sample:mnist")
    ds = window.ctx.workspace.dataset
    assert ds.count == 5000 and ds.shape == (1, 28, 28)
    browser = window.views["browser"]
    assert browser.model.rowCount() == 5000
    browser.set_class_filter(3)
    expected = np.flatnonzero(ds.labels == 3)
    assert 300 < len(expected) < 700
    np.testing.assert_array_equal(browser.shown_indices(), expected)
    model = browser.model
    assert model.rowCount() == len(expected)
    shown = [model.index(r).data(INDEX_ROLE) for r in range(model.rowCount())]
    assert np.all(ds.labels[shown] == 3)
    # the thumbnails are those images: row 0's pixmap is the first class-3 image, scaled
    img = model.index(0).data(Qt.ItemDataRole.DecorationRole).toImage()
    assert img.width() == model.thumb_size
    centre = img.pixelColor(img.width() // 2, img.height() // 2).value()
    src = ds.float_images([expected[0]])[0, 0]
    assert abs(centre - 255 * src[14, 14]) <= 40
    # back to all classes
    browser.set_class_filter(None)
    assert model.rowCount() == 5000
    assert "5,000 images" in window.facts_label.text() and "10 classes" in window.facts_label.text()


def test_lazy_views_arrive_after_the_window_shows(qtbot, ctx):
    win = MainWindow(ctx, lazy_views=True)
    qtbot.addWidget(win)
    win.show()
    assert "browser" in win.views and win.busy()  # the shell is there at once
    with qtbot.waitSignal(win.views_ready, timeout=60000):
        pass
    assert not win.busy() and win.centralWidget() is win.tabs
    expected = [m for m in load_view_modules() if getattr(m, "AREA", "center") == "center"]
    assert win.tabs.count() == max(1, len(expected))
    titles = [win.tabs.tabText(i) for i in range(win.tabs.count())]
    assert titles == ([m.TITLE for m in expected] or ["Data"])


def test_the_data_dock_keeps_its_width_while_the_views_load(qtbot, ctx):
    """Issue 13 item 11: when the first views replaced the "Loading views…" placeholder, the data
    dock took 1267 of the window's 1400 px until the next views came (seconds)."""
    import time

    win = MainWindow(ctx, lazy_views=True)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    dock, late = win.docks["browser"], []
    since = None
    while win.busy():
        qtbot.wait(20)
        if since is None and win.centralWidget() is win.tabs:
            since = time.monotonic()
        if since is not None and time.monotonic() - since > 0.3:
            late.append(dock.width())
    assert dock.width() <= 0.4 * win.width()
    assert max(late, default=0) <= 0.4 * win.width()


def test_dropping_a_folder_opens_it(qtbot, window, image_folder):
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(image_folder))])
    pos = QPointF(window.width() / 2, window.height() / 2)
    enter_ok = []
    with qtbot.waitSignal(window.opened, timeout=20000):
        ev = QDropEvent(
            pos, Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        )
        window.dropEvent(ev)
        enter_ok.append(ev.isAccepted())
    assert enter_ok == [True]
    ds = window.ctx.workspace.dataset
    assert ds.count == 12 and ds.class_names == ["circle", "square", "tri"]
    assert window.views["browser"].model.rowCount() == 12
    assert (
        str(image_folder) in window.settings.recent_data()[0] or "shapes" in window.settings.recent_data()[0]
    )


def test_a_failed_open_shows_an_error_and_keeps_the_data(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, "sample:digits")
    before = window.ctx.workspace.dataset
    with qtbot.waitSignal(window.loader.data_failed, timeout=10000):
        window.open_data(str(tmp_path / "missing"))
    assert window.ctx.workspace.dataset is before
    assert window.last_error and "\n" not in window.last_error.strip()
    boxes = [b for b in window.findChildren(QMessageBox, "errorBox") if b.isVisible()]
    assert boxes
    for b in boxes:
        b.close()


def test_code_service_computes_codes_for_loaded_models(qtbot, window):
    open_and_wait(qtbot, window, "sample:digits")
    codes = window.ctx.services["codes"]
    with qtbot.waitSignal(window.ctx.qws.codes_changed, timeout=30000) as blocker:
        window.loader.load_models(["pixels"])
    assert blocker.args == ["pixels"]
    ws = window.ctx.workspace
    assert ws.codes["pixels"].shape == (1797, 64)
    np.testing.assert_allclose(ws.codes["pixels"], ws.dataset.float_images().reshape(1797, -1), atol=1e-6)
    qtbot.waitUntil(lambda: not codes.busy(), timeout=5000)


def test_code_service_drops_codes_for_a_replaced_data_set(qtbot, ctx, digits_set):
    class Slow:
        name = "slow"
        input_shape = None

        def encode(self, images):
            import time

            time.sleep(0.02)
            return images.reshape(len(images), -1)[:, :4]

    svc = ctx.services["codes"]
    svc.batch_size = 64
    ctx.workspace.set_dataset(digits_set)
    ctx.workspace.add_model("slow", Slow())
    assert svc.busy()
    small = digits_set.subset(np.arange(100))
    ctx.workspace.set_dataset(small)  # the first job is cancelled; its late result must not land
    qtbot.waitUntil(lambda: "slow" in ctx.workspace.codes, timeout=10000)
    assert ctx.workspace.codes["slow"].shape == (100, 4)
    qtbot.waitUntil(lambda: not svc.busy(), timeout=5000)
    qtbot.wait(100)
    assert ctx.workspace.codes["slow"].shape == (100, 4)


def test_recent_list_is_pruned_and_capped(tmp_path, ctx):
    s = ctx.services["settings"]
    for i in range(12):
        (tmp_path / f"d{i}").mkdir()
        s.add_recent_data(str(tmp_path / f"d{i}"))
    items = s.recent_data()
    assert len(items) == 10 and items[0].endswith("d11")
    (tmp_path / "d11").rmdir()
    assert s.recent_data()[0].endswith("d10") and len(s.recent_data()) == 9


def test_a_missing_view_module_is_an_error_not_a_missing_tab():
    """(It used to be skipped silently, which hid typos in VIEW_MODULES.)"""
    with pytest.raises(ModuleNotFoundError, match="no_such_view"):
        load_view_modules(["explorer.ui.views.browser", "explorer.ui.views.no_such_view"])


def test_facts_text_mentions_skipped_and_notes(digits_set):
    digits_set.skipped = ["a.txt: not an image"]
    digits_set.notes = ["3 colour images were made grey."]
    text = dataset_facts_text(digits_set)
    assert "1,797 images" in text and "1×8×8" in text and "1 skipped" in text and "grey" in text


def test_facts_text_counts_a_folder_of_sequences_as_sequences(tmp_path, image_folder):
    """polish27: 24 turning objects read "24 classes" in the status line."""
    from explorer.data import load_data
    from explorer.data.sequences import render_sequences, write_sequence_folder

    seqs, _ = render_sequences(3, np.random.default_rng(0), 8, 16, motion="turn")
    write_sequence_folder(str(tmp_path / "turning"), seqs, prefix="obj")
    assert "3 sequences" in dataset_facts_text(load_data(str(tmp_path / "turning")))
    folder = load_data(str(image_folder))
    assert f"{len(folder.class_names)} classes" in dataset_facts_text(folder)


def test_open_dialog_accepts_the_folder_it_shows(qtbot, image_folder):
    from explorer.ui.main_window import OpenDataDialog

    dlg = OpenDataDialog(None, str(image_folder))
    qtbot.addWidget(dlg)
    dlg.accept()  # nothing picked: the folder itself is the answer
    assert dlg.result() == OpenDataDialog.DialogCode.Accepted
    assert dlg.chosen().rstrip("/") == str(image_folder)


def test_models_menu_opens_the_training_dialog(qtbot, window):
    dlg = window.open_training_dialog()
    assert dlg.isVisible() and not dlg.isModal()
    assert window.open_training_dialog() is dlg  # one dialog, raised again
    dlg.close()


def test_snapshot_writes_pictures(qtbot, tmp_path, monkeypatch):
    import explorer.ui.main_window as mw
    from PySide6.QtGui import QImage

    from explorer.ui.snapshot import render_snapshots

    monkeypatch.setattr(mw, "VIEW_MODULES", ["explorer.ui.views.browser"])  # fast: the shell only
    paths = render_snapshots(
        str(tmp_path),
        "sample:digits",
        ["pixels"],
        size=(800, 500),
        timeout_s=30,
        log=lambda m: None,
        training_epochs=0,
    )
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["main_window.png", "browser.png"]
    img = QImage(paths[0])
    assert img.width() >= 800 and img.height() >= 500
    colours = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
    assert len(colours) > 20  # thumbnails and text, not an empty frame


def test_the_snapshots_training_picture_trains_the_kind_the_dialog_offers(qtbot, tmp_path, monkeypatch):
    """polish27: the picture trained dae whatever the data; on a folder of sequences the dialog
    opens on bgae, and so does the picture."""
    import explorer.ui.main_window as mw
    from explorer.data.sequences import render_sequences, write_sequence_folder
    from explorer.ui.app import create_main_window
    from explorer.ui.snapshot import snapshot_training_dialog, wait_until_idle

    monkeypatch.setattr(mw, "VIEW_MODULES", ["explorer.ui.views.browser"])  # fast: the shell only
    seqs, _ = render_sequences(3, np.random.default_rng(0), 8, 16, motion="turn")
    write_sequence_folder(str(tmp_path / "turning"), seqs, prefix="obj")
    win = create_main_window(str(tmp_path / "turning"), [])
    qtbot.addWidget(win)
    win.show()
    assert wait_until_idle(win, 30) and win.ctx.workspace.dataset.count == 24
    path = str(tmp_path / "training_dialog.png")
    assert (
        snapshot_training_dialog(win, path, 1, 60) == "bgae"
        and (tmp_path / "training_dialog.png").stat().st_size > 0
    )
    assert "bgae (turning)" in win.ctx.workspace.models


def test_pca_given_with_the_data_is_fitted_on_it(qtbot, window):
    window.start_loading("sample:digits", ["pca"])
    qtbot.waitUntil(lambda: any(n.startswith("pca") for n in window.ctx.workspace.models), timeout=30000)
    name = next(n for n in window.ctx.workspace.models if n.startswith("pca"))
    qtbot.waitUntil(lambda: name in window.ctx.workspace.codes, timeout=30000)
    assert window.ctx.workspace.codes[name].shape[0] == 1797 and window.last_error is None


def test_default_models_open_on_the_siamese():
    import os

    from explorer.ui.services import FIRST_MODEL, default_model_specs

    specs = default_model_specs()
    assert specs[0] == "pixels"
    assert os.path.basename(specs[1]) == FIRST_MODEL  # the first model loaded becomes the current one
