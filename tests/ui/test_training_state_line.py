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


def _shown(qtbot, ctx, data, style: str = ""):
    """The training dialog on ``data`` at 1100x700, shown (with ``style``: a style sheet)."""
    ctx.workspace.set_dataset(data)
    dlg = TrainingDialog(ctx)
    qtbot.addWidget(dlg)
    dlg.setStyleSheet(style)
    dlg.resize(1100, 700)
    dlg.show()
    qtbot.waitExposed(dlg)
    return dlg


def test_the_state_line_shows_a_long_finished_text_whole(qtbot, ctx, digits_set):
    dlg = _shown(qtbot, ctx, digits_set)
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


def test_in_the_apps_bold_style_the_state_line_is_as_tall_as_the_label_wraps(qtbot, ctx, digits_set):
    """polish27: with the app's style sheet (the state line in bold) the font's own measure of a
    finished text said 3 lines where the label wrapped it to 4: its last line ('Its codes are
    being computed…') was cut off (seen on 300 photos and on a folder of sequences, 1280x800)."""
    from explorer.ui.qt_setup import load_style_sheet

    dlg = _shown(qtbot, ctx, digits_set, load_style_sheet())
    label = dlg.state_label
    try:
        assert label.font().weight() > 500  # the style sheet's bold
        text = FINISHED.replace("/models/a-long-folder-name/dae-photos-20261202-100315", "/dae")
        for width in (1100, 1000, 900):
            dlg.resize(width, 700)
            dlg._set_state_text(text)
            qtbot.wait(10)
            fixed = label.height()
            label.setMinimumHeight(0)
            label.setMaximumHeight(10_000)
            own = label.heightForWidth(label.width())  # what the label needs, as it wraps
            assert own <= fixed <= STATE_LINES[1] * label.fontMetrics().lineSpacing() + 12, width
            dlg._set_state_text(text)  # (fixed again)
    finally:
        dlg.shutdown()
