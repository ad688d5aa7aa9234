"""The verification engine against scikit-learn references and hand-made cases."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score, roc_curve

from explorer.core.progress import run_to_end
from explorer.verification import code_scores, evaluate_codes, make_pairs, metrics, summarise


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return (d.data / 16.0).astype(np.float32), d.target


def test_all_pairs_below_the_limit():
    labels = np.array([0, 0, 1, 1, 2, -1])
    p = make_pairs(labels)
    assert p.protocol == "all"
    assert len(p) == 10  # C(5, 2): the unlabelled item is left out
    assert (p.i < p.j).all() and 5 not in p.i and 5 not in p.j
    assert p.genuine == 2 and p.impostor == 8


def test_sampled_pairs_are_seeded_balanced_and_cover_every_class():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 37, 5000)
    p = make_pairs(labels, seed=3, sample_size=20_000)
    q = make_pairs(labels, seed=3, sample_size=20_000)
    assert p.protocol == "sampled" and len(p) == 20_000
    assert np.array_equal(p.i, q.i) and np.array_equal(p.j, q.j)
    assert (p.i != p.j).all()
    assert p.genuine == 10_000 and np.array_equal(p.same, labels[p.i] == labels[p.j])
    assert set(labels[p.i[p.same]]) == set(range(37))
    assert set(labels[p.i[~p.same]]) | set(labels[p.j[~p.same]]) == set(range(37))
    assert make_pairs(labels).protocol == "sampled" and len(make_pairs(labels)) >= 200_000


def test_code_scores_are_negative_distances():
    a = np.array([[0.0, 0.0], [1.0, 0.0]])
    b = np.array([[3.0, 4.0], [0.0, 2.0]])
    assert np.allclose(code_scores(a, b, "l2"), [-5.0, -np.sqrt(5)])
    assert np.allclose(code_scores(a[1:], b[1:], "cosine"), [-1.0])  # orthogonal: distance 1


def test_eer_tar_and_auc_on_a_known_case():
    # genuine scores 1..10, impostor 0.5..9.5: a shifted pair of uniform sets
    gen = np.arange(1, 11, dtype=float)
    imp = gen - 0.5
    scores = np.concatenate([gen, imp])
    same = np.r_[np.ones(10, bool), np.zeros(10, bool)]
    roc = metrics.roc_points(scores, same)
    rate, thr = metrics.eer(roc)
    far = (imp >= thr).mean()
    frr = (gen < thr).mean()
    assert abs(rate - 0.45) < 0.06 and abs(far - frr) <= 0.1
    tar, t = metrics.tar_at_far(roc, 0.0)
    assert tar == pytest.approx(0.1) and t == 10.0  # only the top genuine score is above all impostors
    assert metrics.auc(scores, same) == pytest.approx(roc_auc_score(same, scores))


def test_digits_pixels_match_sklearn(digits):
    x, y = digits[0][:600], digits[1][:600]
    res = run_to_end(evaluate_codes(x, y, "l2"))
    d = np.linalg.norm(x[res.pairs.i] - x[res.pairs.j], axis=1)
    same = y[res.pairs.i] == y[res.pairs.j]
    assert np.array_equal(res.pairs.same, same)
    assert res.auc == pytest.approx(roc_auc_score(same, -d), abs=1e-9)
    fpr, tpr, _ = roc_curve(same, -d)
    k = np.argmin(np.abs(fpr - (1 - tpr)))
    assert abs(res.eer - (fpr[k] + 1 - tpr[k]) / 2) < 2e-3
    assert res.tar[1e-2][0] == pytest.approx(tpr[fpr <= 1e-2].max())
    assert 0.6 < res.accuracy < 1.0 and res.accuracy_std < 0.05
    # the EER threshold really balances the two error rates on these pairs
    far = ((-d >= res.eer_threshold) & ~same).sum() / (~same).sum()
    frr = ((-d < res.eer_threshold) & same).sum() / same.sum()
    assert abs(far - res.eer) < 5e-3 and abs(frr - res.eer) < 5e-3


def test_kfold_accuracy_perfect_and_chance():
    same = np.r_[np.ones(500, bool), np.zeros(500, bool)]
    acc, std = metrics.kfold_accuracy(np.r_[np.ones(500), np.zeros(500)], same)
    assert acc == 1.0 and std == 0.0
    rng = np.random.default_rng(0)
    acc, _ = metrics.kfold_accuracy(rng.random(1000), same)
    assert 0.4 < acc < 0.6


def test_hardest_errors_are_the_worst_mistakes():
    same = np.array([True, True, False, False, False])
    scores = np.array([0.9, 0.1, 0.8, 0.95, 0.2])
    from explorer.verification.pairs import Pairs

    res = summarise(Pairs(np.arange(5), np.arange(5) + 10, same, "all"), scores)
    fa, fr = res.hardest(0.5)
    assert fa.tolist() == [[3, 13], [2, 12]]
    assert fr.tolist() == [[1, 11]]


def test_needs_two_kinds_of_pair():
    with pytest.raises(ValueError):
        make_pairs(np.zeros(10, int))
    with pytest.raises(ValueError):
        metrics.roc_points(np.ones(3), np.ones(3, bool))


@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_all_pairs_from_gram_blocks_equal_pair_by_pair(digits, metric):
    from explorer.verification.scores import all_pair_code_scores, pair_code_scores

    x = digits[0][:300]
    i, j = np.triu_indices(len(x), k=1)
    fast = run_to_end(all_pair_code_scores(x, metric, budget=5000))  # many small blocks
    slow = run_to_end(pair_code_scores(x, i, j, metric))
    assert fast.shape == slow.shape and np.allclose(fast, slow, atol=1e-9)


def test_models_compared_on_the_same_pairs(digits):
    x, y = digits[0][:800], digits[1][:800]
    pairs = make_pairs(y, seed=5, max_pairs=5000)
    assert pairs.protocol == "sampled" and len(pairs) == 5000
    a = run_to_end(evaluate_codes(x, y, pairs=pairs))
    b = run_to_end(evaluate_codes(x, y, "cosine", pairs=pairs))
    assert a.pairs is pairs and b.pairs is pairs and a.auc != b.auc
