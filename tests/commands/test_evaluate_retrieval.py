import json

import numpy as np
import pytest
from sklearn.datasets import load_digits

import explorer.models
from explorer.cli import main
from tests.retrieval.reference import reference_metrics


class _Pixels:
    """Stand-in for load_encoder('pixels') until the models package provides it."""

    name, input_shape = "pixels", None

    def encode(self, images):
        return images.reshape(len(images), -1)


@pytest.fixture
def digits_npz(tmp_path, monkeypatch):
    if not hasattr(explorer.models, "load_encoder"):
        monkeypatch.setattr(explorer.models, "load_encoder", lambda spec, data=None: _Pixels(), raising=False)
    d = load_digits()
    rng = np.random.default_rng(0)
    pick = rng.choice(len(d.target), 240, replace=False)
    images = (d.images[pick] * (255 / 16)).round().astype(np.uint8)  # (N, 8, 8)
    path = tmp_path / "digits.npz"
    np.savez(path, images=images, labels=d.target[pick])
    return str(path), images.reshape(len(images), -1).astype(np.float32) / 255, d.target[pick]


def _last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_pixels_agree_with_reference(digits_npz, capsys):
    path, pixels, labels = digits_npz
    assert main(["evaluate", "retrieval", "--model", "pixels", "--data", path, "--per-class"]) == 0
    out = _last_json(capsys)
    ref = reference_metrics(pixels, labels)
    for key in ("precision_at_1", "r_precision", "map_at_r", "map", "knn_accuracy"):
        assert out[key] == pytest.approx(ref[key], abs=1e-3), key
    assert out["queries"] == 240 and len(out["per_class"]) == 10
    assert 0.9 < out["precision_at_1"] <= 1.0  # digits are easy in pixel space at rank 1


def test_subset_and_indices(digits_npz, capsys, tmp_path):
    path, pixels, labels = digits_npz
    assert main(["evaluate", "retrieval", "--model", "pixels", "--data", path, "--subset", "odd"]) == 0
    out = _last_json(capsys)
    ref = reference_metrics(pixels[1::2], labels[1::2])
    assert out["count"] == 120 and out["map_at_r"] == pytest.approx(ref["map_at_r"], abs=1e-3)
    np.save(tmp_path / "pick.npy", np.arange(0, 240, 3))
    assert (
        main(
            [
                "evaluate",
                "retrieval",
                "--model",
                "pixels",
                "--data",
                path,
                "--indices",
                str(tmp_path / "pick.npy"),
                "--fast",
            ]
        )
        == 0
    )
    out = _last_json(capsys)
    ref = reference_metrics(pixels[::3], labels[::3])
    assert out["count"] == 80 and out["r_precision"] == pytest.approx(ref["r_precision"], abs=1e-3)
    assert out["map"] is None


def test_unlabelled_data_is_a_user_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(explorer.models, "load_encoder", lambda spec, data=None: _Pixels(), raising=False)
    path = tmp_path / "plain.npz"
    np.savez(path, images=np.zeros((5, 4, 4), np.uint8))
    assert main(["evaluate", "retrieval", "--model", "pixels", "--data", str(path)]) == 2
    assert "no class labels" in capsys.readouterr().err


def test_a_seeded_query_sample_is_scored_and_said(digits_npz, capsys):
    path, _, _ = digits_npz
    assert main(["evaluate", "retrieval", "--model", "pixels", "--data", path, "--queries", "60"]) == 0
    out = _last_json(capsys)
    assert out["queries"] == 60 and out["gallery"] == 240
    assert out["query_sample"]["queries"] == 60 and out["query_sample"]["of"] == 240
    assert main(["evaluate", "retrieval", "--model", "pixels", "--data", path, "--queries", "60"]) == 0
    assert _last_json(capsys)["map_at_r"] == out["map_at_r"]  # seeded: the same sample again
