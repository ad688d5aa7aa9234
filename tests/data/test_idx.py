import gzip
import struct
import tracemalloc

import numpy as np
import pytest

from explorer.core.errors import DataError
from explorer.data import load_data
from explorer.data.idx import labels_path_for

from ._make import write_idx


def _mnist_like(tmp_path, n=30, gz=True, prefix="train"):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    suffix = ".gz" if gz else ""
    ip = write_idx(tmp_path / f"{prefix}-images-idx3-ubyte{suffix}", images, gz=gz)
    write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz=gz)
    return ip, images, labels


@pytest.mark.parametrize("gz", [True, False])
def test_idx_images_with_labels_beside(tmp_path, gz):
    path, images, labels = _mnist_like(tmp_path, gz=gz)
    data = load_data(str(path))
    assert data.format == "idx" and data.count == 30 and data.shape == (1, 28, 28)
    assert np.array_equal(data.images[:, 0], images)
    assert np.array_equal(data.labels, labels)
    assert data.class_names == [str(i) for i in range(10)]
    assert data.name == "train"


def test_labels_path_variants(tmp_path):
    (tmp_path / "t10k-labels.idx1-ubyte").write_bytes(b"")
    assert labels_path_for(str(tmp_path / "t10k-images.idx3-ubyte")) == str(
        tmp_path / "t10k-labels.idx1-ubyte"
    )
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"")
    assert labels_path_for(str(tmp_path / "train-images-idx3-ubyte")).endswith("train-labels-idx1-ubyte.gz")
    assert labels_path_for(str(tmp_path / "other-images-idx3-ubyte")) is None


def test_label_count_mismatch_is_a_note(tmp_path):
    rng = np.random.default_rng(0)
    path = write_idx(tmp_path / "a-images-idx3-ubyte", rng.integers(0, 256, (5, 4, 4), dtype=np.uint8))
    write_idx(tmp_path / "a-labels-idx1-ubyte", np.zeros(4, dtype=np.uint8))
    data = load_data(str(path))
    assert data.labels is None and data.count == 5
    assert "4 labels for 5 images" in data.notes[0]


def test_float_idx_scaled(tmp_path):
    x = np.linspace(0, 1, 2 * 3 * 3).reshape(2, 3, 3).astype(">f4")
    data = load_data(str(write_idx(tmp_path / "f-images-idx3-ubyte", x)))
    assert data.images.max() == 255 and data.images.min() == 0


@pytest.mark.parametrize("gz", [False, True])
def test_absurd_header_does_not_allocate(tmp_path, gz):
    # claims 100000 x 100000 x 100000 bytes (1e15) in a 16-byte file
    body = struct.pack(">BBBB3I", 0, 0, 0x08, 3, 100000, 100000, 100000) + b"\0" * 4
    path = tmp_path / ("x-images-idx3-ubyte" + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(body) if gz else body)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="truncated or corrupt: its header claims 100000x100000x100000"):
            load_data(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000


def test_header_claims_more_than_gzip_holds(tmp_path):
    # plausible for deflate's ratio, but the stream ends early: read in chunks, then refused
    body = struct.pack(">BBBB3I", 0, 0, 0x08, 3, 50, 28, 28) + b"\0" * 100
    path = tmp_path / "y-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(body))
    with pytest.raises(
        DataError, match="truncated: its header claims 50x28x28 values but the data stop after 100"
    ):
        load_data(str(path))


def test_truncated_gzip(tmp_path):
    path, _, _ = _mnist_like(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="damaged or truncated gzip"):
        load_data(str(path))


def test_bad_magic_and_short_files(tmp_path):
    p = tmp_path / "z-images-idx3-ubyte"
    p.write_bytes(b"\x01\x02\x03\x04" + b"\0" * 40)
    with pytest.raises(DataError, match=r"is not an MNIST IDX file \(bad magic number\)"):
        load_data(str(p))
    p.write_bytes(b"\0\0")
    with pytest.raises(DataError, match="too short"):
        load_data(str(p))
    p.write_bytes(b"")
    with pytest.raises(DataError, match="empty file"):
        load_data(str(p))
    p.write_bytes(struct.pack(">BBBB", 0, 0, 8, 3) + b"\0\0")
    with pytest.raises(DataError, match="header is incomplete"):
        load_data(str(p))


def test_labels_file_opened_directly(tmp_path):
    _mnist_like(tmp_path, gz=False)
    with pytest.raises(DataError, match="holds labels, not images"):
        load_data(str(tmp_path / "train-labels-idx1-ubyte"))


def test_idx_sniffed_without_idx_name(tmp_path):
    p = write_idx(tmp_path / "digits.bin", np.zeros((3, 5, 5), dtype=np.uint8))
    assert load_data(str(p)).count == 3
