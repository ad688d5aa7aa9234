"""Memory budgets count what reading really allocates, not the bytes stored.

Float images are brought to uint8 through float64 working copies; those are now made in bounded
chunks (conform.CONVERT_ELEMS values), and the checks before loading count the stored array, the
uint8 result and those chunks. Members of an .npz are checked by content, not by their name.
"""

from __future__ import annotations

import gzip
import io
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

from explorer.core.errors import DataError
from explorer.data import conform, load_data
from explorer.data.conform import CONVERT_ELEMS, to_uint8, working_bytes


def _zip(path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _npy(array) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=False)
    return buf.getvalue()


def test_chunked_conversion_matches_the_whole_array_one(monkeypatch):
    rng = np.random.default_rng(0)
    cases = [
        rng.normal(size=(50, 7, 9)).astype(np.float32) * 300,
        rng.random((50, 3, 4, 4)),
        rng.integers(-500, 500, (33, 8)).astype(np.int32),
        rng.integers(0, 65535, (20, 5, 5)).astype(np.uint16),
    ]
    cases[0][3, 2, 1] = np.nan
    cases[0][7, 0, 0] = np.inf
    whole = [to_uint8(a) for a in cases]
    monkeypatch.setattr(conform, "CONVERT_ELEMS", 17)  # many small chunks
    for a, ref in zip(cases, whole):
        assert np.array_equal(to_uint8(a), ref)


def test_converting_float_images_stays_within_the_counted_memory():
    n = 10_000_000  # float16: 20 MB stored, 10 MB of uint8 out; whole-array float64 copies were 80 MB each
    a = np.zeros((n // 10_000, 100, 100), np.float16)
    a[::7] = 0.5
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        out = to_uint8(a)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.dtype == np.uint8 and out[0, 0, 0] == 128 and out[1].max() == 0
    counted = working_bytes(a.shape, a.dtype) - a.nbytes  # what the budget adds for the conversion
    assert peak <= counted + (1 << 20), (peak, counted)
    assert peak < 80_000_000  # less than ONE whole-array float64 copy (the old code made several)


def _float_npz(path, n_images=200, side=100):
    """A small .npz of float16 zeros (deflate packs them ~1000:1)."""
    images = np.zeros((n_images, side, side), np.float16)
    np.savez_compressed(path, images=images)
    return images


def test_npz_budget_counts_the_conversion(tmp_path, monkeypatch):
    from explorer.data import folder

    path = tmp_path / "small.npz"
    images = _float_npz(path)
    assert path.stat().st_size < images.nbytes / 100
    # enough for the stored bytes (what the old check counted), not for stored + uint8 + chunks
    monkeypatch.setattr(folder, "MAX_TOTAL_BYTES", images.nbytes + images.size // 2)
    with pytest.raises(DataError, match="free memory"):
        load_data(str(path))
    monkeypatch.setattr(folder, "MAX_TOTAL_BYTES", working_bytes(images.shape, images.dtype) + 4096)
    data = load_data(str(path))
    assert data.count == 200 and data.images.dtype == np.uint8


def test_npz_member_without_the_npy_suffix_gets_the_header_check(tmp_path):
    header = _npy(np.zeros((2, 4, 4), np.uint8))
    lying = bytearray(header)
    lying = bytes(lying).replace(b"(2, 4, 4)", b"(900000, 4000, 4)")  # claims 14 GB, holds 32 bytes
    path = tmp_path / "lying.npz"
    _zip(path, {"images": lying})
    with pytest.raises(DataError, match="truncated or corrupt: images claims shape"):
        load_data(str(path))
    honest = tmp_path / "honest.npz"
    _zip(
        honest,
        {
            "images": _npy(np.full((3, 4, 4), 9, np.uint8)),
            "labels.npy": _npy(np.arange(3)),
            "notes": b"not an array at all",
        },
    )
    data = load_data(str(honest))
    assert data.count == 3 and data.images.max() == 9 and data.labels.tolist() == [0, 1, 2]


def test_npz_member_that_is_not_an_array_is_never_loaded(tmp_path):
    path = tmp_path / "odd.npz"
    _zip(path, {"images": b"plain bytes named like the images"})
    with pytest.raises(DataError, match="no 'images' array"):
        load_data(str(path))


def test_idx_budget_counts_the_conversion(tmp_path, monkeypatch):
    from explorer.data import folder

    n, side = 100, 64
    values = np.zeros((n, side, side), ">f4")
    path = tmp_path / "float-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(struct.pack(">BBBBIII", 0, 0, 0x0D, 3, n, side, side) + values.tobytes()))
    monkeypatch.setattr(folder, "MAX_TOTAL_BYTES", values.nbytes + 1000)  # the stored bytes only
    with pytest.raises(DataError, match="free memory"):
        load_data(str(path))
    monkeypatch.setattr(folder, "MAX_TOTAL_BYTES", working_bytes(values.shape, values.dtype) + 4096)
    assert load_data(str(path)).count == n


def test_idx_reads_into_one_array(tmp_path):
    n, side = 50, 28
    values = np.arange(n * side * side, dtype=np.uint32).astype(np.uint8).reshape(n, side, side)
    path = tmp_path / "t-images-idx3-ubyte"
    path.write_bytes(struct.pack(">BBBBIII", 0, 0, 0x08, 3, n, side, side) + values.tobytes())
    from explorer.data.idx import read_idx

    tracemalloc.start()
    try:
        arr = read_idx(str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.array_equal(arr, values)
    assert peak < 1.5 * values.nbytes + 65536  # one copy (the old join of chunks made two)
    assert CONVERT_ELEMS > 0
