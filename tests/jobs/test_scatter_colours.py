"""The class palette keeps every pair of classes apart (issue 13: 20 classes looked alike)."""

from __future__ import annotations

import numpy as np
from skimage.color import rgb2lab

from explorer.jobs.scatter.colours import GREY, class_palette, point_colours


def _delta_e(rgb: np.ndarray) -> np.ndarray:
    """(K, K) CIELAB Delta E 1976 between (K, 3) uint8 colours, inf on the diagonal."""
    lab = rgb2lab(rgb.reshape(-1, 1, 3).astype(float) / 255).reshape(-1, 3)
    d = np.linalg.norm(lab[:, None] - lab[None], axis=2)
    d[np.eye(len(rgb), dtype=bool)] = np.inf
    return d


def test_twenty_and_thirty_classes_differ_pairwise_in_cielab():
    for k in (10, 20, 30):
        pal = class_palette(k)
        assert pal.shape == (k, 4) and pal.dtype == np.uint8 and (pal[:, 3] == 255).all()
        d = _delta_e(pal[:, :3])
        assert d.min() > 25  # every pair, not only neighbours
        assert min(d[i, i + 1] for i in range(k - 1)) > 25
    # the grey of unlabelled points is not one of the classes' colours
    lab_grey = _delta_e(np.vstack([class_palette(20)[:, :3], np.array(GREY[:3], np.uint8)]))[-1]
    assert lab_grey.min() > 10
    # lightness 32..80: every class shows on the white plot
    lab = rgb2lab(class_palette(30)[:, :3].reshape(-1, 1, 3) / 255).reshape(-1, 3)
    assert lab[:, 0].min() > 30 and lab[:, 0].max() < 82


def test_more_classes_than_the_list_still_get_distinct_colours_and_ten_look_as_before():
    pal = class_palette(60)
    assert len({tuple(c) for c in pal}) == 60
    assert tuple(class_palette(3)[0][:3]) == (0x4E, 0x79, 0xA7)  # Tableau 10 first


def test_point_colours_index_classes_grey_and_the_dimmed_half():
    labels = np.array([0, 19, -1, 5])
    cidx, pal = point_colours(labels, 20, None, np.zeros(4, bool))
    assert cidx.tolist() == [0, 19, 20, 5] and len(pal) == 42
    assert tuple(pal[20]) == GREY
    cidx, _ = point_colours(labels, 20, None, np.array([True, False, False, False]))
    assert cidx.tolist() == [0, 19 + 21, 20 + 21, 5 + 21]


def test_point_colours_one_pass_equals_the_numpy_passes(monkeypatch):
    """The numba pass (int labels by class) gives the codes and palette of the numpy passes, with
    unlabelled rows, labels past the classes, emphasis on and off, uint8 and uint16 codes."""
    import explorer.jobs.scatter.colours as colours

    rng = np.random.default_rng(1)
    for k in (10, 200):
        labels = rng.integers(-1, k + 3, 100_000)
        labels[labels > k] = -1  # (labels past the classes are -1 in a dataset)
        labels[:5] = (k, k - 1, 0, -1, 3)
        for emph in (np.zeros(len(labels), bool), rng.random(len(labels)) < 0.4):
            got = point_colours(labels, k, None, emph)
            with monkeypatch.context() as m:
                m.setattr(colours, "numba", None)
                want = point_colours(labels, k, None, emph)
            assert got[0].dtype == want[0].dtype == (np.uint8 if k == 10 else np.uint16)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])


def test_in_classes_is_np_isin_for_few_and_many_classes():
    from explorer.jobs.scatter.colours import in_classes

    labels = np.random.default_rng(0).integers(-1, 40, 50_000)
    for classes in (set(), {3}, {3, -1}, set(range(10)), set(range(35))):
        np.testing.assert_array_equal(in_classes(labels, classes), np.isin(labels, list(classes)))


def test_class_codes_made_in_cell_order_equal_the_codes_per_row_put_in_cell_order():
    from explorer.jobs.scatter.colours import cell_class_codes, cell_labels, in_classes
    from explorer.jobs.scatter.grid import CellGrid

    rng = np.random.default_rng(7)
    n = 150_000
    xy = rng.normal(size=(n, 2)).astype(np.float32)
    xy[::101] = np.nan  # not placed: not in the cell order
    labels = rng.integers(-1, 7, n)  # -1 and 6 (past the 6 classes): grey
    grid = CellGrid(xy, size=256)
    slabels = cell_labels(grid, labels, 6)
    assert cell_labels(grid, labels, 6) is slabels  # kept on the grid
    assert cell_labels(grid, labels.copy(), 6) is not slabels and cell_labels(grid, labels, 7) is not slabels
    emph = rng.random(n) < 0.3
    cases = [
        (None, (), (), ()),
        (emph, (), (), ()),
        (emph, (2,), (), ()),
        (None, (1, 4), (3,), ()),
        (emph, (), (0, 5), (1,)),  # emphasis of class 1 does not count (it was hidden at the lasso)
    ]
    for e, picked, hidden, not_emph in cases:
        row_emph = np.zeros(n, bool) if e is None else e & ~in_classes(labels, not_emph)
        if picked:
            row_emph |= in_classes(labels, picked)
        want, want_palette = point_colours(labels, 6, None, row_emph)
        want = want.copy()
        want[in_classes(labels, hidden)] = len(want_palette)  # not drawn
        got, palette = cell_class_codes(
            slabels, 6, None if e is None else grid.to_cell_order(e), picked, hidden, not_emph
        )
        np.testing.assert_array_equal(palette, want_palette)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want[grid.order])
