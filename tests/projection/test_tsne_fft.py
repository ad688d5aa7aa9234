"""The numba/scipy FFT repulsion equals openTSNE's estimate_negative_gradient_fft_2d."""

import numpy as np
import pytest

from explorer.projection.tsne_fft import box_count, negative_gradient


@pytest.mark.parametrize(
    ("n", "scale", "ints", "workers"),
    [(500, 1.0, 1.0, 1), (3000, 40.0, 1.0, 2), (3000, 40.0, 3.0, 2), (2000, 60.0, 2.0, 1)],
)
def test_repulsion_equals_opentsnes(n, scale, ints, workers):
    from openTSNE import _tsne

    rng = np.random.default_rng(n)
    y = rng.normal(size=(n, 2)) * scale
    y[:10] = y[10]  # duplicates, and points on the grid's far edge (the last box)
    y[-1] = y.max()
    want = rng.normal(size=(n, 2))
    got = want.copy()
    z_want = _tsne.estimate_negative_gradient_fft_2d(
        y, want, n_interpolation_points=3, min_num_intervals=50, ints_in_interval=ints, dof=1
    )
    z_got = negative_gradient(y, got, 3, 50, ints, workers=workers)
    assert z_got == pytest.approx(z_want, rel=1e-9)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_box_count_is_opentsnes_rule():
    assert box_count(10.0, 50, 1.0) == 50
    assert box_count(137.2, 50, 1.0) == 140  # next FFT-friendly count
    assert box_count(400.0, 50, 2.0) == 200
    assert box_count(5000.0, 50, 1.0) == 1000
