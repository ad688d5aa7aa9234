"""The training loop: progress records, seeds, stopping, checkpoints, NaN, devices, splits."""

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from explorer.core.errors import DeviceError, TrainingError
from explorer.core.progress import Progress, run_to_end
from explorer.data import load_data
from explorer.models.base import TrainableModel, shuffled_batches
from explorer.training.devices import available_devices, resolve_device
from explorer.training.engine import TrainConfig, shift_images, split_indices, train

SMALL = {"hidden": [32, 16]}


@pytest.fixture(scope="module")
def digits():
    return load_data("sample:digits").subset(np.arange(300))


def collect(gen):
    records = []
    while True:
        try:
            records.append(next(gen))
        except StopIteration as stop:
            return records, stop.value


def test_records_in_order_with_probe_and_panel(digits):
    config = TrainConfig(
        model="ae", epochs=2, batch_size=64, code_dim=4, options=SMALL, probe_every=3, probe_size=100
    )
    records, result = collect(train(config, digits))
    assert all(isinstance(r, Progress) for r in records)
    steps = [r.step for r in records]
    assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == records[-1].total == 10
    assert records[0].loss is None and all(math.isfinite(r.loss) for r in records[1:])
    ends = [r for r in records if r.payload["epoch_end"]]
    assert [r.metrics["val_epoch"] for r in ends] == [1.0, 2.0]
    assert "val_loss" not in records[1].metrics and "val_loss" in records[-1].metrics
    last = records[-1]
    assert {"epoch", "items_per_s", "eta_s"} <= set(last.metrics) and last.metrics["eta_s"] == 0
    probe = last.payload["probe_codes"]
    assert probe.shape == (100, 4) and probe.dtype == np.float32
    assert len(last.payload["probe_indices"]) == 100 and last.payload["probe_step"] == 10
    assert records[0].payload["probe_codes"].shape == (100, 4)  # the layout before training
    assert last.payload["samples"].shape == (2, 8, 1, 8, 8) and last.payload["samples_epoch"] == 2
    assert [h["epoch"] for h in result.history] == [1, 2]
    assert result.summary["stopped"] == "completed" and result.summary["steps"] == 10
    assert not result.model.training


def test_same_seed_same_model(digits):
    config = TrainConfig(
        model="dae", epochs=2, batch_size=64, code_dim=4, seed=3, augment=True, options=SMALL
    )
    a = run_to_end(train(config, digits))
    b = run_to_end(train(config, digits))
    c = run_to_end(train(TrainConfig(**{**config.__dict__, "seed": 4}), digits))
    x = torch.from_numpy(digits.float_images(slice(0, 10)))
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    assert torch.equal(a.model.encode(x), b.model.encode(x))
    assert not torch.equal(a.model.encode(x), c.model.encode(x))


def test_closing_stops_between_steps_and_keeps_the_checkpoint(digits, tmp_path):
    from explorer.models.checkpoint import load

    path = tmp_path / "run.safetensors"
    gen = train(
        TrainConfig(model="ae", epochs=50, batch_size=32, code_dim=4, options=SMALL, checkpoint=str(path)),
        digits,
    )
    for _ in range(6):
        record = next(gen)
    gen.close()
    assert record.step == 5 and record.total == 50 * 9
    ck = load(path)
    assert ck.summary["stopped"] == "cancelled" and ck.summary["steps"] == 5
    assert ck.architecture == "ae" and ck.input_shape == (1, 8, 8)


@dataclass
class BlowUpConfig:
    code_dim: int = 2
    after: int = 3


class BlowUp(TrainableModel):
    """A model whose loss turns NaN after a few steps."""

    key = "blowup"
    Config = BlowUpConfig

    def __init__(self, config, input_shape):
        super().__init__(config, input_shape)
        self.lin = torch.nn.Linear(int(np.prod(input_shape)), config.code_dim)
        self.calls = 0

    def batches(self, data, batch_size, rng):
        for idx in shuffled_batches(data.count, batch_size, rng):
            yield {"x": data.float_images(idx)}

    def loss(self, batch):
        self.calls += 1
        out = self.encode(batch["x"]).pow(2).mean()
        return (out * float("nan") if self.calls > self.config.after else out), {}

    def validate(self, data):
        return {"val_loss": 0.0}

    def encode(self, x):
        return self.lin(x.flatten(1))


def test_nan_loss_stops_with_a_training_error(digits, tmp_path):
    path = tmp_path / "b.safetensors"
    model = BlowUp(BlowUpConfig(after=12), digits.shape)
    gen = train(
        TrainConfig(model="blowup", epochs=5, batch_size=32, checkpoint=str(path)), digits, model=model
    )
    with pytest.raises(TrainingError, match="loss became nan at step 13"):
        collect(gen)
    assert path.exists()  # the checkpoint of the last good epoch is still there
    assert torch.isfinite(model.lin.weight).all()  # the NaN step was never applied


def test_devices():
    assert resolve_device("auto").type == available_devices()[0]
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no usable CUDA"):
            resolve_device("cuda")
    with pytest.raises(DeviceError, match="Unknown device"):
        resolve_device("tpu")


def test_labels_and_pairs_are_checked(digits):
    from explorer.core.imageset import ImageSet

    unlabelled = ImageSet(images=digits.images[:50])
    with pytest.raises(TrainingError, match="class labels"):
        next(train(TrainConfig(model="siamese"), unlabelled))


def test_a_fine_tune_without_its_backbone_is_refused_in_a_sentence(digits):
    # issue 13 item 4: it was built with 0 classes and failed with "'NoneType' object is not callable"
    with pytest.raises(TrainingError, match="loaded encoder"):
        run_to_end(train(TrainConfig(model="finetune", epochs=1), digits))


def _identities(n_ids=30, per_id=4, seed=0):
    """A face-like set: ``n_ids`` identities of ``per_id`` noisy 8x8 views of a prototype each."""
    from explorer.core.imageset import ImageSet

    rng = np.random.default_rng(seed)
    protos = rng.random((n_ids, 1, 8, 8)).astype(np.float32)
    images = np.repeat(protos, per_id, 0) + 0.1 * rng.standard_normal((n_ids * per_id, 1, 8, 8)).astype(
        np.float32
    )
    labels = np.repeat(np.arange(n_ids), per_id)
    return ImageSet(
        images=np.clip(images, 0, 1), labels=labels, class_names=[f"id{k}" for k in range(n_ids)], name="ids"
    )


@pytest.mark.parametrize("per_id", [4, 10])
def test_few_items_per_identity_still_validate_on_same_and_different_pairs(per_id):
    """Issue 13 item 8: one validation image per identity gave AUC nan and a triplet loss of 0."""
    data = _identities(per_id=per_id)
    train_idx, val_idx = split_indices(data, 0.1, 0)
    labels = data.labels[val_idx]
    _, counts = np.unique(labels, return_counts=True)
    assert len(counts) >= 2 and counts.max() >= 2  # same-identity pairs exist
    assert set(data.labels[train_idx]) == set(range(30))  # every identity still trains
    assert abs(len(val_idx) - 0.1 * data.count) <= 2
    result = run_to_end(train(TrainConfig(model="triplet", epochs=2, batch_size=32), data))
    last = result.history[-1]
    assert last["val_loss"] > 0 and np.isfinite(last["auc"])


def test_split_is_stratified_and_seeded(digits):
    tr, va = split_indices(digits, 0.2, seed=5)
    assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == digits.count
    share = np.bincount(digits.labels[va], minlength=10) / np.bincount(digits.labels, minlength=10)
    assert np.all(np.abs(share - 0.2) < 0.06)
    assert np.array_equal(va, split_indices(digits, 0.2, seed=5)[1])
    assert not np.array_equal(va, split_indices(digits, 0.2, seed=6)[1])


def test_shift_images_moves_content():
    img = np.zeros((1, 1, 8, 8), np.float32)
    img[0, 0, 4, 4] = 1
    rng = np.random.default_rng(0)
    out = shift_images(np.repeat(img, 50, 0), 2, rng)
    ys, xs = np.nonzero(out[:, 0].sum(0))
    assert out.sum() == 50 and set(ys) <= set(range(2, 7)) and len(set(ys)) > 1 and len(set(xs)) > 1


def test_a_pair_model_trains_on_a_folder_of_sequences(tmp_path):
    """Consecutive frames (natural order) of each class folder are the pairs of a gated AE."""
    from PIL import Image

    from explorer.core.progress import run_to_end
    from explorer.data import load_data
    from explorer.training.engine import TrainConfig, train

    rng = np.random.default_rng(0)
    for s in range(3):
        (tmp_path / f"seq{s}").mkdir()
        base = rng.random((20, 20))
        for t in range(11):  # frame10 sorts after frame9
            img = (np.roll(base, t, axis=1)[:13, :13] * 255).astype(np.uint8)
            Image.fromarray(img).save(tmp_path / f"seq{s}" / f"frame{t}.png")
    data = load_data(str(tmp_path))
    result = run_to_end(train(TrainConfig(model="gae", epochs=1, val_fraction=0.0), data))
    assert result.summary["train_items"] == 3 * 10
    assert np.isfinite(result.summary["loss"])


def test_a_metric_run_ends_with_its_best_epoch_on_held_out_classes(tmp_path, monkeypatch):
    """Ten classes: validation holds out whole ones, so the run keeps the epoch whose pair AUC on
    them was best (scripted here: 0.6, 0.9, 0.7), weights, figures and checkpoint alike."""
    from explorer.models import load_encoder
    from explorer.models.triplet import Triplet

    data = load_data("sample:digits").subset(np.arange(400))
    scores, states = iter([0.6, 0.9, 0.7]), []

    def scripted(self, val):
        states.append({k: v.clone() for k, v in self.state_dict().items()})
        return {"val_loss": 1.0, "auc": next(scores)}

    monkeypatch.setattr(Triplet, "validate", scripted)
    options = {"channels": [4], "hidden": 8, "class_symmetries": 1}
    path = tmp_path / "t.safetensors"
    config = TrainConfig(
        model="triplet", epochs=3, batch_size=32, code_dim=4, seed=0, options=options, checkpoint=str(path)
    )
    result = run_to_end(train(config, data))
    assert result.summary["best_epoch"] == 2 and result.summary["auc"] == 0.9
    assert result.summary["epochs"] == 3 and [h["auc"] for h in result.history] == [0.6, 0.9, 0.7]
    final = result.model.state_dict()
    assert all(torch.equal(final[k], states[1][k]) for k in final)
    assert not all(torch.equal(final[k], states[2][k]) for k in final)
    x = data.float_images(slice(0, 16))
    with torch.no_grad():
        ours = result.model.encode(torch.from_numpy(x)).numpy()
    assert np.abs(load_encoder(str(path)).encode(x) - ours).max() < 1e-5

    # five classes: validation within the classes, so no best-epoch keeping unless asked
    five = data.subset(data.labels <= 4)
    scores = iter([0.9, 0.6])
    config = TrainConfig(model="triplet", epochs=2, batch_size=32, code_dim=4, seed=0, options=options)
    result = run_to_end(train(config, five))
    assert "best_epoch" not in result.summary and result.summary["auc"] == 0.6
