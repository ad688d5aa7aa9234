"""AS-norm (verification/norm.py): the statistics, the formula, what it repairs, the CLI flag."""

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from explorer.cli import main
from explorer.core.progress import run_to_end
from explorer.verification import evaluate_codes
from explorer.verification.norm import as_norm, cohort_stats


def spread_codes(seed=0, classes=8, per=30, dim=16):
    """Classes whose within-class spread differs 10x: tight classes' impostors are closer than a
    loose class's genuine pairs, so one global threshold on raw distances fails."""
    rng = np.random.default_rng(seed)
    scale = np.geomspace(0.1, 1.0, classes)
    centres = rng.normal(size=(classes, dim))
    labels = np.repeat(np.arange(classes), per)
    codes = scale[labels, None] * (centres[labels] + 0.6 * rng.normal(size=(len(labels), dim)))
    return codes, labels


def test_stats_match_brute_force_and_the_gallery_leaves_each_item_out():
    rng = np.random.default_rng(1)
    x, c = rng.normal(size=(40, 5)), rng.normal(size=(70, 5))
    stats = run_to_end(cohort_stats(x, c, "l2", top_k=7, budget=300))  # several row blocks
    d = -np.linalg.norm(x[:, None] - c[None], axis=2)
    top = -np.sort(-d, axis=1)[:, :7]
    np.testing.assert_allclose(stats.mean, top.mean(1), atol=1e-9)
    np.testing.assert_allclose(stats.std, top.std(1), atol=1e-9)
    assert stats.cohort == "train" and stats.top_k == 7 and "training" in stats.label()
    own = run_to_end(cohort_stats(x, None, "l2", top_k=5, budget=100))
    d = -np.linalg.norm(x[:, None] - x[None], axis=2)
    np.fill_diagonal(d, -np.inf)
    np.testing.assert_allclose(own.mean, (-np.sort(-d, axis=1)[:, :5]).mean(1), atol=1e-9)
    assert own.mean.max() < 0 and "transductive" in own.label()  # never its own distance 0
    assert run_to_end(cohort_stats(x, c[:3], "cosine", top_k=100)).top_k == 3  # capped at the cohort


def test_as_norm_formula_and_bad_cohorts():
    stats = run_to_end(cohort_stats(np.eye(3), np.eye(3) * 2, "l2", top_k=2))
    i, j, s = np.array([0, 1, 2]), np.array([1, 2, 0]), np.array([-1.0, -2.0, -3.0])
    want = 0.5 * ((s - stats.mean[i]) / stats.std[i] + (s - stats.mean[j]) / stats.std[j])
    np.testing.assert_allclose(as_norm(s, i, j, stats, chunk=2), want)
    with pytest.raises(ValueError, match="do not match"):
        run_to_end(cohort_stats(np.eye(3), np.ones((4, 2))))
    with pytest.raises(ValueError, match="at least two"):
        run_to_end(cohort_stats(np.eye(3), np.ones((1, 3))))


def test_as_norm_repairs_a_known_spread():
    codes, labels = spread_codes()
    raw = run_to_end(evaluate_codes(codes, labels))
    cohort, _ = spread_codes(seed=1)  # the same kind of data, other items: non-transductive
    train = run_to_end(evaluate_codes(codes, labels, norm="as-norm", cohort=cohort, top_k=20))
    gallery = run_to_end(evaluate_codes(codes, labels, norm="as-norm", top_k=20))
    assert raw.score == "raw" and "training" in train.score and "transductive" in gallery.score
    assert raw.auc < 0.85 and gallery.auc > 0.99 and gallery.eer < 0.05 < 0.2 < raw.eer
    assert train.auc > raw.auc + 0.05 and train.eer < raw.eer - 0.05
    # the normalised scores are the formula applied to the raw ones, pair by pair
    assert roc_auc_score(gallery.pairs.same, gallery.scores) == pytest.approx(gallery.auc)
    assert len(gallery.scores) == len(raw.scores) == 240 * 239 // 2


def test_cli_flag_and_its_label(tmp_path, capsys):
    codes, labels = spread_codes(per=12)
    path = tmp_path / "codes.npz"
    images = np.clip(128 + 40 * codes, 0, 255).round().astype(np.uint8).reshape(-1, 4, 4)
    np.savez(path, images=images, labels=labels)
    base = ["evaluate", "verification", "--model", "pixels", "--data", str(path)]
    assert main(base) == 0
    raw = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main([*base, "--norm", "as-norm", "--cohort", "gallery", "--top-k", "10"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert raw["score"] == "raw" and "transductive" in out["score"] and out["auc"] > raw["auc"]
    assert main([*base, "--norm", "as-norm", "--cohort", "train", "--cohort-classes", "0-3"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "training images" in out["score"] and out["pairs"] == raw["pairs"]
    assert main([*base, "--norm", "as-norm"]) != 0
    assert "needs --cohort" in capsys.readouterr().err
