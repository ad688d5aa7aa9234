import numpy as np

from explorer.core.arrays import sorted_unique


def test_sorted_unique_equals_np_unique():
    rng = np.random.default_rng(0)
    for a in (
        np.zeros(0, np.int64),
        np.array([5]),
        np.arange(10),  # already increasing: copied
        rng.integers(0, 50, 1000),  # repeats
        rng.integers(-(10**9), 10**9, 20_000),  # many distinct
        rng.integers(0, 7, (30, 4)).astype(np.int32),  # 2-D and int32: flattened, dtype kept
    ):
        got = sorted_unique(a)
        np.testing.assert_array_equal(got, np.unique(a))
        assert got.dtype == a.dtype and got is not a
