"""`explorer evaluate verification` against a scikit-learn reference on the same pairs."""

import json

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score, roc_curve

from explorer.cli import main


@pytest.fixture
def digits_npz(tmp_path):
    d = load_digits()
    pick = np.random.default_rng(0).choice(len(d.target), 300, replace=False)
    images = (d.images[pick] * (255 / 16)).round().astype(np.uint8)  # (N, 8, 8)
    path = tmp_path / "digits.npz"
    np.savez(path, images=images, labels=d.target[pick])
    return str(path), images.reshape(len(images), -1).astype(np.float64) / 255, d.target[pick]


def _last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def reference_eer(same, scores):
    """EER by brute force: the point of sklearn's ROC where FAR and FRR cross, linearly interpolated."""
    fpr, tpr, _ = roc_curve(same, scores, drop_intermediate=False)
    fnr = 1 - tpr
    k = np.flatnonzero(fpr >= fnr)[0]
    d0, d1 = fpr[k - 1] - fnr[k - 1], fpr[k] - fnr[k]
    t = -d0 / (d1 - d0)
    return fpr[k - 1] + t * (fpr[k] - fpr[k - 1])


def test_pixels_agree_with_sklearn(digits_npz, capsys):
    path, pixels, labels = digits_npz
    assert main(["evaluate", "verification", "--model", "pixels", "--data", path]) == 0
    out = _last_json(capsys)
    # the same pairs, computed independently: every unordered pair of the 300 items
    i, j = np.triu_indices(len(labels), k=1)
    same = labels[i] == labels[j]
    scores = -np.linalg.norm(pixels[i] - pixels[j], axis=1)
    assert out["pairs"] == len(i) and out["protocol"] == "all" and out["genuine_pairs"] == same.sum()
    assert out["auc"] == pytest.approx(roc_auc_score(same, scores), abs=1e-6)
    assert out["eer"] == pytest.approx(reference_eer(same, scores), abs=1e-3)
    fpr, tpr, _ = roc_curve(same, scores)
    assert out["tar_at_far_1e_2"] == pytest.approx(tpr[fpr <= 1e-2].max(), abs=1e-9)
    assert out["tar_at_far_1e_3"] == pytest.approx(tpr[fpr <= 1e-3].max(), abs=1e-9)
    # the threshold is where FAR = FRR: check it on the pairs themselves
    far = (scores[~same] >= out["threshold"]).mean()
    frr = (scores[same] < out["threshold"]).mean()
    assert far == pytest.approx(out["eer"], abs=3e-3) and frr == pytest.approx(out["eer"], abs=3e-3)
    assert 0.7 < out["accuracy"] < 0.95 and set(out) >= {
        "auc",
        "eer",
        "tar_at_far_1e_2",
        "tar_at_far_1e_3",
        "accuracy",
        "threshold",
    }


def test_classes_cosine_and_errors(digits_npz, capsys, tmp_path):
    path, pixels, labels = digits_npz
    assert (
        main(
            [
                "evaluate",
                "verification",
                "--model",
                "pixels",
                "--data",
                path,
                "--classes",
                "5,6,7,8,9",
                "--metric",
                "cosine",
            ]
        )
        == 0
    )
    out = _last_json(capsys)
    keep = labels >= 5
    x, y = pixels[keep], labels[keep]
    i, j = np.triu_indices(len(y), k=1)
    cos = np.sum(x[i] * x[j], 1) / np.linalg.norm(x[i], axis=1) / np.linalg.norm(x[j], axis=1)
    assert out["pairs"] == len(i) and out["metric"] == "cosine"
    assert out["auc"] == pytest.approx(roc_auc_score(y[i] == y[j], cos), abs=1e-6)
    # unlabelled data: one readable line, non-zero exit
    np.savez(tmp_path / "nolabels.npz", images=np.zeros((10, 8, 8), np.uint8))
    assert (
        main(["evaluate", "verification", "--model", "pixels", "--data", str(tmp_path / "nolabels.npz")]) == 2
    )
    assert "labels" in capsys.readouterr().err


def test_pairnet_file_is_scored_as_pairs(digits_npz, capsys, tmp_path):
    from explorer.core.imageset import ImageSet
    from explorer.core.progress import run_to_end
    from explorer.models import checkpoint
    from explorer.training.engine import TrainConfig, train

    path, pixels, labels = digits_npz
    data = ImageSet(pixels.reshape(-1, 1, 8, 8).astype(np.float32), labels, [str(k) for k in range(10)])
    config = TrainConfig(model="pairnet", epochs=2, device="cpu", seed=0, options={"channels": [8, 16]})
    res = run_to_end(train(config, data))
    ckpt = tmp_path / "pairnet.safetensors"
    checkpoint.save(ckpt, res.model, class_names=data.class_names)
    assert (
        main(["evaluate", "verification", "--model", str(ckpt), "--data", path, "--max-pairs", "6000"]) == 0
    )
    out = _last_json(capsys)
    assert out["metric"] == "pair classifier" and out["pairs"] == 6000 and out["protocol"] == "sampled"
    assert out["genuine_pairs"] == 3000 and 0.6 < out["auc"] <= 1.0
