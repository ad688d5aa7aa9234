"""`binae`: binary codes that train, come out as 0/1, and are found by Hamming search."""

import json

import numpy as np
import pytest
import torch

from explorer.cli import main
from explorer.core.progress import run_to_end
from explorer.data import load_data
from explorer.models.base import build_model
from explorer.retrieval import HammingIndex, retrieval_metrics
from explorer.training.engine import TrainConfig, train


@pytest.fixture(scope="module")
def digits():
    return load_data("sample:digits").subset(np.arange(600))


@pytest.mark.parametrize("binarise", ["noise", "straight"])
def test_binae_trains_to_binary_codes_that_retrieve(digits, binarise):
    options = {"hidden": [64], "binarise": binarise}
    config = TrainConfig(
        model="binae", epochs=12, batch_size=32, lr=3e-3, code_dim=32, seed=0, options=options
    )
    result = run_to_end(train(config, digits))
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < 0.85 * losses[0], losses
    last = result.history[-1]
    assert last["binary_share"] > 0.6  # the code units saturated under the noise
    x = torch.from_numpy(digits.float_images())
    codes = result.model.encode(x).numpy()
    assert codes.shape == (600, 32) and set(np.unique(codes)) <= {0.0, 1.0}
    m = retrieval_metrics(codes, digits.labels, metric="hamming")
    chance = np.mean(np.bincount(digits.labels) / len(digits.labels))
    assert m.precision_at_1 > 0.5 and m.map_at_r > 2.5 * chance, m.map_at_r
    idx, dist = HammingIndex(codes).search(codes[:5], 3, exclude=np.arange(5))
    assert idx.shape == (5, 3) and np.all(dist[:, 0] <= dist[:, 1])


def test_noise_ramp_follows_the_run_length():
    model = build_model("binae", (1, 8, 8), code_dim=16, options={"ramp": 0.5, "noise": 4.0})
    model.plan(100)
    assert model.noise_std() == 0.0
    model.steps += 25
    assert model.noise_std() == pytest.approx(2.0)
    model.steps += 100
    assert model.noise_std() == pytest.approx(4.0)


def test_train_and_evaluate_binae_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "binae.safetensors"
    args = [
        "train",
        "--model",
        "binae",
        "--data",
        "sample:digits",
        "--epochs",
        "8",
        "--code-dim",
        "64",
        "--lr",
        "3e-3",
    ]
    assert main([*args, "--option", "hidden=[64]", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "retrieval", "--model", str(out), "--data", "sample:digits"]) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert got["metric"] == "hamming" and got["bits"] == 64
    assert got["precision_at_1"] > 0.3 and 0.1 < got["map_at_r"] <= 1.0  # chance: 0.1
