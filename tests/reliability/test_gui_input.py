"""Bad files dropped on the views: the functions the views call on a drop give a DataError sentence
(shown in a message) or a sensible resize, never a crash, a freeze or a decompression bomb."""

from __future__ import annotations

import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from explorer.core.errors import ExplorerError

from ._fuzz import assert_sentence
from ._limits import peak_memory, time_limit

pytestmark = pytest.mark.gui  # the functions under test live in the view modules


def _retrieval(path, shape):
    from explorer.ui.views.retrieval import load_query_image

    return load_query_image(str(path), shape)


def _verification(path, shape):
    from explorer.ui.views.verification import load_pair_image

    return load_pair_image(str(path), shape)


def _relational(path, shape):
    from explorer.relational.imageio import read_image

    image, original = read_image(str(path), shape)
    return image, "" if original is None else f"resized from {original}"


def _import_all() -> None:
    """Import the views' modules before memory is measured (Qt and pyqtgraph are large)."""
    import explorer.relational.imageio
    import explorer.ui.views.retrieval
    import explorer.ui.views.verification  # noqa: F401


LOADERS = {"retrieval": _retrieval, "verification": _verification, "relational": _relational}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_claiming(width: int, height: int, idat: bytes | None = None) -> bytes:
    """An 8-bit grey PNG that claims width x height; its data are ``idat`` (default: a few zeros,
    so decoding it fails as truncated) - enough for Pillow to open it and run its bomb check."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(bytes(1000)) if idat is None else idat
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


_BOMB: dict = {}


def _real_bomb() -> bytes:
    """A sound 10000 x 10000 grey PNG of zeros: 100 MB of pixels in a ~100 KB file."""
    if "png" not in _BOMB:
        comp = zlib.compressobj(9)
        row = bytes(10_001)  # filter byte + 10000 pixels
        body = b"".join(comp.compress(row * 1000) for _ in range(10)) + comp.flush()
        _BOMB["png"] = _png_claiming(10_000, 10_000, body)
    return _BOMB["png"]


def _bad_inputs(tmp_path) -> dict:
    png = tmp_path / "ok.png"
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(png)
    cases = {
        "text file": b"hello, not an image\n",
        "random bytes": bytes(range(256)) * 3,
        "empty file": b"",
        "truncated PNG": png.read_bytes()[:40],
        "PNG claiming 20000x20000": _png_claiming(20_000, 20_000),
        "PNG claiming 10000x10000 (bomb warning band)": _png_claiming(10_000, 10_000),
        "PNG claiming 65535x65535": _png_claiming(65_535, 65_535),
        "real 10000x10000 PNG bomb (100 KB file)": _real_bomb(),
        "PNG claiming 0x0": _png_claiming(0, 0),
        "model file": b"PK\x03\x04" + bytes(60),
    }
    paths = {}
    for name, data in cases.items():
        p = tmp_path / (name.replace(" ", "_") + ".png")
        p.write_bytes(data)
        paths[name] = p
    (tmp_path / "folder of images").mkdir()
    paths["a folder"] = tmp_path / "folder of images"
    paths["missing file"] = tmp_path / "missing.png"
    return paths


@pytest.mark.parametrize("view", list(LOADERS))
def test_bad_drops_give_a_sentence(tmp_path, view):
    _import_all()
    failures = {}
    for what, path in _bad_inputs(tmp_path).items():
        # as in the app: Pillow's DecompressionBombWarning is only a warning there (pytest makes it
        # an error), so a loader must refuse huge images itself
        with peak_memory(trace=False) as peak, time_limit(10), warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            try:
                LOADERS[view](path, (1, 8, 8))
                failures[what] = "accepted"
            except ExplorerError as err:
                assert_sentence(err)
            except Exception as err:  # what we look for
                failures[what] = f"{type(err).__name__}: {err}"
        if peak.rss_growth > 60_000_000:
            failures[what] = f"decoded it: the process grew by {peak.rss_growth / 1e6:.0f} MB"
    assert failures == {}


@pytest.mark.parametrize("view", list(LOADERS))
@pytest.mark.parametrize(
    "size, mode",
    [
        ((28, 28), "RGB"),
        ((3, 200), "L"),
        ((640, 480), "RGBA"),
        ((1, 1), "P"),
        ((9, 7), "I;16"),
        ((8, 8), "CMYK"),
    ],
)
def test_other_sizes_and_modes_are_resized_with_a_note(tmp_path, view, size, mode):
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).convert(mode)
    path = tmp_path / ("x.tif" if mode == "CMYK" else "x.png")
    img.save(path)
    for shape in [(1, 8, 8), (3, 16, 12)]:
        with time_limit(10):
            image, note = LOADERS[view](path, shape)
        assert image.shape == shape and image.dtype == np.float32
        assert np.isfinite(image).all() and 0 <= image.min() and image.max() <= 1
        if size != (shape[2], shape[1]):
            assert note, "a resize must be reported"


@pytest.mark.slow
@pytest.mark.parametrize("view", list(LOADERS))
def test_a_real_large_image_is_resized_in_bounded_time(tmp_path, view):
    """A real 6000x4000 JPEG (24 Mpixel, under the bomb limit) becomes an 8x8 query in seconds."""
    path = tmp_path / "photo.jpg"
    if not path.exists():
        grad = np.linspace(0, 255, 6000, dtype=np.uint8)[None, :].repeat(4000, 0)
        Image.fromarray(grad).save(path, quality=50)
    with time_limit(20):
        image, note = LOADERS[view](path, (1, 8, 8))
    assert image.shape == (1, 8, 8) and note
    assert image[0, 4, 0] < image[0, 4, 7]  # the gradient survives the resize
