import numpy as np
import pytest
from sklearn.datasets import load_digits

from explorer.core.progress import Progress
from explorer.retrieval import knn_accuracy, knn_classify, leave_one_out, retrieval_metrics
from tests.retrieval.reference import reference_metrics


def test_by_hand_on_five_points():
    # 1-D codes; classes A=0 and B=1. Worked out by hand (rankings and APs in the comments).
    codes = np.array([[0.0], [1.0], [2.4], [4.0], [8.0]], dtype=np.float32)
    labels = np.array([0, 1, 0, 1, 0])
    m = retrieval_metrics(codes, labels, k=1)
    # q0: B A B A  R=2 -> P@1 0, RP 1/2, MAP@R 1/4, AP (1/2+2/4)/2 = 1/2
    # q1: A A B A  R=1 -> 0, 0, 0, AP 1/3
    # q2: B B A A  R=2 -> 0, 0, 0, AP (1/3+2/4)/2 = 5/12
    # q3: A B A A  R=1 -> 0, 0, 0, AP 1/2
    # q4: B A B A  R=2 -> 0, 1/2, 1/4, AP 1/2
    assert m.precision_at_1 == 0.0
    assert m.r_precision == pytest.approx(0.2)
    assert m.map_at_r == pytest.approx(0.1)
    assert m.map == pytest.approx((0.5 + 1 / 3 + 5 / 12 + 0.5 + 0.5) / 5)
    np.testing.assert_allclose(m.per_query["ap"], [0.5, 1 / 3, 5 / 12, 0.5, 0.5])
    assert m.knn_accuracy == 0.0
    assert [c["count"] for c in m.per_class] == [3, 2]
    assert m.per_class[1]["map"] == pytest.approx((1 / 3 + 0.5) / 2)


def test_perfect_clusters_score_one():
    codes = np.array([[0, 0], [0, 0.1], [0.1, 0], [5, 5], [5, 5.1], [5.1, 5]], dtype=np.float32)
    m = retrieval_metrics(codes, [0, 0, 0, 1, 1, 1], k=2)
    assert (m.precision_at_1, m.r_precision, m.map_at_r, m.map, m.knn_accuracy) == (1, 1, 1, 1, 1)


@pytest.fixture(scope="module")
def digits_reference():
    d = load_digits()
    rng = np.random.default_rng(0)
    pick = rng.choice(len(d.target), 400, replace=False)
    codes, labels = (d.data[pick] / 16).astype(np.float32), d.target[pick].copy()
    labels[:7] = -1  # unknown labels are left out
    return codes, labels, reference_metrics(codes, labels)


@pytest.mark.parametrize("full_map", [True, False])
def test_agrees_with_reference_on_digits(full_map, digits_reference):
    codes, labels, ref = digits_reference
    m = retrieval_metrics(codes, labels, full_map=full_map)
    assert m.n_queries == ref["queries"] == 393
    for key in ("precision_at_1", "r_precision", "map_at_r", "knn_accuracy"):
        assert getattr(m, key) == pytest.approx(ref[key], abs=1e-6), key
    if full_map:
        assert m.map == pytest.approx(ref["map"], abs=1e-6)
    else:
        assert np.isnan(m.map) and m.as_dict()["map"] is None


def test_cosine_ignores_scale_and_singletons_are_not_queries():
    rng = np.random.default_rng(1)
    codes = rng.standard_normal((60, 4)).astype(np.float32)
    labels = rng.integers(0, 3, 60)
    labels[0] = 9  # alone in its class: gallery only
    scaled = codes * rng.uniform(0.5, 3, (60, 1)).astype(np.float32)
    a = retrieval_metrics(codes, labels, metric="cosine")
    b = retrieval_metrics(scaled, labels, metric="cosine")
    assert a.n_queries == 59 and a.n_gallery == 60
    assert a.map_at_r == pytest.approx(b.map_at_r, abs=1e-9)
    ref = reference_metrics(codes / np.linalg.norm(codes, axis=1, keepdims=True), labels)
    assert a.map == pytest.approx(ref["map"], abs=1e-6)


def test_generator_yields_progress_and_worst_queries():
    rng = np.random.default_rng(2)
    codes = rng.standard_normal((300, 3)).astype(np.float32)
    labels = (codes[:, 0] > 0).astype(int)
    gen = leave_one_out(codes, labels)
    steps = []
    while True:
        try:
            rec = next(gen)
        except StopIteration as stop:
            result = stop.value
            break
        assert isinstance(rec, Progress)
        steps.append(rec.step)
    assert steps[-1] == 300 and steps == sorted(steps)
    worst = result.worst_queries(5)
    aps = dict(zip(result.per_query["index"], result.per_query["ap"]))
    assert max(aps[i] for i in worst) <= np.sort(result.per_query["ap"])[5]


def test_knn_identification():
    gallery = np.array([[0.0], [0.1], [0.2], [1.0], [1.1]], dtype=np.float32)
    labels = [0, 0, 1, 1, 1]
    # query at 0.05: neighbours 0, 1, 2 -> votes 0,0,1 -> class 0
    assert knn_classify(gallery, labels, np.array([[0.05]]), k=3).tolist() == [0]
    # k=2 tie between classes: the nearer neighbour's class (index 2 at 0.2 for a query at 0.16)
    assert knn_classify(gallery, labels, np.array([[0.16]]), k=2).tolist() == [1]
    assert knn_accuracy(gallery, labels, np.array([[0.05], [1.05]]), [0, 1], k=3) == 1.0


def test_needs_a_class_with_two_items():
    with pytest.raises(ValueError):
        retrieval_metrics(np.zeros((3, 2), np.float32), [0, 1, 2])
