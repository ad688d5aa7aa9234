import numpy as np
import pytest
from PIL import Image

from explorer.core.errors import DataError
from explorer.data import load_data, load_data_job
from explorer.data.folder import natural_key

from ._make import class_tree, truncated_png, write_png


def test_class_tree_of_pgm_images(tmp_path):
    class_tree(tmp_path, classes=40, per_class=10, size=(12, 10))
    data = load_data(str(tmp_path))
    assert data.count == 400
    assert data.shape == (1, 12, 10)
    assert data.images.dtype == np.uint8
    assert data.format == "folder-classes"
    assert len(data.class_names) == 40
    # natural order: class2 before class10, labels follow the folder
    assert data.class_names[:3] == ["class0", "class1", "class2"]
    assert data.class_names[10] == "class10"
    assert np.bincount(data.labels).tolist() == [10] * 40
    for i in (0, 137, 399):
        folder = data.paths[i].split("/")[-2]
        assert data.class_names[data.labels[i]] == folder
        assert np.array_equal(data.images[i, 0], np.asarray(Image.open(data.paths[i])))
    assert data.facts()["classes"] == 40 and data.facts()["skipped"] == 0


def test_bad_files_are_skipped_and_counted(tmp_path):
    rng = np.random.default_rng(1)
    for i in range(5):
        write_png(tmp_path / f"good{i}.png", rng.integers(0, 256, (16, 16), dtype=np.uint8))
    truncated_png(tmp_path / "broken.png", rng)
    (tmp_path / "notes.txt").write_text("not an image")
    data = load_data(str(tmp_path))
    assert data.format == "folder-flat" and data.labels is None
    assert data.count == 5
    assert len(data.skipped) == 2
    reasons = dict(s.rsplit(": ", 1) for s in data.skipped)
    assert reasons[str(tmp_path / "broken.png")] == "truncated image file"
    assert "not an image" in reasons[str(tmp_path / "notes.txt")]


def test_a_damaged_jpeg_is_skipped_as_damaged(tmp_path):
    """A JPEG cut after its headers and padded with zeros: Pillow says "cannot load this image",
    which a skip list showed as the whole reason (polish, on a folder of broken files)."""
    import io

    rng = np.random.default_rng(3)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
    for i in range(3):
        write_png(tmp_path / f"good{i}.png", rng.integers(0, 256, (16, 16), dtype=np.uint8))
    (tmp_path / "corrupt.jpg").write_bytes(buf.getvalue()[:600] + bytes(50))
    data = load_data(str(tmp_path))
    assert data.count == 3
    reasons = dict(s.split(": ", 1) for s in data.skipped)
    assert reasons[str(tmp_path / "corrupt.jpg")] == "damaged image file (Pillow: cannot load this image)"


def test_hidden_and_undecodable_files_are_skipped(tmp_path):
    rng = np.random.default_rng(2)
    write_png(tmp_path / "a.png", rng.integers(0, 256, (8, 8), dtype=np.uint8))
    (tmp_path / ".DS_Store").write_bytes(b"\0\1\2")
    (tmp_path / "fake.jpg").write_bytes(b"this is not a jpeg")
    (tmp_path / ".hidden_dir").mkdir()
    write_png(tmp_path / ".hidden_dir" / "b.png", rng.integers(0, 256, (8, 8), dtype=np.uint8))
    data = load_data(str(tmp_path))
    assert data.count == 1
    assert sorted(s.split(": ")[1] for s in data.skipped) == ["hidden file", "not an image Pillow can read"]


def test_natural_sort_order(tmp_path):
    for i in (10, 2, 1):
        write_png(tmp_path / f"img{i}.png", np.full((4, 4), i, dtype=np.uint8))
    data = load_data(str(tmp_path))
    assert [p.rsplit("/", 1)[1] for p in data.paths] == ["img1.png", "img2.png", "img10.png"]
    assert data.images[:, 0, 0, 0].tolist() == [1, 2, 10]
    assert sorted(["b10", "b9", "a"], key=natural_key) == ["a", "b9", "b10"]


def test_mixed_sizes_and_channels_majority_colour(tmp_path):
    rng = np.random.default_rng(3)
    for i in range(3):
        write_png(tmp_path / f"rgb{i}.png", rng.integers(0, 256, (20, 24, 3), dtype=np.uint8))
    write_png(tmp_path / "grey.png", np.full((20, 24), 77, dtype=np.uint8))
    write_png(tmp_path / "wide.png", rng.integers(0, 256, (40, 96, 3), dtype=np.uint8))
    Image.fromarray(rng.integers(0, 256, (20, 24, 4), dtype=np.uint8)).save(tmp_path / "rgba.png")
    data = load_data(str(tmp_path))
    assert data.shape == (3, 20, 24) and data.count == 6
    grey = data.images[data.paths.index(str(tmp_path / "grey.png"))]
    assert (grey == 77).all()  # repeated to three equal channels
    assert any("1 greyscale image repeated to RGB" in n for n in data.notes)
    assert any("1 image resized to 20x24" in n and "centre-cropped" in n for n in data.notes)


def test_mixed_channels_majority_grey_uses_luma(tmp_path):
    for i in range(3):
        write_png(tmp_path / f"g{i}.png", np.full((10, 10), 10 * i, dtype=np.uint8))
    rgb = np.zeros((10, 10, 3), dtype=np.uint8)
    rgb[..., 0] = 200  # pure red -> luma 0.299 * 200
    write_png(tmp_path / "red.png", rgb)
    grey_rgb = np.full((10, 10, 3), 55, dtype=np.uint8)  # equal channels: counts as greyscale
    write_png(tmp_path / "greyrgb.png", grey_rgb)
    data = load_data(str(tmp_path))
    assert data.shape == (1, 10, 10)
    red = data.images[data.paths.index(str(tmp_path / "red.png")), 0]
    assert (red == 60).all()
    assert (data.images[data.paths.index(str(tmp_path / "greyrgb.png")), 0] == 55).all()
    assert data.notes == ["1 colour image converted to greyscale to match the majority."]


def test_resize_keeps_aspect_by_centre_crop(tmp_path):
    for i in range(2):
        write_png(tmp_path / f"s{i}.png", np.zeros((8, 8), dtype=np.uint8))
    wide = np.zeros((8, 24), dtype=np.uint8)
    wide[:, 8:16] = 255  # the centre third is white: after a centre crop the image is all white
    write_png(tmp_path / "wide.png", wide)
    data = load_data(str(tmp_path))
    out = data.images[data.paths.index(str(tmp_path / "wide.png")), 0]
    assert out.shape == (8, 8) and out.min() >= 250


def test_other_formats_and_modes(tmp_path):
    rng = np.random.default_rng(4)
    base = rng.integers(0, 256, (16, 16), dtype=np.uint8)
    Image.fromarray(base).save(tmp_path / "a.bmp")
    Image.fromarray(base).save(tmp_path / "b.tiff")
    Image.fromarray(base.astype(np.uint16) * 257).save(tmp_path / "c16.png")
    Image.fromarray(base).convert("P").save(tmp_path / "d.gif")
    Image.fromarray(base).save(tmp_path / "e.jpg", quality=95)
    data = load_data(str(tmp_path))
    assert data.count == 5 and data.shape == (1, 16, 16) and not data.skipped
    for name in ("a.bmp", "b.tiff", "c16.png", "d.gif"):
        assert np.array_equal(data.images[data.paths.index(str(tmp_path / name)), 0], base), name
    jpg = data.images[data.paths.index(str(tmp_path / "e.jpg")), 0].astype(int)
    assert np.abs(jpg - base).mean() < 12


def test_loose_files_beside_class_folders_are_skipped(tmp_path):
    class_tree(tmp_path, classes=2, per_class=3, ext=".png")
    write_png(tmp_path / "stray.png", np.zeros((12, 10), dtype=np.uint8))
    (tmp_path / "empty_class").mkdir()
    data = load_data(str(tmp_path))
    assert data.count == 6 and data.class_names == ["class0", "class1"]
    assert data.skipped == [f"{tmp_path / 'stray.png'}: outside any class folder"]


def test_progress_counts_files(tmp_path):
    class_tree(tmp_path, classes=3, per_class=100, ext=".png")
    gen = load_data_job(str(tmp_path))
    records = []
    while True:
        try:
            records.append(next(gen))
        except StopIteration as stop:
            data = stop.value
            break
    reading = [r for r in records if r.message == "reading images"]
    assert reading[0].step == 0 and reading[-1].step == 300 and reading[-1].total == 300
    assert [r.step for r in reading] == sorted(r.step for r in reading)
    assert data.count == 300


def test_empty_or_unreadable_folders_raise_one_sentence(tmp_path):
    with pytest.raises(DataError, match=r"No images found in .*: the folder is empty"):
        load_data(str(tmp_path))
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(DataError, match=r"No images found in .*1 files could not be read"):
        load_data(str(tmp_path))


def test_missing_path(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_data(str(tmp_path / "nope"))


def test_single_image_file(tmp_path):
    p = write_png(tmp_path / "one.png", np.arange(12, dtype=np.uint8).reshape(3, 4))
    data = load_data(str(p))
    assert data.count == 1 and data.shape == (1, 3, 4) and data.format == "image"
    with pytest.raises(DataError, match="is not a data set explorer can read"):
        load_data(str((tmp_path / "x.bin").write_bytes(b"junk") and tmp_path / "x.bin"))


def test_damaged_tiff_warnings_do_not_escape(tmp_path):
    # a TIFF cut inside its tag table: Pillow warns "Corrupt EXIF data" and then fails to decode
    import io

    buf = io.BytesIO()
    Image.fromarray(np.arange(81, dtype=np.uint8).reshape(9, 9)).save(buf, "TIFF")
    (tmp_path / "cut.tif").write_bytes(buf.getvalue()[:121])
    write_png(tmp_path / "ok.png", np.zeros((9, 9), dtype=np.uint8))
    data = load_data(str(tmp_path))  # filterwarnings=error would turn a leaked warning into a failure
    assert (
        data.count == 1 and len(data.skipped) == 1 and data.skipped[0].startswith(str(tmp_path / "cut.tif"))
    )


def test_folder_of_data_files_suggests_opening_them(tmp_path):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b")
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b")
    with pytest.raises(DataError, match="open train-images-idx3-ubyte.gz instead"):
        load_data(str(tmp_path))
