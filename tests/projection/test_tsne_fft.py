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


def test_the_loops_float32_attraction_stays_with_float64():
    """optimise(single=True) (P and y float32 in the attraction) follows the float64 descent."""
    from openTSNE.affinity import joint_probabilities_nn

    from explorer.projection.tsne_loop import Descent, optimise

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=(300, 5)), rng.normal(size=(300, 5)) + 4.0])
    d = np.linalg.norm(x[:, None] - x[None], axis=2)
    idx = np.argsort(d, axis=1)[:, 1:16]
    P = joint_probabilities_nn(idx, np.take_along_axis(d, idx, axis=1), [5.0], symmetrize=True)
    y0 = rng.normal(size=(600, 2)) * 1e-2
    out = {}
    for single in (False, True):
        y, state = y0.copy(), Descent()
        optimise(y, P, 10, state, 12.0, 0.5, single=single)
        optimise(y, P, 20, state, 1.0, 0.8, single=single)
        out[single] = y
    spread = np.ptp(out[False], axis=0).max()
    assert spread > 1.0
    np.testing.assert_allclose(out[True], out[False], atol=1e-3 * spread)
