import numpy as np

from explorer.data.generators import (
    angle_labels,
    apply_rotation,
    apply_shift,
    random_dots,
    rotation_pairs,
    shift_class_names,
    shift_labels,
    shift_pairs,
)


def test_random_dots_shape_range_density():
    x = random_dots(200, 13, np.random.default_rng(0))
    assert x.shape == (200, 13, 13) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() <= 1
    assert 0.05 < (x > 0.5).mean() < 0.2  # about one dot in ten pixels
    assert np.array_equal(x, random_dots(200, 13, np.random.default_rng(0)))


def test_shift_pairs_share_content_and_bring_in_fresh_dots():
    x, y, dx, dy = shift_pairs(300, np.random.default_rng(1), size=13, max_shift=3)
    assert x.shape == y.shape == (300, 13, 13)
    assert set(dx.tolist()) == set(range(-3, 4)) and set(dy.tolist()) == set(range(-3, 4))
    for i in range(300):
        a, b = dx[i], dy[i]
        # y[r, c] == x[r - dy, c - dx] wherever both are inside the image
        assert np.array_equal(
            y[i, max(b, 0) : 13 + min(b, 0), max(a, 0) : 13 + min(a, 0)],
            x[i, max(-b, 0) : 13 - max(b, 0), max(-a, 0) : 13 - max(a, 0)],
        )
    shifted = apply_shift(x, dx, dy)
    moved = (dx != 0) | (dy != 0)
    # apply_shift matches inside the shared part; the real partner has new dots where it fills zeros
    inside = np.zeros((13, 13), bool)
    inside[3:10, 3:10] = True
    assert np.array_equal(shifted[:, inside], y[:, inside])
    assert (y[moved] > 0.5).sum() > (shifted[moved] > 0.5).sum()


def test_fresh_pairs_under_given_shifts():
    rng = np.random.default_rng(2)
    dx, dy = np.array([1, -2, 0]), np.array([3, 0, -1])
    x, y, dx2, dy2 = shift_pairs(3, rng, dx=dx, dy=dy)
    assert dx2.tolist() == dx.tolist() and dy2.tolist() == dy.tolist()
    assert np.array_equal(y[0, 3:, 1:], x[0, :-3, :-1])


def test_apply_shift_conventions():
    img = np.zeros((1, 5, 5), dtype=np.float32)
    img[0, 2, 2] = 1
    out = apply_shift(img, 1, -2, fill=0.5)
    assert out[0, 0, 3] == 1  # one right, two up
    assert out[0, 4, 0] == 0.5 and out.sum() == 1 + 0.5 * (25 - 4 * 3)
    stack = np.stack([img, img])[:, :, None]  # (2, 1, 1, 5, 5) per-item shifts broadcast over planes
    out = apply_shift(stack[:, 0], np.array([0, 1]), np.array([1, 0]))
    assert out[0, 0, 3, 2] == 1 and out[1, 0, 2, 3] == 1


def test_rotation_pairs_match_apply_rotation():
    x, y, angle = rotation_pairs(200, np.random.default_rng(3), size=13)
    assert x.shape == y.shape == (200, 13, 13) and angle.min() >= -180 and angle.max() < 180
    yy, xx = np.mgrid[:13, :13]
    disc = (yy - 6) ** 2 + (xx - 6) ** 2 <= 16
    right = ((apply_rotation(x, angle) - y)[:, disc] ** 2).mean()
    wrong = ((apply_rotation(x, -angle) - y)[:, disc] ** 2).mean()
    assert right < 0.02 < 0.1 < wrong
    # a quarter turn counter-clockwise on screen takes the right edge to the top
    img = np.zeros((1, 5, 5), dtype=np.float32)
    img[0, 2, 4] = 1
    assert apply_rotation(img, 90.0)[0, 0, 2] > 0.99


def test_labels_and_names():
    names = shift_class_names(3)
    assert len(names) == 49 and names[shift_labels(np.array([2]), np.array([-1]))[0]] == "dx=2,dy=-1"
    assert angle_labels(np.array([-180.0, -0.1, 0.0, 179.9])).tolist() == [0, 5, 6, 11]


def test_render_is_the_sum_of_separable_gaussian_blobs():
    """_render's batched matrix product (it replaced an einsum that took 15-80 ms of the GUI
    thread for the relational view's 200 random-dot images) gives the blobs' sum, clipped."""
    from explorer.data.generators import _random_points, _render

    rng = np.random.default_rng(3)
    points, counts = _random_points(5, 15.0, rng, 0.1)
    out = _render(points, counts, 11, 13, 0.6)
    rows, cols = np.arange(11.0), np.arange(13.0)
    want = np.zeros((5, 11, 13))
    for i in range(5):
        for r, c in points[i, : counts[i]]:
            want[i] += np.outer(np.exp(-((rows - r) ** 2) / 0.72), np.exp(-((cols - c) ** 2) / 0.72))
    assert out.shape == (5, 11, 13) and out.dtype == np.float32
    np.testing.assert_allclose(out, np.clip(want, 0, 1), rtol=1e-5, atol=1e-6)
