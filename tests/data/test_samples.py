import numpy as np
import pytest

from explorer.core.errors import DataError
from explorer.data import available_samples, load_data, sample_data_dir


@pytest.mark.parametrize(
    "name, count, shape, classes, pairs",
    [
        ("digits", 1797, (1, 8, 8), 10, False),
        ("mnist", 5000, (1, 28, 28), 10, False),
        ("shifts", 10000, (1, 13, 13), 49, True),
        ("rotations", 10000, (1, 13, 13), 12, True),
        ("stereo", 4000, (1, 13, 13), 13, True),
    ],
)
def test_sample_sets(name, count, shape, classes, pairs):
    data = load_data(f"sample:{name}")
    assert (data.count, data.shape, len(data.class_names)) == (count, shape, classes)
    assert data.images.dtype == np.uint8 and data.format == f"sample:{name}"
    assert (data.partners is not None) == pairs
    assert data.labels.min() >= 0 and data.labels.max() < classes
    assert data.paths[3] == f"sample:{name}#3"


def test_mnist_is_mixed_and_digits_match_sklearn():
    mnist = load_data("sample:mnist")
    assert np.bincount(mnist.labels[:500], minlength=10).min() > 30  # any prefix has every class
    from sklearn.datasets import load_digits

    d = load_digits()
    digits = load_data("sample:digits")
    assert np.array_equal(digits.labels, d.target)
    assert np.array_equal(digits.images[:, 0], np.rint(d.images * 255 / 16).astype(np.uint8))


def test_stored_shift_pairs_are_exact_shifts():
    data = load_data("sample:shifts")
    x, y = data.images[:, 0], data.partners[:, 0]
    dx, dy = data.transforms["dx"], data.transforms["dy"]
    for i in range(0, 10000, 97):
        a, b = dx[i], dy[i]
        assert np.array_equal(
            y[i, max(b, 0) : 13 + min(b, 0), max(a, 0) : 13 + min(a, 0)],
            x[i, max(-b, 0) : 13 - max(b, 0), max(-a, 0) : 13 - max(a, 0)],
        )
    assert data.class_names[data.labels[0]] == f"dx={dx[0]},dy={dy[0]}"


def test_stereo_partners_follow_disparity():
    from explorer.data.generators import apply_shift

    data = load_data("sample:stereo")
    x, y = data.float_images()[:, 0], data.float_partners()[:, 0]
    d = np.rint(data.transforms["disparity"]).astype(int)
    centre = slice(6, 7)  # the middle column survives every shift up to 6
    err = ((apply_shift(x, -d, 0) - y)[:, :, centre] ** 2).mean()
    same = ((x - y)[:, :, centre] ** 2).mean()
    assert err < 0.5 * same


def test_sample_folder_override_and_errors(tmp_path, monkeypatch):
    assert set(available_samples()) == {"digits", "mnist", "shifts", "rotations", "stereo", "docs"}
    monkeypatch.setenv("EXPLORER_SAMPLE_DATA", str(tmp_path))
    assert sample_data_dir() == tmp_path and available_samples() == {}
    with pytest.raises(DataError, match="missing from .*sample_data/build.py"):
        load_data("sample:digits")
    with pytest.raises(DataError, match="no sample set 'faces'; choose one of: digits, mnist"):
        load_data("sample:faces")
