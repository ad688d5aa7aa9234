"""Issue 13 item 9: state the window shows must be the state it is in."""

from __future__ import annotations

import numpy as np
import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem

import explorer.ui.main_window as mw
from explorer.ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def _shell_only(monkeypatch, tmp_path):
    monkeypatch.setattr(
        mw,
        "load_view_modules",
        lambda names=None: [__import__("explorer.ui.views.browser", fromlist=["View"])],
    )
    monkeypatch.setenv("EXPLORER_STATE_DIR", str(tmp_path / "state"))


def test_the_toolbar_model_is_one_that_can_encode_the_open_data(qtbot, ctx, digits_300):
    from explorer.core.imageset import ImageSet
    from explorer.models.base import build_model
    from explorer.models.encoders import model_encoder

    win = MainWindow(ctx)
    qtbot.addWidget(win)
    ws = ctx.workspace
    rng = np.random.default_rng(0)
    ws.set_dataset(ImageSet(images=rng.random((40, 1, 13, 13)).astype(np.float32), name="shifts"))
    with qtbot.waitSignal(win.loader.models_idle, timeout=30000):
        win.loader.load_models(["pixels"])
    gae = "gae (shifts)"
    ws.add_model(gae, model_encoder(build_model("gae", (1, 13, 13)), name=gae))
    win.set_current_model(gae)
    assert win.model_box.currentText() == gae
    codes = ctx.services["codes"]
    qtbot.waitUntil(lambda: gae in ws.codes and not codes.busy(), timeout=30000)

    ws.set_dataset(digits_300)  # 8x8: the 13x13 gated AE cannot encode it
    assert ws.current_model == "pixels" and win.model_box.currentText() == "pixels"
    items = win.model_box.model()
    flags = items.flags(items.index(win.model_box.findText(gae), 0))
    assert not flags & Qt.ItemFlag.ItemIsEnabled  # listed, greyed
    assert items.flags(items.index(win.model_box.findText("pixels"), 0)) & Qt.ItemFlag.ItemIsEnabled
    # no Python wrapper of a combo item outlives its C++ item (the next clear() frees them); only
    # this box's items: in a whole-suite run an earlier test's widgets may still hold one of theirs
    alive = [w for w in shiboken6.getAllValidWrappers() if isinstance(w, QStandardItem)]
    assert not [w for w in alive if w.model() is items]
    qtbot.waitUntil(lambda: "pixels" in ws.codes and not codes.busy(), timeout=30000)
    assert gae not in ws.codes
    assert "No codes for" not in win.statusBar().currentMessage()  # it was never tried
    # a model loaded after the data set that cannot encode it does not become the current one
    ws.add_model("gae 2", model_encoder(build_model("gae", (1, 13, 13)), name="gae 2"))
    assert ws.current_model == "pixels" and win.model_box.currentText() == "pixels"


def test_the_score_axis_shows_scores_as_the_threshold_does(qtbot):
    """A histogram of scores near -0.066 read "score (x0.001)" with ticks at -66."""
    from explorer.ui.views.verification.charts import ScoreHistogram

    h = ScoreHistogram()
    qtbot.addWidget(h)
    h.plotItem.plot(np.linspace(-0.09, -0.03, 50), np.ones(50))  # scores of a distance model
    h.resize(400, 300)
    h.show()
    qtbot.waitExposed(h)
    h.grab()
    for name in ("bottom", "left"):
        axis = h.getAxis(name)
        assert axis.autoSIPrefixScale == 1.0 and "x0.001" not in axis.labelString()


def test_compare_needs_a_second_model(qtbot, digits_300):
    """With pixels as the only model, "Compare with" showed pixels beside pixels."""
    from explorer.ui.context import AppContext
    from explorer.ui.views.scatter import View

    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(digits_300)
    ctx.workspace.set_codes("pixels", digits_300.float_images().reshape(300, -1))
    v = View(ctx)
    qtbot.addWidget(v)
    v.show()
    assert not v.compare_check.isEnabled()
    assert v.compare_combo.currentText() == "" and v.compare_combo.count() == 0  # not "pixels" again
    assert v.compare_combo.placeholderText() == "no second model"
    v.compare_check.setChecked(True)  # (even if it were ticked)
    assert not v.sides[1].panel.isVisible()
    ctx.workspace.set_codes("half", digits_300.float_images().reshape(300, -1)[:, :32])
    assert v.compare_check.isEnabled()
    qtbot.waitUntil(
        lambda: v.sides[1].panel.isVisible() and v.compare_combo.currentText() == "half", timeout=20000
    )
    for s in v.sides:
        s.runner.shutdown()


def test_the_open_dialog_opens_a_typed_folder(qtbot, image_folder):
    """The Open button stayed grey (and a typed folder was walked into, not opened)."""
    from explorer.ui.dialogs.open_data import OpenDataDialog

    dlg = OpenDataDialog(None, str(image_folder.parent))
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.open_button.isEnabled(), timeout=5000)  # nothing typed: this folder
    dlg.name_edit.setText(str(image_folder / "circle"))  # (typing, less the completer's popup)
    assert dlg.open_button.isEnabled()
    dlg.open_button.click()
    assert dlg.result() == OpenDataDialog.DialogCode.Accepted
    assert dlg.chosen() == str(image_folder / "circle")


def test_the_empty_scatter_says_what_is_missing(qtbot, digits_300):
    """It said "No codes yet: open a data set" while one was open and its codes were coming."""
    from explorer.ui.context import AppContext
    from explorer.ui.views.scatter import View

    ctx = AppContext.standalone()
    v = View(ctx)
    qtbot.addWidget(v)
    assert "No data set open" in v._no_codes_message(None)
    ctx.workspace.set_dataset(digits_300)
    assert "load or train" in v.panel.message.toPlainText()
    ctx.workspace.add_model("pixels", object())
    assert v._no_codes_message(None) == "Computing the codes of pixels…"
