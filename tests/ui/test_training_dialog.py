import os
import time

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from explorer.ui.dialogs.training import TrainingDialog, format_eta
from explorer.ui.dialogs.training_panels import tile_samples


class StallMeter:
    """Longest gap between ticks of a 5 ms GUI-thread timer, minus the interval (ms)."""

    def __init__(self, interval_ms=5):
        self.interval = interval_ms
        self.worst = 0.0
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def start(self):
        self._last = time.perf_counter()
        self.timer.start()

    def _tick(self):
        now = time.perf_counter()
        self.worst = max(self.worst, (now - self._last) * 1000 - self.interval)
        self._last = now

    def stop(self):
        self.timer.stop()
        return self.worst


def test_options_a_model_ignores_are_not_offered(dialog):
    """bgae is a gated autoencoder's subclass without its factor filters: the dialog listed
    factors 256, tied, init scale ... that change nothing."""
    from explorer.models.basis_gae import BasisGaeConfig

    dialog.set_model("bgae")
    assert dialog.options.editor("width").value() == BasisGaeConfig.width
    for name in BasisGaeConfig.unused:
        with pytest.raises(KeyError):
            dialog.options.editor(name)
    dialog.set_model("gae")
    assert dialog.options.editor("factors").value() == 256  # the gated autoencoder's own


def test_defaults_follow_the_model(dialog):
    keys = [dialog.model_box.itemData(i) for i in range(dialog.model_box.count())]
    assert {"ae", "dae", "siamese"} <= set(keys)
    dialog.set_model("dae")
    assert dialog.options.has_options() and dialog.options.editor("noise").value() == pytest.approx(0.3)
    dialog.set_model("siamese")
    from explorer.models.base import model_class

    defaults = model_class("siamese").defaults
    assert dialog.epochs.value() == defaults["epochs"] and dialog.lr.value() == pytest.approx(defaults["lr"])
    assert dialog.device_box.itemData(0) == "auto" and "cpu" in [
        dialog.device_box.itemData(i) for i in range(dialog.device_box.count())
    ]


def test_train_progress_in_order_then_cancel(qtbot, dialog, tmp_path, record_property):
    dialog.set_model("ae")
    dialog.epochs.setValue(50)
    dialog.batch_size.setValue(32)
    dialog.options.editor("hidden").setText("64")
    ckpt = tmp_path / "run.safetensors"
    dialog.save_path.setText(str(ckpt))
    steps = []
    dialog.progress.connect(lambda rec: steps.append(rec.step))
    meter = StallMeter()
    meter.start()
    dialog.start()
    assert dialog.is_training()
    qtbot.waitUntil(lambda: len(steps) >= 4 and steps[-1] >= 6, timeout=60000)
    thread = dialog.runner._thread
    with qtbot.waitSignal(dialog.runner.cancelled, timeout=10000):
        dialog.cancel()
    stall = meter.stop()
    record_property("max_stall_ms", round(stall, 1))
    print(f"\nlongest event-loop stall while training: {stall:.1f} ms")
    assert steps == sorted(steps) and len(set(steps)) == len(steps)
    qtbot.waitUntil(dialog.runner.is_idle, timeout=10000)
    assert not thread.isRunning() and not dialog.is_training()
    assert ckpt.exists()  # cancelling keeps the checkpoint so far
    assert "kept" in dialog.state_label.text()
    assert dialog.start_button.isEnabled()
    assert len(dialog.loss_plot.train_x) >= 2
    # the window still answers: a zero-timer fires and the UI changes
    fired = []
    QTimer.singleShot(0, lambda: fired.append(True))
    qtbot.waitUntil(lambda: fired == [True], timeout=1000)
    assert stall < 1000  # the target is 50 ms on an idle machine; shared CI cores get slack


def test_a_finished_model_joins_the_workspace_with_codes(qtbot, dialog, tmp_path):
    ctx = dialog.ctx
    dialog.set_model("ae")
    dialog.epochs.setValue(2)
    dialog.code_dim.setValue(8)
    dialog.options.editor("hidden").setText("64")
    dialog.batch_size.setValue(256)
    dialog.save_path.setText(str(tmp_path / "ae.safetensors"))
    with qtbot.waitSignal(dialog.finished_model, timeout=60000) as blocker:
        dialog.start()
    name = blocker.args[0]
    assert name in ctx.workspace.models
    assert len(dialog.loss_plot.val_x) == 2  # one validation point per epoch
    assert dialog.samples.epoch == 2 and dialog.samples.pixmap_size()[0] > 0
    frames = ctx.workspace.probes[name][1]
    assert len(frames) >= 2 and frames[-1][1].shape[1] == 8
    qtbot.waitUntil(lambda: name in ctx.workspace.codes, timeout=30000)
    assert ctx.workspace.codes[name].shape == (1797, 8)
    assert os.path.exists(tmp_path / "ae.safetensors")
    # issue 13 item 9: the state line says where the checkpoint went and that the codes are in
    text = dialog.state_label.text()
    assert str(tmp_path / "ae.safetensors") in text and "being computed" not in text and "ready" in text


def test_a_model_needing_labels_cannot_start_on_unlabelled_data(qtbot, dialog, digits_set):
    from dataclasses import replace

    dialog.ctx.workspace.set_dataset(replace(digits_set, labels=None, class_names=[]))
    dialog.set_model("siamese")
    assert not dialog.start_button.isEnabled()
    assert "labels" in dialog.state_label.text()


def test_helpers():
    assert format_eta(75) == "1:15" and format_eta(3725) == "1:02:05" and format_eta(float("nan")) == "–"
    tiled = tile_samples(np.zeros((2, 3, 1, 4, 4), np.float32), gap=2)
    assert tiled.shape == (1, 10, 16) and tiled[0, 4, 0] == 1.0 and tiled[0, 0, 0] == 0.0


def test_untouched_fields_train_what_the_cli_trains(dialog):
    """Issue 13 item 2: with nothing changed, every model's dialog run has the CLI's defaults
    (the gated autoencoder got code size 1 instead of its 64 mapping units)."""
    from explorer.models.base import make_config, model_class
    from explorer.training.run_length import epoch_steps, scaled_epochs

    keys = [dialog.model_box.itemData(i) for i in range(dialog.model_box.count())]
    assert "gae" in keys
    for key in keys:
        dialog.set_model(key)
        tc = dialog.train_config()
        assert make_config(key, tc.code_dim, tc.options) == make_config(key), key
        d = model_class(key).defaults
        per_epoch = epoch_steps(key, dialog.ctx.workspace.dataset, d["batch_size"], tc.val_fraction)
        epochs = d["epochs"] if per_epoch is None else scaled_epochs(d["epochs"], per_epoch)  # small data
        assert (tc.epochs, tc.batch_size) == (epochs, d["batch_size"]), key
        assert tc.lr == pytest.approx(d["lr"]), key
    dialog.set_model("gae")
    assert dialog.code_dim.isEnabled() and dialog.code_dim.value() == 64
    dialog.code_dim.setValue(16)  # a size the user asks for is used
    tc = dialog.train_config()
    assert make_config("gae", tc.code_dim, tc.options).hidden == 16
    dialog.set_model("pairnet")  # a pair classifier has no per-image code to size
    assert not dialog.code_dim.isEnabled() and dialog.train_config().code_dim is None


def test_fine_tune_a_loaded_model_chosen_from_a_list(qtbot, dialog, tmp_path):
    """Issue 13 item 4: the backbone is picked from the loaded models (no free-text field), the
    class count comes from the data set (it was 0: 'NoneType' object is not callable), and the
    loaded model itself is not changed by fine-tuning all layers."""
    from PySide6.QtWidgets import QComboBox, QLineEdit

    from explorer.models.base import build_model
    from explorer.models.encoders import model_encoder

    ws = dialog.ctx.workspace
    dialog.set_model("finetune")
    assert dialog.backbone_box.count() == 0 and not dialog.start_button.isEnabled()
    assert "loaded model" in dialog.state_label.text()
    typed = [w for w in dialog.options.findChildren(QLineEdit) if w.objectName().startswith("opt_")]
    assert not typed  # nothing to type: no backbone path, objective from a list
    assert isinstance(dialog.options.editor("objective"), QComboBox)

    ae = build_model("ae", ws.dataset.shape, 8, {"hidden": (32,)})
    before = {k: v.clone() for k, v in ae.state_dict().items()}
    ws.add_model("my ae", model_encoder(ae, name="my ae"))
    wrong = build_model("ae", (1, 4, 4), 8, {"hidden": (8,)})  # another image size: not offered
    ws.add_model("tiny ae", model_encoder(wrong, name="tiny ae"))
    assert [dialog.backbone_box.itemText(i) for i in range(dialog.backbone_box.count())] == ["my ae"]
    assert dialog.start_button.isEnabled()
    dialog.epochs.setValue(1)
    dialog.batch_size.setValue(256)
    dialog.save_path.setText(str(tmp_path / "ft.safetensors"))
    with qtbot.waitSignal(dialog.finished_model, timeout=60000) as blocker:
        dialog.start()
    model = dialog.last_result.model
    assert model.key == "finetune" and model.config.n_classes == 10 and model.classifier is not None
    assert model.config.backbone == "my ae" and model.config.backbone_architecture == "ae"
    assert blocker.args[0] in ws.models
    for k, v in ae.state_dict().items():  # the loaded model is untouched
        assert (v == before[k]).all(), k


def test_gae_trains_on_a_folder_of_sequences_from_the_dialog(qtbot, dialog, tmp_path):
    """Issue 13 item 7: the dialog accepts what `explorer train` accepts (consecutive frames of each
    sub-folder are the pairs), and says why a folder with single frames cannot pair."""
    from PIL import Image

    from explorer.data import load_data

    rng = np.random.default_rng(0)
    for s in range(3):
        (tmp_path / "seqs" / f"seq{s}").mkdir(parents=True)
        base = rng.random((20, 20))
        for t in range(8):
            img = (np.roll(base, t, axis=1)[:10, :10] * 255).astype(np.uint8)
            Image.fromarray(img).save(tmp_path / "seqs" / f"seq{s}" / f"frame{t}.png")
        (tmp_path / "singles" / f"seq{s}").mkdir(parents=True)
        Image.fromarray((base[:10, :10] * 255).astype(np.uint8)).save(
            tmp_path / "singles" / f"seq{s}" / "a.png"
        )
    ws = dialog.ctx.workspace
    ws.set_dataset(load_data(str(tmp_path / "singles")))
    dialog.set_model("gae")
    assert not dialog.start_button.isEnabled() and "two frames" in dialog.state_label.text()
    ws.set_dataset(load_data(str(tmp_path / "seqs")))
    assert dialog.start_button.isEnabled()
    dialog.epochs.setValue(1)
    dialog.val_fraction.setValue(0.0)
    dialog.save_path.setText(str(tmp_path / "gae.safetensors"))
    with qtbot.waitSignal(dialog.finished_model, timeout=60000):
        dialog.start()
    assert dialog.last_result.summary["train_items"] == 3 * 7
    assert dialog.last_result.model.config.hidden == 64


def test_photo_sized_samples_are_scaled_down_and_never_widen_the_dialog(qtbot):
    """Eight 3x267x397 reconstructions tile to 3,200 px: the panel shows them at its own width
    (it used to take the tiled width as its minimum and push the dialog to 3,584 px)."""
    from explorer.ui.dialogs.training_panels import SamplePanel

    panel = SamplePanel()
    qtbot.addWidget(panel)
    panel.resize(700, 300)
    panel.show()
    samples = np.random.default_rng(0).random((2, 8, 3, 267, 397)).astype(np.float32)
    panel.set_samples(samples, epoch=1)
    qtbot.wait(10)
    w, h = panel.pixmap_size()
    assert 0 < w <= 700 and 0 < h <= 300
    assert panel.minimumSizeHint().width() < 700
    small = np.random.default_rng(0).random((2, 8, 1, 28, 28)).astype(np.float32)
    panel.set_samples(small, epoch=2)  # digits: scaled up by whole pixels
    w, _ = panel.pixmap_size()
    tiled = 8 * 28 + 7 * 2
    assert w >= tiled and w % tiled == 0


def test_pseudo_siamese_trains_on_stereo_pairs_from_the_dialog(qtbot, dialog, tmp_path):
    """Issue 18: untied towers (f_Q on left patches, f_B on right ones) from the dialog."""
    from explorer.data import load_data

    dialog.ctx.workspace.set_dataset(load_data("sample:stereo").subset(np.arange(400)))
    dialog.set_model("siamese")
    assert dialog.start_button.isEnabled()
    dialog.options.editor("untied").setChecked(True)
    dialog.options.editor("tower").setText("mlp")
    dialog.epochs.setValue(1)
    dialog.save_path.setText(str(tmp_path / "pseudo.safetensors"))
    with qtbot.waitSignal(dialog.finished_model, timeout=60000):
        dialog.start()
    model = dialog.last_result.model
    assert model.tower_b is not None and model.uses_partners(dialog.ctx.workspace.dataset)
    assert np.isfinite(dialog.last_result.history[-1]["auc"])


def test_photos_offer_training_sizes_and_train_small_by_default(qtbot, dialog, ctx):
    """A set of 267x397 photos: the dialog offers automatic (64x95), as they are and smaller sides,
    and the run it starts trains at the size chosen."""
    from explorer.core.imageset import ImageSet

    photos = ImageSet(np.zeros((6, 3, 267, 397), np.uint8), name="photos", format="npz")
    ctx.workspace.set_dataset(photos)
    dialog._on_dataset_changed()
    box = dialog.image_size
    labels = [box.itemText(i) for i in range(box.count())]
    assert labels[:2] == ["automatic (64×95)", "as they are (267×397)"] and "32 px (32×48)" in labels
    assert dialog.train_config().image_size is None
    box.setCurrentIndex(box.findData(32))
    assert dialog.train_config().image_size == 32
    ctx.workspace.set_dataset(photos.subset(np.arange(3)))  # another set of the same shape keeps it
    dialog._on_dataset_changed()
    assert dialog.train_config().image_size == 32


def _turning_objects(folder, count=6, frames=8):
    """A folder of sequences: ``count`` textured objects turning, one sub-folder each."""
    from explorer.data.sequences import render_sequences, write_sequence_folder

    seqs, _ = render_sequences(count, np.random.default_rng(0), frames, 16, motion="turn")
    write_sequence_folder(str(folder), seqs, prefix="obj")
    return folder


def _class_folder(folder, digits, per_class=6):
    """A folder of classes: digit pictures, one sub-folder per digit, numbered files."""
    from PIL import Image

    for k in range(4):
        (folder / f"digit{k}").mkdir(parents=True)
        for j, i in enumerate(np.flatnonzero(digits.labels == k)[:per_class]):
            img = (digits.images[i, 0] * 255).astype(np.uint8)
            Image.fromarray(img).save(folder / f"digit{k}" / f"img_{j:03d}.png")
    return folder


def test_a_folder_of_sequences_opens_the_dialog_on_the_relational_model(qtbot, ctx, digits_set, tmp_path):
    """On turning objects the dialog's default kind is bgae with bgae's defaults; on a folder of
    classes (or other data) it stays dae; a kind the user chose stays when the data change."""
    from explorer.data import load_data
    from explorer.models.base import model_class

    ws = ctx.workspace
    ws.set_dataset(load_data(str(_turning_objects(tmp_path / "turning"))))
    dlg = TrainingDialog(ctx)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(dlg.ready, timeout=60000)
    try:
        assert dlg.model_box.currentData() == "bgae"
        assert "6 sequences" in dlg.data_label.text()  # (it said "6 classes")
        defaults = model_class("bgae").defaults  # 42 pairs of frames, 1 step an epoch: 10x the epochs
        assert (
            dlg.epochs.value() == 10 * defaults["epochs"] and dlg.batch_size.value() == defaults["batch_size"]
        )
        assert dlg.epochs.suffix().strip() == f"({10 * defaults['epochs']} steps)"
        assert dlg.lr.value() == pytest.approx(defaults["lr"])
        assert dlg.start_button.isEnabled()  # consecutive frames are its pairs
        ws.set_dataset(load_data(str(_class_folder(tmp_path / "classes", digits_set))))
        assert dlg.model_box.currentData() == "dae" and "4 classes" in dlg.data_label.text()
        from explorer.training.run_length import scaled_epochs

        d = model_class("dae").defaults  # 24 pictures: the epochs for 300 steps (run_length)
        assert dlg.epochs.value() == scaled_epochs(d["epochs"], 1) == 200
        ws.set_dataset(load_data(str(tmp_path / "turning")))
        assert dlg.model_box.currentData() == "bgae"
        dlg.model_box.activated.emit(dlg.model_box.findData("ae"))  # the user's own choice
        dlg.model_box.setCurrentIndex(dlg.model_box.findData("ae"))
        ws.set_dataset(digits_set)
        assert dlg.model_box.currentData() == "ae"
    finally:
        dlg.shutdown()


def test_the_loss_plot_keeps_its_axes_while_points_arrive(qtbot):
    """x spans the run's epochs from the start; y changes in a few steps as the loss falls (an
    axis whose range changes redraws its ticks: most of the plot's cost per update), and every
    point stays in view."""
    from explorer.core.progress import Progress
    from explorer.ui.dialogs.training_panels import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)
    changes = []
    plot.getPlotItem().getViewBox().sigRangeChanged.connect(lambda *_: changes.append(1))
    steps, total, epochs = [], 400, 4
    for k in range(1, 61):
        steps.extend((s + 1, total, 2.0 / (1 + 0.05 * s)) for s in range(len(steps), 6 * k))
        metrics = {"val_loss": 2.0 / (1 + 0.3 * k), "val_epoch": k / 15} if k % 15 == 0 else {}
        plot.add(Progress(step=6 * k, total=total, loss=steps[-1][2], metrics=metrics), epochs, steps)
    (x0, x1), (y0, y1) = plot.getPlotItem().getViewBox().viewRange()
    assert x0 <= 0 < epochs <= x1 < epochs * 1.1
    ys = plot.train_y + plot.val_y
    assert y0 <= min(ys) and max(ys) <= y1
    assert len(changes) <= 8  # of 60 updates


def test_runs_let_their_live_budget_go_when_they_end(qtbot, open_dialog, digits_300):
    """polish27: every run's LiveBudget stayed in ctx.services["live_budgets"] (a small leak over
    runs). A run holds its own while it runs; when it ends (done or cancelled) it is let go."""
    import gc
    import weakref

    from explorer.ui.dialogs.training_results import live_budgets

    dlg = open_dialog(digits_300)
    dlg.set_model("ae")
    dlg.epochs.setValue(1)
    dlg.save_check.setChecked(False)
    assert dlg.live_scatter.isChecked()
    seen = []  # (run, the budgets' runs, a weak reference to its budget) at each progress record
    dlg.progress.connect(
        lambda _rec: seen.append(
            (dlg.run_name, sorted(live_budgets(dlg.ctx)), weakref.ref(live_budgets(dlg.ctx)[dlg.run_name]))
        )
    )
    runs = 4
    for _ in range(runs):
        with qtbot.waitSignal(dlg.finished_model, timeout=60000):
            dlg.start()
        assert live_budgets(dlg.ctx) == {}
        qtbot.waitUntil(lambda: dlg.start_button.isEnabled(), timeout=10000)  # its thread has ended
    assert len({run for run, _, _ in seen}) == runs and all(names == [run] for run, names, _ in seen)
    dlg.epochs.setValue(50)  # a cancelled run lets its budget go too
    with qtbot.waitSignal(dlg.runner.cancelled, timeout=60000):
        dlg.start()
        qtbot.waitUntil(lambda: seen[-1][0] == dlg.run_name, timeout=30000)
        dlg.cancel()
    assert live_budgets(dlg.ctx) == {}
    qtbot.waitUntil(lambda: not dlg.runner.is_running(), timeout=10000)
    gc.collect()
    alive = {run for run, _, ref in seen if ref() is not None}
    assert len(alive) <= 1  # (the last job's thread may still hold its own)


def test_the_metric_plot_beside_the_samples_is_wide_enough_to_read(qtbot, dialog):
    """polish27: bgae on 24 turning objects, 1100x760: the validation-NMSE plot, shown when the run
    first reported it, got 70 px beside the sample panel, its title and axis cut."""
    from explorer.ui.dialogs.training_panels import METRIC_PLOT_WIDTH

    dialog.resize(1100, 760)
    qtbot.waitExposed(dialog)
    dialog.samples.show()
    dialog.metric_plot.set_key("val_nmse")
    dialog.metric_plot.show()  # as _on_progress does when the figure first comes
    qtbot.waitUntil(lambda: dialog.metric_plot.width() > 0, timeout=2000)
    qtbot.wait(20)
    assert dialog.metric_plot.width() >= METRIC_PLOT_WIDTH and dialog.samples.width() > METRIC_PLOT_WIDTH


def test_relational_models_caption_their_sample_panel(qtbot, tmp_path):
    """polish27: bgae's panel (images over their first basis image of change) and gae's (filter
    pairs U over V) were captioned 'top: input, bottom: reconstruction'."""
    from explorer.data import load_data
    from explorer.training.engine import TrainConfig, train
    from explorer.ui.dialogs.training_panels import SamplePanel

    folder = _turning_objects(tmp_path / "turning", count=3, frames=6)
    gen = train(TrainConfig(model="bgae", epochs=1, batch_size=8), load_data(str(folder)))
    caption = None
    for rec in gen:
        if isinstance(rec.payload, dict) and rec.payload.get("samples") is not None:
            samples, caption = rec.payload["samples"], rec.payload.get("samples_caption")
    panel = SamplePanel()
    qtbot.addWidget(panel)
    panel.set_samples(samples, 1, caption)
    assert "basis image of change" in panel.title.text() and "reconstruction" not in panel.title.text()
    panel.set_samples(np.zeros((2, 4, 1, 8, 8), np.float32), 2)  # an autoencoder's: as before
    assert panel.title.text().endswith("(top: input, bottom: reconstruction)")
