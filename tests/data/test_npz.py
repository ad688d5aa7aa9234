import io
import tracemalloc
import zipfile

import numpy as np
import pytest

from explorer.core.errors import DataError
from explorer.data import load_data


def _save(tmp_path, name="d.npz", **arrays):
    p = tmp_path / name
    np.savez_compressed(p, **arrays)
    return str(p)


@pytest.mark.parametrize(
    "shape, expect",
    [
        ((6, 9, 7), (1, 9, 7)),  # (N, H, W)
        ((6, 9, 7, 3), (3, 9, 7)),  # (N, H, W, C)
        ((6, 9, 7, 1), (1, 9, 7)),
        ((6, 3, 9, 7), (3, 9, 7)),  # (N, C, H, W)
        ((6, 1, 9, 7), (1, 9, 7)),
        ((6, 9, 7, 4), (3, 9, 7)),  # alpha dropped
        ((6, 49), (1, 7, 7)),  # flat square vectors
    ],
)
def test_layouts(tmp_path, shape, expect):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, shape, dtype=np.uint8)
    data = load_data(_save(tmp_path, images=images))
    assert data.shape == expect and data.count == 6 and data.format == "npz"
    if len(shape) == 4 and shape[3] in (3, 4):  # NHWC: pixel (h, w, c) lands at (c, h, w)
        assert data.images[2, 1, 4, 5] == images[2, 4, 5, 1]


def test_channel_axis_that_cannot_be_told(tmp_path):
    with pytest.raises(DataError, match="cannot tell the channel axis"):
        load_data(_save(tmp_path, images=np.zeros((2, 5, 6, 7), dtype=np.uint8)))


def test_float_images_with_nan_are_cleaned(tmp_path):
    x = np.full((4, 5, 5), 0.5, dtype=np.float32)
    x[0, 0, 0] = np.nan
    x[1, 1, 1] = np.inf
    data = load_data(_save(tmp_path, images=x))
    assert data.images.dtype == np.uint8
    assert data.images[0, 0, 0, 0] == 0 and data.images[1, 0, 1, 1] == 0 and data.images[2, 0, 2, 2] == 128
    assert data.notes == ["2 NaN or infinite pixel values in the images set to 0."]


def test_labels_and_class_names(tmp_path):
    x = np.zeros((4, 3, 3), dtype=np.uint8)
    data = load_data(
        _save(tmp_path, images=x, labels=np.array([1, 0, 2, 1]), class_names=np.array(["cat", "dog", "eel"]))
    )
    assert data.labels.tolist() == [1, 0, 2, 1] and data.class_names == ["cat", "dog", "eel"]
    data = load_data(_save(tmp_path, images=x, labels=np.array(["b", "a", "b", ""])))
    assert data.labels.tolist() == [1, 0, 1, -1] and data.class_names == ["a", "b"]
    data = load_data(_save(tmp_path, images=x, labels=np.array([3, 7, 7, 3])))
    assert data.labels.tolist() == [0, 1, 1, 0] and data.class_names == ["3", "7"]
    with pytest.raises(DataError, match="3 labels for 4 images|one label per image"):
        load_data(_save(tmp_path, images=x, labels=np.array([0, 1, 2])))
    with pytest.raises(DataError, match="only 2 class names"):
        load_data(_save(tmp_path, images=x, labels=np.array([0, 1, 2, 1]), class_names=np.array(["a", "b"])))


def test_pairs_and_transforms_round_trip(tmp_path):
    x = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 1, 4, 4)
    data = load_data(_save(tmp_path, images=x, partners=x[:, :, ::-1], transform_dx=np.array([1, -1])))
    assert np.array_equal(data.partners, x[:, :, ::-1]) and data.transforms["dx"].tolist() == [1, -1]
    assert data.facts()["pairs"] is True


def test_keras_style_archive(tmp_path):
    x = np.zeros((3, 28, 28), dtype=np.uint8)
    data = load_data(_save(tmp_path, x_train=x, y_train=np.array([5, 0, 5]), x_test=x, y_test=np.zeros(3)))
    assert data.count == 3 and data.class_names == ["0", "5"]


def test_missing_images_key_and_object_arrays_and_junk(tmp_path):
    with pytest.raises(DataError, match=r"has no 'images' array \(it holds: foo\)"):
        load_data(_save(tmp_path, foo=np.zeros(3)))
    p = tmp_path / "obj.npz"
    np.savez(p, images=np.array([np.zeros(2), "x"], dtype=object))
    with pytest.raises(DataError, match="never unpickles"):
        load_data(str(p))
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\3\4 not really a zip")
    with pytest.raises(DataError, match="not a valid .npz"):
        load_data(str(junk))


def test_absurd_npy_header_does_not_allocate(tmp_path):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6, 10**3)}
    )
    p = tmp_path / "bomb.npz"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("images.npy", buf.getvalue() + b"\0" * 64)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="truncated or corrupt: images.npy claims shape"):
            load_data(str(p))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000


def test_damaged_compressed_member(tmp_path):
    p = _save(tmp_path, images=np.random.default_rng(0).integers(0, 256, (50, 16, 16), dtype=np.uint8))
    path = tmp_path / "d.npz"
    data = bytearray(path.read_bytes())
    for k in range(200, 260):
        data[k] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="damaged|not a valid .npz|could not be read"):
        load_data(p)
