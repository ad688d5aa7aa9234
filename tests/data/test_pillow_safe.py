"""explorer.data.pillow_safe: regular files only, allowed formats only, one sentence for the rest.

The hostile files are built here: an EPS (PostScript) file named .png, FIFOs named like images,
symlinked class folders, and damaged headers of formats outside the allow-list. A fake ``gs`` on
PATH writes a marker if anything starts Ghostscript; a control test shows that plain Pillow does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest
from PIL import Image

from explorer.core.errors import DataError
from explorer.data import load_data
from explorer.data.image_file import read_image_file
from explorer.data.pillow_safe import (
    ALLOWED_FORMATS,
    ImageFileError,
    check_regular_file,
    image_extensions,
    open_image,
)
from explorer.relational.imageio import read_image as read_analogy_image

from ._make import write_png as _write_png

EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n0 0 moveto 8 8 lineto stroke\nshowpage\n%%EOF\n"


def write_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    return _write_png(path, array)


needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")


def _one_sentence(err: Exception) -> str:
    text = str(err)
    assert text and "\n" not in text and "Traceback" not in text, text
    return text


@pytest.fixture
def fake_gs(tmp_path, monkeypatch):
    """A ``gs`` first on PATH that writes a marker file when anything starts it; returns the marker."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marker = tmp_path / "GS_STARTED"
    gs = bin_dir / "gs"
    gs.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    gs.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return marker


@pytest.fixture
def no_subprocess(monkeypatch):
    """Any subprocess started in this process fails the test."""

    def refuse(*a, **k):
        raise AssertionError(f"a subprocess was started: {a[:1]}")

    monkeypatch.setattr(subprocess, "Popen", refuse)


def test_allowed_formats_are_the_documented_ones():
    assert "EPS" not in ALLOWED_FORMATS and "PNG" in ALLOWED_FORMATS and "JPEG" in ALLOWED_FORMATS
    exts = image_extensions()
    assert {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"} <= exts
    assert ".eps" not in exts and ".ps" not in exts


@pytest.mark.skipif(sys.platform == "win32", reason="shell-script fake gs")
def test_control_plain_pillow_would_start_ghostscript(tmp_path, fake_gs):
    """Without the allow-list Pillow hands the .png to its EPS plugin, which runs ``gs``: the
    marker proves the fake is reached, so its absence in the other tests means something."""
    path = tmp_path / "x.png"
    path.write_bytes(EPS)
    code = textwrap.dedent(f"""
        from PIL import Image
        try:
            Image.open({str(path)!r}).load()
        except Exception:
            pass
    """)
    subprocess.run([sys.executable, "-c", code], timeout=60, env=os.environ.copy(), check=False)
    assert fake_gs.exists()


def test_eps_named_png_is_refused_by_every_reader(tmp_path, fake_gs, no_subprocess):
    path = tmp_path / "photo.png"
    path.write_bytes(EPS)
    with pytest.raises(ImageFileError) as err, open_image(path):
        pass
    assert "PostScript" in _one_sentence(err.value)
    for read in (
        lambda: read_image_file(str(path), (1, 8, 8)),
        lambda: read_image_file(str(path)),
        lambda: read_analogy_image(str(path), (1, 8, 8)),
        lambda: load_data(str(path)),
    ):
        with pytest.raises(DataError) as err:
            read()
        _one_sentence(err.value)
    assert not fake_gs.exists()


def test_eps_in_a_folder_is_skipped_with_a_reason(tmp_path, fake_gs, no_subprocess):
    root = tmp_path / "data"
    write_png(root / "a" / "good.png", np.full((8, 8), 7, np.uint8))
    (root / "a" / "evil.png").write_bytes(EPS)
    data = load_data(str(root))
    assert data.count == 1 and len(data.skipped) == 1
    assert data.skipped[0].startswith(str(root / "a" / "evil.png")) and "PostScript" in data.skipped[0]
    assert not fake_gs.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="shell-script fake gs")
def test_cli_info_on_eps_named_png(tmp_path, fake_gs):
    path = tmp_path / "photo.png"
    path.write_bytes(EPS)
    proc = subprocess.run(
        [sys.executable, "-m", "explorer", "info", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
        check=False,
    )
    assert proc.returncode == 2 and proc.stdout == "", (proc.stdout, proc.stderr)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr and "PostScript" in lines[0], proc.stderr
    assert not fake_gs.exists()


@needs_fifo
def test_fifo_named_png_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageFileError, match="named pipe"):
        check_regular_file(fifo)
    for read in (
        lambda: read_image_file(str(fifo), (1, 8, 8)),
        lambda: read_analogy_image(str(fifo), (1, 8, 8)),
        lambda: load_data(str(fifo)),
    ):
        with pytest.raises(DataError, match="named pipe") as err:
            read()  # a blocking open would hang here (pytest's timeout is the CLI test below)
        _one_sentence(err.value)


@needs_fifo
def test_fifo_in_a_folder_is_skipped_with_a_reason(tmp_path):
    write_png(tmp_path / "good.png", np.full((8, 8), 7, np.uint8))
    os.mkfifo(tmp_path / "pipe.png")
    data = load_data(str(tmp_path))
    assert data.count == 1
    assert data.skipped == [f"{tmp_path / 'pipe.png'}: not a regular file (a named pipe (FIFO))"]


@needs_fifo
def test_cli_info_on_a_fifo_returns(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    proc = subprocess.run(
        [sys.executable, "-m", "explorer", "info", str(fifo)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "named pipe" in proc.stderr and "Traceback" not in proc.stderr


def test_swap_to_a_fifo_after_the_stat_is_caught(tmp_path, monkeypatch):
    """The fstat after the non-blocking open catches a file swapped between check and open."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    path = tmp_path / "x.png"
    write_png(path, np.zeros((4, 4), np.uint8))
    import explorer.data.pillow_safe as ps

    real = ps.check_regular_file

    def check_then_swap(p):
        st = real(p)
        os.remove(p)
        os.mkfifo(p)
        return st

    monkeypatch.setattr(ps, "check_regular_file", check_then_swap)
    with pytest.raises(ImageFileError, match="named pipe"), open_image(path):
        pass


def test_devices_and_folders_are_refused(tmp_path):
    if os.path.exists("/dev/zero"):
        with pytest.raises(ImageFileError, match="character device"):
            check_regular_file("/dev/zero")
        with pytest.raises(DataError, match="character device"):
            load_data("/dev/zero")
    with pytest.raises(ImageFileError, match="folder"):
        check_regular_file(tmp_path)
    with pytest.raises(ImageFileError, match="There is no image file"):
        check_regular_file(tmp_path / "missing.png")


@pytest.mark.parametrize(
    "name,head",
    [
        ("x.avif", b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1"),
        ("x.icns", b"icns\x00\x00\x01\x00ic07\x00\x00\x00\xff"),
        ("x.dds", b"DDS |\x00\x00\x00\x07\x10\x0a\x00\xff\xff\xff\x7f"),
        ("x.psd", b"8BPS\x00\x01\x00\x00\x00\x00\x00\x00\x00\x03"),
        ("x.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xff\xff\xff"),
    ],
)
def test_damaged_or_unsupported_drops_give_one_sentence(tmp_path, name, head):
    path = tmp_path / name
    path.write_bytes(head + bytes(range(256)) * 4)
    for read in (
        lambda: read_image_file(str(path), (3, 8, 8)),
        lambda: read_analogy_image(str(path), (1, 8, 8)),
    ):
        with pytest.raises(DataError) as err:
            read()
        _one_sentence(err.value)


def test_bomb_header_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("L", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    data[16:24] = (50_000).to_bytes(4, "big") * 2  # IHDR width, height: 2.5 Gpixels
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    path.write_bytes(bytes(data))
    with pytest.raises(ImageFileError, match="too large"), open_image(path) as im:
        im.load()


def test_symlinked_class_folder_outside_the_root_is_not_followed(tmp_path):
    root, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    write_png(root / "cats" / "a.png", np.full((8, 8), 1, np.uint8))
    write_png(root / "spare" / "c.png", np.full((8, 8), 3, np.uint8))
    write_png(elsewhere / "b.png", np.full((8, 8), 2, np.uint8))
    os.symlink(elsewhere, root / "dogs")
    os.symlink(root / "spare", root / "more")  # inside the root: followed
    data = load_data(str(root))
    assert data.class_names == ["cats", "more", "spare"]
    assert data.count == 3
    assert len(data.skipped) == 1 and str(root / "dogs") in data.skipped[0]
    assert "outside the data set; not followed" in data.skipped[0]
    assert not any("elsewhere" in p for p in data.paths)


def test_sound_images_of_every_allowed_format_still_load(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (8, 8), dtype=np.uint8)
    for ext in (".png", ".bmp", ".gif", ".tif", ".webp", ".pgm", ".jpg"):
        Image.fromarray(arr).save(tmp_path / f"im{ext}", **({"lossless": True} if ext == ".webp" else {}))
    data = load_data(str(tmp_path))
    assert data.count == 7 and data.skipped == []
    for p in data.paths:
        if not p.endswith(".jpg"):
            assert np.array_equal(data.images[data.paths.index(p), 0], arr), p


def test_file_backed_folder_and_image_bytes_use_the_allow_list(tmp_path, fake_gs, no_subprocess):
    from explorer.data import decode

    root = tmp_path / "data"
    for i in range(3):
        write_png(root / "a" / f"good{i}.png", np.full((8, 8), 7 * i, np.uint8))
    (root / "a" / "evil.png").write_bytes(EPS)
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "a" / "pipe.png")
    data = load_data(str(root), file_backed=True, working=(8, 8))
    data.float_images(slice(0, data.count))  # decodes every kept file
    assert not fake_gs.exists()
    with pytest.raises(ValueError, match="PostScript"):
        decode.full_array(EPS, 1)
    with pytest.raises(ValueError, match="PostScript"):
        decode.full_array(str(root / "a" / "evil.png"), 1)
    if hasattr(os, "mkfifo"):
        with pytest.raises(ValueError, match="named pipe"):
            decode.probe(str(root / "a" / "pipe.png"))
    png = (root / "a" / "good1.png").read_bytes()
    assert decode.full_array(png, 1).max() == pytest.approx(7 / 255)
    assert not fake_gs.exists()
