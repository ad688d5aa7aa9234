"""Binary codes: packing, exact Hamming search (FAISS and numpy engines), Hamming metrics."""

import numpy as np
import pytest

from explorer.core.progress import run_to_end
from explorer.retrieval import HammingIndex, is_binary, leave_one_out, pack_bits, unpack_bits
from explorer.retrieval.hamming import bench_hamming, smallest_k
from tests.retrieval.reference import reference_metrics


def _codes(n=500, bits=64, seed=0):
    return (np.random.default_rng(seed).random((n, bits)) > 0.5).astype(np.float32)


def _brute(codes, q):
    return (codes[None] != q[:, None]).sum(2)  # (Q, N) Hamming distances


def test_pack_round_trip_and_size():
    codes = _codes(10, 20)
    packed = pack_bits(codes)
    assert packed.shape == (10, 3) and packed.dtype == np.uint8
    assert np.array_equal(unpack_bits(packed, 20), codes)
    assert is_binary(codes) and not is_binary(codes + 0.5) and not is_binary(np.zeros((0, 3)))


@pytest.mark.parametrize("engine", ["faiss", "numpy"])
@pytest.mark.parametrize("bits", [64, 256, 20])
def test_search_matches_brute_force(engine, bits):
    codes = _codes(400, bits)
    q = np.arange(0, 400, 37)
    index = HammingIndex(codes, engine=engine)
    idx, dist = index.search(codes[q], 12, exclude=q)
    truth = _brute(codes, codes[q])
    truth[np.arange(len(q)), q] = bits + 1  # the query itself is left out
    for row in range(len(q)):
        assert q[row] not in idx[row]
        assert np.array_equal(dist[row], truth[row, idx[row]])  # distances are the true ones
        assert np.array_equal(np.sort(truth[row])[:12], dist[row])  # and the 12 smallest
    # packed queries give the same answer
    idx2, dist2 = index.search(pack_bits(codes[q]), 12, exclude=q)
    assert np.array_equal(dist, dist2)


def test_numpy_engine_ranks_ties_by_index():
    codes = np.zeros((50, 16), np.float32)
    codes[10:, 0] = 1  # items 10..49 one bit away, items 0..9 equal to the query
    idx, dist = HammingIndex(codes, engine="numpy").search(np.zeros(16), 15, exclude=np.array([3]))
    assert idx[0].tolist() == [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
    assert dist[0].tolist() == [0] * 9 + [1] * 6
    d = np.array([3, 1, 1, 0, 2, 1], np.uint16)
    assert smallest_k(d, 4).tolist() == [3, 1, 2, 5]


def test_engines_agree_in_the_bench():
    out = bench_hamming(20_000, 256, repeats=3)
    assert out["agree"] and out["bytes"] == 20_000 * 32
    assert out["faiss_ms"] > 0 and out["numpy_ms"] > 0


def test_hamming_metrics_agree_with_the_reference():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 120)
    centres = rng.random((4, 48)) > 0.5
    flips = rng.random((120, 48)) < 0.2
    codes = (centres[labels] ^ flips).astype(np.float32)
    got = run_to_end(leave_one_out(codes * 0.9 + 0.05, labels, metric="hamming"))  # > 0.5 is a 1
    ref = reference_metrics(codes, labels)  # L2 on 0/1 codes ranks as Hamming does
    assert got.metric == "hamming"
    for name in ("precision_at_1", "r_precision", "map_at_r", "map"):
        assert getattr(got, name) == pytest.approx(ref[name]), name
    assert got.map_at_r > 0.5  # four clusters of codes 20% of their bits from their centre
