"""Cancel during training stops the worker thread within a second, keeps the checkpoint so far and
leaves no thread behind (TaskRunner driving the real training engine, as the dialog does)."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("pytestqt")
torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def digits():
    from explorer.data import load_data

    return load_data("sample:digits").subset(np.arange(400))


def test_cancel_stops_training_within_a_second(qtbot, tmp_path, digits):
    from explorer.models.checkpoint import load
    from explorer.training.engine import TrainConfig, train
    from explorer.ui import workers
    from explorer.ui.workers import TaskRunner

    runner = TaskRunner(min_interval=0.0)
    ckpt = tmp_path / "m.safetensors"
    cfg = TrainConfig(
        model="ae",
        epochs=200,
        batch_size=32,
        lr=1e-3,
        device="cpu",
        code_dim=4,
        options={"hidden": (32,)},
        checkpoint=str(ckpt),
        threads=1,
        seed=0,
    )
    steps = []
    runner.partial.connect(lambda tag, rec: steps.append(rec.step))
    runner.start(lambda: train(cfg, digits), tag="run")
    qtbot.waitUntil(lambda: len(steps) > 0 and steps[-1] >= 5, timeout=30_000)
    t0 = time.perf_counter()
    with qtbot.waitSignal(runner.cancelled, timeout=5000):
        runner.cancel()
    qtbot.waitUntil(runner.is_idle, timeout=5000)
    stopped_after = time.perf_counter() - t0
    assert stopped_after < 1.0, f"the worker took {stopped_after:.2f} s to stop"
    assert runner.shutdown(1000)
    assert not any(t.isRunning() for t in workers._LIVE)  # no worker thread left behind
    summary = load(ckpt).summary  # the checkpoint so far was written on the way out
    assert summary["stopped"] == "cancelled" and summary["steps"] >= 5
