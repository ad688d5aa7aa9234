"""polish: the training dialog's state line was three lines high, fixed; a collapsed run's
finished text (the warning, the figures, where the checkpoint went, the codes) took four and a
half at 1280x800, so its first and last lines were cut off. It now grows to the text at the
end of a run, and stays three lines while a run reports."""

from explorer.ui.dialogs.training import TrainingDialog
from explorer.ui.dialogs.training_form import STATE_LINES

FINISHED = (
    "The codes vary along about one direction (effective rank 1.0, the images' 6.7): the run was "
    "short (5 steps); train longer or with a smaller learning rate. Finished: dae (photos) in 1s, "
    "921 items/s, validation loss 0.07529. Saved to /tmp/tmpf7nnd358/models/a-long-folder-name/"
    "dae-photos-20261202-100315.safetensors. Its codes are being computed…"
)


def needed(label) -> int:
    """The height the label's text takes at its width, wrapped (pixels)."""
    from PySide6.QtCore import QRect, Qt

    box = QRect(0, 0, label.contentsRect().width(), 10_000)
    return label.fontMetrics().boundingRect(box, Qt.TextFlag.TextWordWrap, label.text()).height()


def test_the_state_line_shows_a_long_finished_text_whole(qtbot, ctx, digits_set):
    ctx.workspace.set_dataset(digits_set)
    dlg = TrainingDialog(ctx)
    qtbot.addWidget(dlg)
    dlg.resize(1100, 700)
    dlg.show()
    qtbot.waitExposed(dlg)
    label = dlg.state_label
    line = label.fontMetrics().lineSpacing()
    try:
        dlg._set_state_text("training  ·  step 3/100  ·  loss 0.05  ·  ETA 0:04")
        assert label.height() == STATE_LINES[0] * line + 4
        dlg._set_state_text(FINISHED)
        qtbot.wait(10)
        assert needed(label) <= label.height() <= STATE_LINES[1] * line + 4
        assert label.height() > STATE_LINES[0] * line + 4  # it needed more than three lines
        dlg.resize(800, 700)  # narrower: more lines, still whole
        qtbot.waitUntil(lambda: needed(label) <= label.height(), timeout=2000)
        dlg._set_state_text("Starting dae on cpu…")
        qtbot.waitUntil(lambda: label.height() == STATE_LINES[0] * line + 4, timeout=2000)
    finally:
        dlg.shutdown()
