"""Training faults: NaN/Inf losses and weights stop training with a TrainingError sentence and keep
the last good checkpoint; an overflowing learning rate too; out of memory retries at half the batch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from explorer.core.errors import TrainingError
from explorer.core.progress import run_to_end

torch = pytest.importorskip("torch")

from explorer.models.checkpoint import load  # noqa: E402
from explorer.training.engine import TrainConfig, train  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    from explorer.data import load_data

    return load_data("sample:digits").subset(np.arange(60))


def _config(tmp_path, **kw) -> TrainConfig:
    """A tiny run: 60 digits -> 53 training items, batch 16 -> 4 steps an epoch."""
    base = dict(
        model="ae",
        epochs=3,
        batch_size=16,
        lr=1e-3,
        device="cpu",
        code_dim=4,
        seed=0,
        options={"hidden": (16,)},
        checkpoint=str(tmp_path / "m.safetensors"),
        threads=1,
    )
    base.update(kw)
    return TrainConfig(**base)


def _finite_checkpoint(path) -> tuple[bool, dict]:
    ck = load(path)
    finite = all(bool(torch.isfinite(v).all()) for v in ck.model.state_dict().values())
    return finite, ck.summary


def _poison_after(model, step: int) -> None:
    """Make the weights NaN right after optimiser step ``step`` (what a bad update does)."""
    calls = {"n": 0}
    original = model.after_step

    def after_step():
        original()
        calls["n"] += 1
        if calls["n"] == step:
            with torch.no_grad():
                next(model.parameters()).fill_(math.nan)

    model.after_step = after_step


@pytest.mark.parametrize("lr, words", [(1e20, "validation loss became nan"), (1e38, "overflowed")])
def test_huge_learning_rate_stops_with_a_sentence_and_writes_no_bad_checkpoint(tmp_path, digits, lr, words):
    cfg = _config(tmp_path, lr=lr, batch_size=128)  # one step per epoch: the bad weights reach a save
    with pytest.raises(TrainingError, match=words) as err:
        run_to_end(train(cfg, digits))
    assert "lower learning rate" in str(err.value)
    assert not (tmp_path / "m.safetensors").exists()


def test_nan_loss_after_a_good_epoch_keeps_that_checkpoint(tmp_path, digits):
    from explorer.models.base import build_model

    model = build_model("ae", digits.shape, 4, {"hidden": (16,)})
    real_loss = model.loss
    calls = {"n": 0}

    def loss(batch):
        calls["n"] += 1
        value, extra = real_loss(batch)
        return (value * math.nan if calls["n"] == 6 else value), extra  # 4 steps an epoch: epoch 2

    model.loss = loss
    with pytest.raises(
        TrainingError, match=r"loss became nan at step 6 \(epoch 2\).*keeps the last good state"
    ):
        run_to_end(train(_config(tmp_path), digits, model=model))
    finite, summary = _finite_checkpoint(tmp_path / "m.safetensors")
    assert finite and summary["epochs"] == 1 and summary["steps"] == 4


def test_weights_gone_nan_are_not_checkpointed(tmp_path, digits):
    from explorer.models.base import build_model

    model = build_model("ae", digits.shape, 4, {"hidden": (16,)})
    _poison_after(model, 5)
    with pytest.raises(TrainingError, match="NaN or infinite at step 5.*keeps the last good state"):
        run_to_end(train(_config(tmp_path, checkpoint_every=1), digits, model=model))
    finite, summary = _finite_checkpoint(tmp_path / "m.safetensors")
    assert finite and summary["steps"] == 4


def test_cancel_after_weights_went_bad_keeps_the_good_checkpoint(tmp_path, digits):
    from explorer.models.base import build_model

    model = build_model("ae", digits.shape, 4, {"hidden": (16,)})
    _poison_after(model, 6)  # epoch 1 (steps 1-4) was saved; step 6 ruins the weights
    gen = train(_config(tmp_path), digits, model=model)
    for rec in gen:
        if rec.step == 6:
            gen.close()  # Cancel: would save the ruined weights over the good file
            break
    finite, summary = _finite_checkpoint(tmp_path / "m.safetensors")
    assert finite and summary["steps"] == 4


def _oom_once(model, exc):
    real_loss = model.loss
    calls = {"n": 0, "sizes": []}

    def loss(batch):
        calls["n"] += 1
        calls["sizes"].append(len(next(iter(batch.values()))))
        if calls["n"] == 1:
            raise exc
        return real_loss(batch)

    model.loss = loss
    return calls


@pytest.mark.parametrize(
    "exc",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    ],
    ids=["OutOfMemoryError", "RuntimeError"],
)
def test_out_of_memory_retries_once_at_half_the_batch(tmp_path, digits, exc):
    from explorer.models.base import build_model

    model = build_model("ae", digits.shape, 4, {"hidden": (16,)})
    calls = _oom_once(model, exc)
    result = run_to_end(train(_config(tmp_path, epochs=1), digits, model=model))
    assert calls["sizes"][0] == 16 and max(calls["sizes"][1:]) == 8
    assert result.summary["batch_size"] == 8


def test_out_of_memory_twice_explains(tmp_path, digits):
    from explorer.models.base import build_model

    model = build_model("ae", digits.shape, 4, {"hidden": (16,)})

    def loss(batch):
        raise torch.OutOfMemoryError("CUDA out of memory.")

    model.loss = loss
    with pytest.raises(TrainingError, match="memory"):
        run_to_end(train(_config(tmp_path, epochs=1), digits, model=model))
