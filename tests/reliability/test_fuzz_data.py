"""Fuzzing every data reader: random bytes, truncations, wrong magic, lying headers, NaN/Inf arrays,
empty files and folders. Each case ends in an ImageSet that makes sense or a DataError sentence:
never another exception, a hang or runaway memory. 200 generated cases per reader."""

from __future__ import annotations

import gzip
import io
import os
import struct
import tempfile
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from explorer.core.errors import DataError, ExplorerError
from explorer.data import load_data

from ._fuzz import FUZZ, assert_sentence, assert_sound_imageset, mutate, record
from ._limits import peak_memory, time_limit

IDX_CODES = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]


def _load(path: str, reader: str = "other"):
    """load_data(path): the ImageSet if sound, None after a DataError; anything else fails the test."""
    with time_limit(5):
        try:
            ds = load_data(path)
        except DataError as err:
            assert_sentence(err)
            record(reader, "DataError")
            return None
    assert_sound_imageset(ds)
    record(reader, "loaded" if not ds.skipped else "loaded, some files skipped")
    return ds


mutation = st.tuples(
    st.sampled_from(["truncate", "flip", "insert", "none", "none", "none"]),
    st.integers(0, 10**6),
    st.integers(0, 255),
)


# ---- IDX -------------------------------------------------------------------------------------
@st.composite
def idx_files(draw) -> bytes:
    kind = draw(st.sampled_from(["random", "header", "valid", "magic"]))
    if kind == "random":
        body = draw(st.binary(max_size=64))
    else:
        code = draw(st.sampled_from(IDX_CODES)) if kind != "magic" else draw(st.integers(0, 255))
        ndim = draw(st.integers(1, 4)) if kind != "magic" else draw(st.integers(0, 255))
        if kind == "valid":
            ndim = draw(st.sampled_from([ndim, 3, 3]))
            dims = draw(st.lists(st.integers(0, 5), min_size=ndim, max_size=ndim))
            dtype = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
            count = int(np.prod(dims))
            values = draw(
                st.lists(
                    st.sampled_from([0.0, 1.0, 255.0, -3.0, 1e9, np.nan, np.inf, -np.inf]),
                    min_size=count,
                    max_size=count,
                )
            )
            arr = np.array(values, dtype=np.float64)
            if dtype[-2] in "iu":
                arr = np.nan_to_num(arr, posinf=7, neginf=-7).clip(np.iinfo(dtype).min, np.iinfo(dtype).max)
            payload = arr.astype(dtype).tobytes()
        else:
            dims = draw(st.lists(st.integers(0, 2**32 - 1), min_size=min(ndim, 6), max_size=min(ndim, 6)))
            payload = draw(st.binary(max_size=64))
        head = bytes([0, 0, code % 256, ndim % 256]) + struct.pack(f">{len(dims)}I", *dims)
        body = mutate(head + payload, *draw(mutation))
    if draw(st.booleans()):
        body = mutate(gzip.compress(body, mtime=0), *draw(mutation))
    return body


@FUZZ
@given(body=idx_files(), labels=st.one_of(st.none(), idx_files()))
def test_fuzz_idx(body, labels):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "train-images-idx3-ubyte")
        with open(path, "wb") as f:
            f.write(body)
        if labels is not None:
            with open(os.path.join(d, "train-labels-idx1-ubyte"), "wb") as f:
                f.write(labels)
        _load(path, "idx")


@pytest.mark.parametrize("gz", [False, True])
def test_idx_claiming_a_billion_images_allocates_nothing(tmp_path, gz):
    head = struct.pack(">BBBBIII", 0, 0, 0x08, 3, 1_000_000_000, 28, 28)  # 784 GB claimed
    body = head + bytes(28 * 28 * 3)
    path = tmp_path / ("big-images-idx3-ubyte" + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(body) if gz else body)
    with peak_memory() as peak:
        with pytest.raises(DataError, match="truncated|corrupt") as err:
            load_data(str(path))
    assert_sentence(err.value)
    assert peak.traced_bytes < 5_000_000, peak.traced_bytes


def test_gzip_bomb_idx_reads_in_bounded_memory(tmp_path):
    """A header that honestly claims 47 MB of zeros inside a 50 KB gzip: read, but in chunks."""
    n = 60_000
    body = struct.pack(">BBBBIII", 0, 0, 0x08, 3, n, 28, 28) + bytes(n * 28 * 28)
    path = tmp_path / "zeros-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(body, compresslevel=9))
    assert path.stat().st_size < 100_000
    with peak_memory(trace=False) as peak:
        ds = _load(str(path))
    assert ds is None or ds.count == n
    # either refused or read: the 47 MB may be held at most ~three times (chunks, join, result)
    assert peak.rss_growth < 3 * n * 784 + 20_000_000, peak.rss_growth


# ---- npz -------------------------------------------------------------------------------------
DTYPES = ["u1", "i2", "<i4", ">f4", "f8", "f2", "bool", "U3", "c8", "M8[s]", "O", "V4"]
SPECIAL = [0.0, 0.5, 1.0, 255.0, -1.0, 1e30, np.nan, np.inf, -np.inf]


@st.composite
def arrays(draw, max_dims=4, image_like=False):
    if image_like:  # mostly loadable: (N, H, W), (N, H, W, C), (N, C, H, W), (N, D)
        ndim = draw(st.sampled_from([2, 3, 3, 4, 4]))
        shape = tuple(draw(st.lists(st.sampled_from([1, 2, 3, 4]), min_size=ndim, max_size=ndim)))
        dtype = draw(st.sampled_from(["u1", "f4", "f8", "i2", "<i4", "bool", "f2"]))
    else:
        ndim = draw(st.integers(0, max_dims))
        shape = tuple(draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim)))
        dtype = draw(st.sampled_from(DTYPES))
    count = int(np.prod(shape))
    values = draw(st.lists(st.sampled_from(SPECIAL), min_size=count, max_size=count))
    base = np.array(values, dtype=np.float64).reshape(shape)
    if dtype == "O":
        return base.astype(object)
    if dtype in ("U3", "M8[s]", "V4"):
        return np.zeros(shape, dtype=dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        if np.dtype(dtype).kind in "iub":
            base = np.nan_to_num(base, posinf=9, neginf=-9).clip(-9, 300)
        return base.astype(dtype)


@st.composite
def npz_files(draw) -> bytes:
    kind = draw(st.sampled_from(["random", "valid", "valid", "valid", "lying"]))
    if kind == "random":
        return draw(st.binary(max_size=128))
    keys = draw(
        st.lists(
            st.sampled_from(
                [
                    "images",
                    "labels",
                    "class_names",
                    "partners",
                    "x_train",
                    "y_train",
                    "transform_angle",
                    "other",
                ]
            ),
            max_size=4,
            unique=True,
        )
    )
    buf = io.BytesIO()
    members = {k: draw(arrays()) for k in keys}
    if kind == "valid" and draw(st.integers(0, 3)):
        if draw(st.booleans()):  # only what a sound archive holds
            members = {}
        members["images"] = draw(arrays(image_like=True))
        n = members["images"].shape[0]
        if draw(st.booleans()):
            members["labels"] = np.array(draw(st.lists(st.integers(-1, 3), min_size=n, max_size=n)))
    if kind == "lying":
        with zipfile.ZipFile(buf, "w") as zf:
            for k in members:
                b = io.BytesIO()
                np.lib.format.write_array_header_1_0(
                    b,
                    {
                        "descr": np.lib.format.dtype_to_descr(np.dtype("f4")),
                        "fortran_order": False,
                        "shape": tuple(draw(st.lists(st.integers(0, 2**40), min_size=1, max_size=4))),
                    },
                )
                zf.writestr(k + ".npy", b.getvalue() + draw(st.binary(max_size=32)))
    else:
        np.savez(buf, **members) if draw(st.booleans()) else np.savez_compressed(buf, **members)
        if draw(st.booleans()):
            return buf.getvalue()
    return mutate(buf.getvalue(), *draw(mutation))


@FUZZ
@given(body=npz_files())
def test_fuzz_npz(body):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "data.npz")
        with open(path, "wb") as f:
            f.write(body)
        _load(path, "npz")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_npz_nan_and_inf_pixels_become_a_note(tmp_path, bad):
    images = np.full((4, 5, 5), 0.5, dtype=np.float32)
    images[1, 2, 2] = bad
    np.savez(tmp_path / "d.npz", images=images, labels=np.array([0, 1, 0, 1]))
    ds = _load(str(tmp_path / "d.npz"))
    assert ds.images[1, 0, 2, 2] == 0 and ds.images[0, 0, 0, 0] == 128
    assert any("NaN or infinite" in n for n in ds.notes)


def test_npz_member_claiming_terabytes_allocates_nothing(tmp_path):
    b = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        b, {"descr": "<f4", "fortran_order": False, "shape": (10**12, 28, 28)}
    )
    with zipfile.ZipFile(tmp_path / "big.npz", "w") as zf:
        zf.writestr("images.npy", b.getvalue() + bytes(64))
    with peak_memory() as peak:
        with pytest.raises(DataError, match="truncated or corrupt"):
            load_data(str(tmp_path / "big.npz"))
    assert peak.traced_bytes < 5_000_000


def test_npz_object_arrays_are_never_unpickled(tmp_path):
    import pickle

    marker = tmp_path / "MARKER"

    class Boom:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    b = io.BytesIO()
    np.lib.format.write_array_header_1_0(b, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    with zipfile.ZipFile(tmp_path / "evil.npz", "w") as zf:
        zf.writestr("images.npy", b.getvalue() + pickle.dumps([Boom()], protocol=2))
    with pytest.raises(DataError, match="never"):
        load_data(str(tmp_path / "evil.npz"))
    assert not marker.exists()


# ---- TSV -------------------------------------------------------------------------------------
tsv_text = st.lists(
    st.lists(
        st.sampled_from(
            ["0", "1.5", "-2", "1e3", "nan", "inf", "-inf", "x", "", " ", "1e999", "0x10", "١", "3,5"]
        ),
        max_size=4,
    ).map("\t".join),
    max_size=5,
).map("\n".join)


@FUZZ
@given(
    vectors=st.one_of(tsv_text.map(str.encode), st.binary(max_size=64)),
    metadata=st.one_of(st.none(), tsv_text.map(str.encode), st.binary(max_size=32)),
)
def test_fuzz_tsv(vectors, metadata):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "vectors.tsv")
        with open(path, "wb") as f:
            f.write(vectors)
        if metadata is not None:
            with open(os.path.join(d, "metadata.tsv"), "wb") as f:
                f.write(metadata)
        _load(path, "tsv")


# ---- single images and folders ---------------------------------------------------------------
IMAGE_EXTS = [".png", ".jpg", ".bmp", ".gif", ".pgm", ".tif", ".webp", ".ico"]
PIL_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".bmp": "BMP",
    ".gif": "GIF",
    ".pgm": "PPM",
    ".tif": "TIFF",
    ".webp": "WEBP",
    ".ico": "ICO",
}


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk that claim width x height, then nothing."""
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


@st.composite
def image_files(draw) -> tuple[str, bytes]:
    ext = draw(st.sampled_from(IMAGE_EXTS + [".txt", ""]))
    kind = draw(st.sampled_from(["random", "valid", "valid", "huge"]))
    if kind == "random":
        return ext, draw(st.binary(max_size=64))
    if kind == "huge":
        return ".png", _png_claiming(draw(st.integers(0, 2**31 - 1)), draw(st.integers(0, 2**31 - 1)))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    mode = draw(st.sampled_from(["L", "RGB", "RGBA", "1", "P", "I;16", "F", "CMYK", "LA"]))
    fmt = PIL_FORMATS.get(ext, "PNG")
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).convert(mode)
    buf = io.BytesIO()
    try:
        img.save(buf, format=fmt)
    except (OSError, ValueError, KeyError):  # this format cannot store this mode
        img.convert("RGB" if fmt in ("JPEG",) else "L").save(buf, format=fmt)
    return ext, mutate(buf.getvalue(), *draw(mutation))


@FUZZ
@given(file=image_files())
def test_fuzz_single_image_file(file):
    ext, body = file
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "picture" + ext)
        with open(path, "wb") as f:
            f.write(body)
        _load(path, "image file")


@st.composite
def folder_trees(draw) -> list[tuple[str, bytes]]:
    """(relative path, bytes) entries; a path ending in / is an empty folder."""
    entries = []
    for i in range(draw(st.integers(0, 4))):
        where = draw(st.sampled_from(["", "a/", "b/", "a/deep/", ".hidden/", "c/"]))
        if draw(st.integers(0, 5)) == 0:
            entries.append((where + f"empty{i}/", b""))
            continue
        ext, body = draw(image_files())
        prefix = "." if draw(st.integers(0, 9)) == 0 else ""
        entries.append((f"{where}{prefix}f{i}{ext}", body))
    return entries


@FUZZ
@given(tree=folder_trees())
def test_fuzz_folder(tree):
    with tempfile.TemporaryDirectory() as d:
        for rel, body in tree:
            full = os.path.join(d, rel)
            os.makedirs(os.path.dirname(full) if not rel.endswith("/") else full, exist_ok=True)
            if not rel.endswith("/"):
                with open(full, "wb") as f:
                    f.write(body)
        ds = _load(d, "folder")
        if ds is not None:
            assert ds.count + len(ds.skipped) >= 1


@pytest.mark.parametrize("content", [b"", b"\0", b"\x89PNG\r\n\x1a\n"])
@pytest.mark.parametrize("ext", [".npz", ".tsv", "-images-idx3-ubyte", ".png", ".safetensors", ""])
def test_empty_and_stub_files(tmp_path, content, ext):
    path = tmp_path / f"f{ext}"
    path.write_bytes(content)
    assert _load(str(path)) is None


def test_empty_folders(tmp_path):
    (tmp_path / "flat").mkdir()
    (tmp_path / "classes" / "a").mkdir(parents=True)
    (tmp_path / "classes" / "b").mkdir()
    (tmp_path / "hidden" / ".git").mkdir(parents=True)
    (tmp_path / "hidden" / ".git" / "x.png").write_bytes(b"")
    for name in ("flat", "classes", "hidden"):
        with pytest.raises(DataError, match="No images found"):
            load_data(str(tmp_path / name))
    with pytest.raises(DataError, match="does not exist"):
        load_data(str(tmp_path / "nowhere"))


def test_folder_of_small_files_claiming_huge_images_stops_before_memory_runs_out(tmp_path, monkeypatch):
    """Each 3000x3000 PNG of zeros is ~9 KB on disk and 9 MB decoded: a folder of thousands of them
    would fill any memory. Loading stops with a DataError once the decoded images pass the budget."""
    import zlib

    from explorer.data import folder

    comp = zlib.compressobj(9)
    body = comp.compress(bytes(3001) * 3000) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", 3000, 3000, 8, 0, 0, 0, 0)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    for i in range(6):
        (tmp_path / f"big{i}.png").write_bytes(png)
    monkeypatch.setattr(folder, "MAX_TOTAL_BYTES", 20_000_000)
    with peak_memory(trace=False) as peak, pytest.raises(DataError, match="more memory than is free") as err:
        load_data(str(tmp_path))
    assert_sentence(err.value)
    assert "first 3" in str(err.value)
    assert peak.rss_growth < 60_000_000
    monkeypatch.setattr(folder, "MAX_TOTAL_BYTES", None)
    assert folder._decode_budget() > 100_000_000  # the default follows the free memory


@pytest.mark.parametrize("kind", ["npz", "idx.gz"])
def test_honest_but_oversized_archives_are_refused_before_reading(tmp_path, monkeypatch, kind):
    """Deflate packs zeros ~1000:1, so a small file can honestly hold more than memory: refused."""
    from explorer.data import folder

    monkeypatch.setattr(folder, "MAX_TOTAL_BYTES", 1_000_000)  # pretend only 1 MB is free
    images = np.zeros((40, 1, 200, 200), np.uint8)  # 1.6 MB
    if kind == "npz":
        path = tmp_path / "big.npz"
        np.savez_compressed(path, images=images)
    else:
        path = tmp_path / "big-images-idx3-ubyte.gz"
        path.write_bytes(gzip.compress(struct.pack(">BBBBIII", 0, 0, 8, 3, 40, 200, 200) + images.tobytes()))
    assert path.stat().st_size < 20_000
    with pytest.raises(DataError, match="free memory") as err:
        load_data(str(path))
    assert_sentence(err.value)
    monkeypatch.setattr(folder, "MAX_TOTAL_BYTES", None)
    assert load_data(str(path)).count == 40


# ---- .npy codes (explorer project --codes / --labels) ----------------------------------------
_WARM: list = []


@st.composite
def npy_files(draw) -> bytes:
    kind = draw(st.sampled_from(["random", "valid", "valid", "lying"]))
    if kind == "random":
        return draw(st.binary(max_size=96))
    if kind == "lying":
        b = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            b,
            {
                "descr": draw(st.sampled_from(["<f4", "<f8", "|u1", "|O", "<U3"])),
                "fortran_order": False,
                "shape": tuple(draw(st.lists(st.integers(0, 2**40), min_size=1, max_size=3))),
            },
        )
        return b.getvalue() + draw(st.binary(max_size=32))
    b = io.BytesIO()
    np.save(b, draw(arrays(max_dims=3)), allow_pickle=True)
    return mutate(b.getvalue(), *draw(mutation))


@FUZZ
@given(body=npy_files())
def test_fuzz_npy_codes_for_project(body):
    from explorer.commands.project import _load_npy
    from explorer.core.progress import run_to_end
    from explorer.projection import project_job

    if not _WARM:  # the first PCA imports scikit-learn: not part of any case's time limit
        run_to_end(project_job(np.eye(3, dtype=np.float32), "pca"))
        _WARM.append(True)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "codes.npy")
        with open(path, "wb") as f:
            f.write(body)
        # constant codes make scikit-learn's PCA warn (0/0 explained variance); harmless, not ours
        with time_limit(5), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                layout = run_to_end(project_job(_load_npy(path, "codes"), "pca"))
            except ExplorerError as err:
                assert_sentence(err)
                record("npy codes", "refused")
                return
    assert layout.ndim == 2 and layout.shape[1] == 2 and np.isfinite(layout).all()
    record("npy codes", "projected")


# ---- `explorer info` end to end (in-process CLI) ----------------------------------------------
@FUZZ
@given(
    case=st.one_of(
        idx_files().map(lambda b: ("train-images-idx3-ubyte", b)),
        npz_files().map(lambda b: ("data.npz", b)),
        tsv_text.map(lambda t: ("vectors.tsv", t.encode())),
        image_files().map(lambda f: ("picture" + f[0], f[1])),
    )
)
def test_fuzz_explorer_info(case):
    import contextlib
    import json

    from explorer.cli import main

    name, body = case
    out, err = io.StringIO(), io.StringIO()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(body)
        with time_limit(5), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["info", path])
    if code == 0:
        facts = json.loads(out.getvalue().strip().splitlines()[-1])
        assert facts["count"] >= 1
        record("explorer info", "facts printed")
    else:
        lines = [ln for ln in err.getvalue().splitlines() if ln.startswith("explorer: ")]
        assert code == 2 and len(lines) == 1 and "Traceback" not in err.getvalue()
        record("explorer info", "one-line error, exit 2")


# ---- the readers behind pillow_safe: drops, analogy inputs, encoded bytes (Parquet) -----------
FOREIGN_HEADS = [
    b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 4 4\n",
    b"\xc5\xd0\xd3\xc6" + bytes(28),
    b"8BPS\x00\x01" + bytes(20),
    b"icns\x00\x00\x01\x00",
    b"DDS |" + bytes(20),
    b"\x00\x00\x00\x1cftypavif" + bytes(16),
    b"%PDF-1.4\n",
]


@st.composite
def foreign_or_image_bytes(draw) -> bytes:
    """A mutated allowed-format image, or a mutated header of a format explorer does not open."""
    if draw(st.booleans()):
        _, body = draw(image_files())
        return body
    return mutate(draw(st.sampled_from(FOREIGN_HEADS)) + draw(st.binary(max_size=64)), *draw(mutation))


@FUZZ
@given(body=foreign_or_image_bytes(), shape=st.sampled_from([(1, 4, 4), (3, 5, 3)]))
def test_fuzz_drop_and_bytes_readers(body, shape):
    """Every reader gives an image or one sentence, and never starts a program (Ghostscript)."""
    import subprocess as sp

    from explorer.data import decode
    from explorer.data.image_file import read_image_file
    from explorer.relational.imageio import read_image

    real = sp.Popen
    sp.Popen = lambda *a, **k: (_ for _ in ()).throw(AssertionError(f"started {a[:1]}"))
    try:
        with tempfile.TemporaryDirectory() as d, time_limit(5):
            path = os.path.join(d, "drop.png")
            with open(path, "wb") as f:
                f.write(body)
            for read in (lambda: read_image_file(path, shape), lambda: read_image(path, shape)):
                try:
                    arr = read()[0]
                except DataError as err:
                    assert_sentence(err)
                    record("drop", "refused")
                else:
                    assert arr.shape == shape and arr.dtype == np.float32
                    record("drop", "read")
            try:
                out = decode.full_array(body, shape[0])
            except ValueError as err:
                assert str(err) and "\n" not in str(err)
            else:
                assert out.ndim == 3 and out.shape[0] == shape[0]
    finally:
        sp.Popen = real
