import numpy as np
import pytest

from explorer.core.progress import run_to_end
from explorer.retrieval import KnnIndex, bench_query, knn, numpy_brute_force
from explorer.retrieval import search as search_mod


def test_matches_brute_force_and_excludes_self(monkeypatch):
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((500, 16)).astype(np.float32)
    monkeypatch.setattr(search_mod, "BLOCK_BUDGET", 500 * 7)  # several blocks of 7 queries
    idx, dist = knn(codes, codes[:50], k=6, exclude=np.arange(50))
    for q in range(50):
        d = np.sqrt(((codes.astype(np.float64) - codes[q]) ** 2).sum(1))
        d[q] = np.inf
        want = np.argsort(d, kind="stable")[:6]
        assert idx[q].tolist() == want.tolist()
        np.testing.assert_allclose(dist[q], d[want], rtol=1e-4, atol=1e-4)
    assert not np.any(idx == np.arange(50)[:, None])


def test_ties_go_to_lower_index_and_zero_distance_is_exact():
    codes = np.array([[1.0, 0], [0, 1.0], [1.0, 0], [1.0, 0]], dtype=np.float32)
    idx, dist = KnnIndex(codes).search(np.array([1.0, 0]), k=3)
    assert idx[0].tolist() == [0, 2, 3]
    assert dist[0].tolist() == [0.0, 0.0, 0.0]


def test_cosine_distance():
    codes = np.array([[1.0, 0], [0, 2.0], [-3.0, 0]], dtype=np.float32)
    idx, dist = KnnIndex(codes, "cosine").search(np.array([[2.0, 0.0]]), k=3)
    assert idx[0].tolist() == [0, 1, 2]
    np.testing.assert_allclose(dist[0], [0.0, 1.0, 2.0], atol=1e-6)


def test_k_larger_than_gallery_and_bad_input():
    index = KnnIndex(np.eye(3, dtype=np.float32))
    idx, _ = index.search(np.eye(3), k=10, exclude=np.arange(3))
    assert idx.shape == (3, 2)
    with pytest.raises(ValueError):
        index.search(np.zeros((1, 4)), k=1)
    with pytest.raises(ValueError):
        KnnIndex(np.eye(3), metric="manhattan")


def test_search_job_and_numpy_reference():
    rng = np.random.default_rng(3)
    codes = rng.standard_normal((200, 5)).astype(np.float32)
    index = KnnIndex(codes)
    idx, dist = run_to_end(index.search_job(codes[:30], 4))
    top, d = numpy_brute_force(codes, codes[7], 4)
    assert idx[7].tolist() == top.tolist()
    np.testing.assert_allclose(dist[7], d, atol=1e-4)


def test_bench_query_reports_both_timings():
    out = bench_query(20_000, 8, repeats=3)
    assert out["agree"] and out["ms"] > 0 and out["numpy_ms"] > 0 and out["n"] == 20_000


def test_single_query_path_matches_block_path_and_restores_threads():
    import torch

    rng = np.random.default_rng(4)
    codes = rng.standard_normal((3000, 12)).astype(np.float32)
    index = KnnIndex(codes)
    threads = torch.get_num_threads()
    one = [index.search(codes[i], 5, np.array([i]))[0][0].tolist() for i in range(8)]
    many = index.search(codes[:8], 5, np.arange(8))[0].tolist()  # 8 queries: the multi-thread path
    assert one == many
    assert torch.get_num_threads() == threads


def test_distances_far_from_the_origin_are_exact():
    # codes far from the origin: ||x||² - 2 q·x + ||q||² cancels to float32's rounding of ||x||²
    # (a query's own code came back at d 0.0014), so the candidates' distances come from differences
    rng = np.random.default_rng(0)
    codes = (100.0 + rng.random((2_000, 64))).astype(np.float32)
    query = codes[[5, 17]]
    idx, dist = KnnIndex(codes).search(query, 5)
    assert idx[:, 0].tolist() == [5, 17] and dist[:, 0].tolist() == [0.0, 0.0]
    exact = np.linalg.norm(codes[idx[:, 1:]].astype(np.float64) - query[:, None].astype(np.float64), axis=2)
    np.testing.assert_allclose(dist[:, 1:], exact, rtol=1e-5)
    assert np.all(np.diff(dist, axis=1) >= 0)
    # a copy off in its last bits is the same code
    nudged = np.nextafter(codes[5], np.float32(np.inf))
    assert KnnIndex(codes).search(nudged, 1)[1][0, 0] == 0.0
