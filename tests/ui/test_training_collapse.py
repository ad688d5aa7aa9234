"""polish2 / issue 13: a dialog run whose images got the same code (dae on photos, ~36 steps: a
pile in the scatter, "score 0" between classes) finished as if all was well. The finished state
line now says it first, in one sentence (explorer.training.code_check)."""

from explorer.training.code_check import CodeCheck
from explorer.ui.dialogs.training import TrainingDialog


def _run(qtbot, ctx, digits_300, tmp_path, lr, epochs=3):
    ctx.workspace.set_dataset(digits_300)
    dlg = TrainingDialog(ctx)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(dlg.ready, timeout=60000)
    try:
        dlg.set_model("dae")
        dlg.epochs.setValue(epochs)
        dlg.batch_size.setValue(64)
        dlg.lr.setValue(lr)
        dlg.save_path.setText(str(tmp_path / f"dae_{lr}.safetensors"))
        with qtbot.waitSignal(dlg.finished_model, timeout=60000) as blocker:
            dlg.start()
        name = blocker.args[0]
        qtbot.waitUntil(lambda: name in ctx.workspace.codes, timeout=30000)
        return dlg.state_label.text(), dlg.last_result.summary
    finally:
        dlg.shutdown()


def test_a_collapsed_run_says_so_when_it_finishes(qtbot, ctx, digits_300, tmp_path):
    text, summary = _run(qtbot, ctx, digits_300, tmp_path, lr=0.05)
    # one code for every image, or (on another machine's float path) codes along one direction
    assert CodeCheck(**summary["code_check"]).collapsed
    assert text.startswith(("Many images got the same code (", "The codes vary along about one direction ("))
    assert "the run was short (15 steps); train longer or with a smaller learning rate." in text
    assert "Finished: dae (digits)" in text and text.endswith("Its codes are ready in every view.")


def test_a_healthy_run_says_nothing_of_the_kind(qtbot, ctx, digits_300, tmp_path):
    text, summary = _run(qtbot, ctx, digits_300, tmp_path, lr=0.001, epochs=20)  # 100 steps
    assert summary["code_check"]["same_code_share"] == 0 and summary["code_check"]["code_rank"] > 1.5
    assert "warning" not in summary and text.startswith("Finished: dae (digits)")
