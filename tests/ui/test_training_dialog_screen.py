"""polish2 / issue 13: the training dialog opened at 1100x760 on any screen, so on a 1280x720
screen its buttons were below the screen's edge. It now fits the screen's available area."""

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QScreen

from explorer.ui.dialogs.training import TrainingDialog
from explorer.ui.dialogs.training_form import FRAME_ALLOWANCE


def _inside(widget, dialog) -> bool:
    top_left = widget.mapTo(dialog, QPoint(0, 0))
    return dialog.rect().contains(QRect(top_left, widget.size()))


@pytest.mark.parametrize("screen", [(1280, 720 - 32), (1920, 1080 - 40)])
def test_the_training_dialog_fits_the_available_screen(qtbot, ctx, digits_set, monkeypatch, screen):
    w, h = screen  # a 1280x720 screen less a 32-px panel; a full-HD one
    monkeypatch.setattr(QScreen, "availableGeometry", lambda self: QRect(0, 0, w, h))
    ctx.workspace.set_dataset(digits_set)
    dlg = TrainingDialog(ctx)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(dlg.ready, timeout=60000)
    try:
        assert dlg.width() <= min(1100, w - FRAME_ALLOWANCE[0])
        assert dlg.height() <= min(760, h - FRAME_ALLOWANCE[1])
        if h >= 800:  # a big screen keeps the designed size
            assert (dlg.width(), dlg.height()) == (1100, 760)
        # everything is reachable: buttons, the state line and the bar inside the dialog, the
        # plots with room to show, the settings column scrolls to its last field
        for widget in (dlg.start_button, dlg.cancel_button, dlg.save_as_button, dlg.state_label, dlg.bar):
            assert widget.isVisible() and _inside(widget, dlg), widget
        assert dlg.loss_plot.height() >= 120 and dlg.samples.height() >= 80
        dlg._scroll.ensureWidgetVisible(dlg.save_path)
        viewport = dlg._scroll.viewport()
        top_left = dlg.save_path.mapTo(viewport, QPoint(0, 0))
        assert viewport.rect().contains(QRect(top_left, dlg.save_path.size()))
    finally:
        dlg.shutdown()
