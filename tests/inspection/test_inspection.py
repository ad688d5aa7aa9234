"""Inspection on data whose faults are known: blobs with flipped labels, planted copies, a far item."""

import numpy as np
import pytest

from explorer.core.progress import Progress, run_to_end
from explorer.inspection.clusters import cluster_job
from explorer.inspection.density import density_contours
from explorer.inspection.duplicates import find_duplicates, find_outliers, union_find_groups
from explorer.inspection.label_issues import confident_learning, fold_of, label_issues_job
from explorer.inspection.neighbours import neighbour_graph_job
from explorer.inspection.report import inspect_job


def blobs(n_per=150, classes=4, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, (classes, dim))
    labels = np.repeat(np.arange(classes), n_per)
    codes = centres[labels] + rng.normal(0, 1, (len(labels), dim))
    return codes.astype(np.float32), labels


def test_graph_is_the_exact_knn_without_self_and_says_when_sampled():
    codes, _ = blobs()
    gen = neighbour_graph_job(codes, k=5)
    records = []
    while True:
        try:
            records.append(next(gen))
        except StopIteration as stop:
            graph = stop.value
            break
    assert all(isinstance(r, Progress) for r in records) and records[-1].step == len(codes)
    d = np.linalg.norm(codes[:, None] - codes[None], axis=2)
    np.fill_diagonal(d, np.inf)
    assert np.array_equal(graph.indices[:, 0], d.argmin(1))
    np.testing.assert_allclose(graph.distances[:, 0], d.min(1), rtol=1e-4, atol=1e-4)
    assert not graph.sampled and graph.note() == ""
    sampled = run_to_end(neighbour_graph_job(codes, k=5, max_queries=100, seed=3))
    assert sampled.sampled and len(sampled.queries) == 100 and "100 of 600" in sampled.note()
    again = run_to_end(neighbour_graph_job(codes, k=5, max_queries=100, seed=3))
    assert np.array_equal(sampled.queries, again.queries)  # seeded


def test_flipped_labels_rank_first_with_the_true_label_suggested():
    codes, true = blobs()
    rng = np.random.default_rng(1)
    flipped = rng.choice(len(true), 12, replace=False)
    labels = true.copy()
    labels[flipped] = (true[flipped] + 1 + rng.integers(0, 3, 12)) % 4
    graph = run_to_end(neighbour_graph_job(codes, k=16))
    issues = run_to_end(label_issues_job(graph, labels, k=10, seed=0))
    assert set(issues.top(12).tolist()) == set(flipped.tolist())
    # the rule flags most of them (a flipped item with a flipped neighbour may fall just below its
    # class's threshold) and nothing else
    assert issues.confident[:12].sum() >= 8 and not issues.confident[12:].any()
    top = issues.index[:12]
    np.testing.assert_array_equal(issues.suggested[:12], true[top])
    assert (issues.score[:12] > 0.5).all()
    rows = issues.rows()
    assert len(rows) == 12 and rows[0]["label"] == labels[rows[0]["index"]]


def test_unknown_labels_are_neither_ranked_nor_voting():
    codes, labels = blobs()
    labels = labels.copy()
    labels[:50] = -1
    graph = run_to_end(neighbour_graph_job(codes, k=16))
    issues = run_to_end(label_issues_job(graph, labels))
    assert not np.isin(issues.index, np.arange(50)).any()
    assert len(issues.index) == len(labels) - 50


def test_folds_are_seeded_and_even():
    f = fold_of(103, 5, seed=2)
    assert np.array_equal(f, fold_of(103, 5, seed=2)) and not np.array_equal(f, fold_of(103, 5, seed=3))
    assert sorted(np.bincount(f).tolist()) == [20, 20, 21, 21, 21]


def test_confident_learning_matches_cleanlab():
    from cleanlab.filter import find_label_issues

    rng = np.random.default_rng(4)
    for _ in range(3):
        y = rng.integers(0, 5, 400)
        logits = rng.normal(0, 1, (400, 5))
        logits[np.arange(400), y] += 1.5
        p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        theirs = find_label_issues(y, p, filter_by="confident_learning")
        cls, _ = confident_learning(p.astype(np.float32), y)
        np.testing.assert_array_equal((cls >= 0) & (cls != y), theirs)


def test_duplicates_are_grouped_with_their_distances():
    codes, _ = blobs()
    rng = np.random.default_rng(2)
    extra = np.concatenate([codes[[3, 3, 40]] + rng.normal(0, 1e-3, (3, 8)).astype(np.float32)])
    codes = np.concatenate([codes, extra])  # 600, 601 copy 3; 602 copies 40
    graph = run_to_end(neighbour_graph_job(codes, k=8))
    dups = find_duplicates(graph, threshold=0.05)
    assert [g.members.tolist() for g in dups.groups] == [[3, 600, 601], [40, 602]]
    assert len(dups.groups[0].pairs) == 3 and (dups.groups[0].distances < 0.05).all()
    auto = find_duplicates(graph)
    assert [g.members.tolist() for g in auto.groups] == [[3, 600, 601], [40, 602]]
    counts, edges = dups.histogram
    assert counts.sum() == len(codes) and len(edges) == len(counts) + 1
    assert find_duplicates(graph, threshold=0.0).groups == []


def test_union_find_joins_chains():
    groups = union_find_groups(np.array([[0, 1], [1, 2], [5, 6]]), 8)
    assert groups[0] == groups[1] == groups[2] and groups[5] == groups[6]
    assert len({groups[0], groups[5], groups[3], groups[4], groups[7]}) == 5


def test_the_far_item_is_the_first_outlier():
    codes, _ = blobs()
    codes[17] += 60
    graph = run_to_end(neighbour_graph_job(codes, k=8))
    out = find_outliers(graph, count=5)
    assert out.index[0] == 17 and len(out.index) == 5 and (np.diff(out.score) <= 0).all()


@pytest.mark.parametrize("method", ["hdbscan", "kmeans"])
def test_clusters_find_the_blobs_with_their_majority_and_purity(method):
    codes, labels = blobs()
    found = run_to_end(cluster_job(codes, labels, method=method, seed=0))
    assert found.count == 4 and sorted(c.size for c in found.clusters) == [150] * 4
    assert sorted(c.majority for c in found.clusters) == [0, 1, 2, 3]
    assert all(c.purity == 1.0 for c in found.clusters)
    for c in found.clusters:
        assert len(c.typical) == 8 and (labels[c.typical] == c.majority).all()
    s = found.summary()
    assert s["count"] == 4 and s["purity"] == 1.0 and s["noise"] == 0


def test_clusters_of_a_big_set_are_fitted_on_a_sample_and_say_so():
    codes, labels = blobs(n_per=300)
    found = run_to_end(cluster_job(codes, labels, method="hdbscan", max_fit=400, seed=1))
    assert found.count == 4 and (found.labels >= 0).mean() > 0.95
    assert any("sample of 400" in n for n in found.notes)
    layout = codes[:, :2]
    assert found.centres(layout).shape == (4, 2)


def test_density_contours_enclose_their_mass():
    rng = np.random.default_rng(0)
    xy = np.concatenate([rng.normal(0, 1, (3000, 2)), rng.normal([8, 0], 1, (3000, 2))])
    c = density_contours(xy, masses=(0.5, 0.9))
    assert len(c.levels) == 2 and c.levels[0] > c.levels[1]
    assert len(c.lines[0]) == 2  # the densest half: one ring around each blob
    for ring in c.lines[0]:  # each ring is closed and about the blob's median radius (1.18)
        centre = ring.mean(0)
        assert np.allclose(ring[0], ring[-1]) and abs(centre[0] - round(centre[0] / 8) * 8) < 0.3
        assert 0.8 < np.linalg.norm(ring - centre, axis=1).mean() < 1.6


def test_report_as_json():
    codes, labels = blobs()
    labels = labels.copy()
    labels[5] = (labels[5] + 1) % 4
    report = run_to_end(inspect_job(codes, labels, cluster_method="kmeans"))
    d = report.as_dict(class_names=["a", "b", "c", "d"])
    assert d["label_issues"][0]["index"] == 5 and d["label_issues"][0]["suggested_name"] in "abcd"
    assert d["clusters"]["count"] == 4 and d["count"] == 600 and d["searched"] == 600
    assert len(d["outliers"]) == 50 and d["duplicates"]["groups"] == []
    import json

    json.dumps(d)
