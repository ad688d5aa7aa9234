"""File-backed data sets: renditions cached by path/size/mtime, bad files listed, corrupt caches rebuilt."""

import os
import time

import numpy as np
import pytest
from PIL import Image

from explorer.core.progress import run_to_end
from explorer.data import load_data


def photos(root, sizes=((64, 48), (40, 60), (50, 50)), per_class=4, classes=2, seed=0):
    """Colour JPEGs and PNGs of mixed sizes in class folders; returns the folder."""
    rng = np.random.default_rng(seed)
    for c in range(classes):
        d = root / f"c{c}"
        d.mkdir(parents=True)
        for i in range(per_class):
            w, h = sizes[i % len(sizes)]
            arr = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            arr[..., c] = 255  # class colour
            ext = ".jpg" if i % 2 == 0 else ".png"
            Image.fromarray(arr).save(d / f"img{i}{ext}", quality=95)
    return root


def test_folder_opens_file_backed_with_working_resolution(tmp_path):
    folder = photos(tmp_path / "p")
    data = load_data(str(folder), file_backed=True, working=(16, 16))
    assert data.file_backed and data.count == 8 and data.shape == (3, 16, 16)
    assert data.labels.tolist() == [0] * 4 + [1] * 4
    x = data.float_images(slice(0, 8))
    assert x.shape == (8, 3, 16, 16) and x.dtype == np.float32
    # the class colour channel is saturated in the working rendition too
    assert x[:4, 0].mean() > 0.9 and x[4:, 1].mean() > 0.9
    thumbs = data.thumbnails(np.array([0, 5]))
    assert thumbs.shape == (2, 3, 96, 96) and thumbs.dtype == np.uint8
    sub = data.subset(np.array([5, 6]))
    assert sub.count == 2 and np.array_equal(sub.images[0], data.images[5])
    assert data.original(0).shape == (3, 48, 64)


def test_renditions_are_reused_and_an_edited_file_is_redone(tmp_path):
    folder = photos(tmp_path / "p")
    data = load_data(str(folder), file_backed=True, working=(8, 8))
    run_to_end(data.source.build_job())
    assert data.source.ready().all()
    before = data.images[slice(None)].copy()
    again = load_data(str(folder), file_backed=True, working=(8, 8))
    assert again.source.ready().all()  # nothing to decode on reopening
    assert np.array_equal(again.images[slice(None)], before)
    # edit one file: only that row is redone
    target = folder / "c0" / "img0.jpg"
    Image.fromarray(np.zeros((48, 64, 3), np.uint8)).save(target)
    os.utime(target, (time.time() + 5, time.time() + 5))
    edited = load_data(str(folder), file_backed=True, working=(8, 8))
    assert edited.source.ready().tolist() == [False] + [True] * 7
    assert edited.images[0].max() == 0 and before[0].max() > 0
    assert np.array_equal(edited.images[slice(1, 8)], before[1:])


def test_unreadable_files_are_listed_not_fatal(tmp_path):
    folder = photos(tmp_path / "p")
    (folder / "c1" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "c1" / "notes.txt").write_text("hello")
    data = load_data(str(folder), file_backed=True)
    assert any("notes.txt" in s for s in data.skipped)
    run_to_end(data.source.build_job())
    assert any("broken.jpg" in s for s in data.skipped)
    i = data.paths.index(str(folder / "c1" / "broken.jpg"))
    assert data.images[i].max() == 0  # a blank row, its label kept
    # found again on the next open, without decoding
    assert any("broken.jpg" in s for s in load_data(str(folder), file_backed=True).skipped)


def test_corrupt_cache_is_rebuilt_not_trusted(tmp_path):
    folder = photos(tmp_path / "p")
    data = load_data(str(folder), file_backed=True, working=(8, 8))
    run_to_end(data.source.build_job())
    good = data.images[slice(None)].copy()
    cache = data.source.cache.work.path
    with open(cache, "r+b") as f:  # cut the file short
        f.truncate(os.path.getsize(cache) // 2)
    fresh = load_data(str(folder), file_backed=True, working=(8, 8))
    assert "unreadable" in fresh.source.cache.work.rebuilt_reason
    assert not fresh.source.ready().any()
    assert np.array_equal(fresh.images[slice(None)], good)
    # garbage in the JSON beside it
    with open(os.path.join(os.path.dirname(cache), "working-8x8.json"), "w") as f:
        f.write("{not json")
    assert np.array_equal(load_data(str(folder), file_backed=True, working=(8, 8)).images[slice(None)], good)


def test_big_folders_open_file_backed_by_themselves(tmp_path, monkeypatch):
    from explorer.data import folder as folder_mod

    folder = photos(tmp_path / "p")
    assert not load_data(str(folder)).file_backed  # small: in memory, as before
    monkeypatch.setattr(folder_mod, "IN_MEMORY_BYTES", 1000)
    assert load_data(str(folder)).file_backed


def test_encoder_input_follows_the_spec(tmp_path):
    from explorer.core.preprocess import InputSpec, preset

    folder = photos(tmp_path / "p", sizes=((64, 32),), per_class=2)
    data = load_data(str(folder), file_backed=True)
    x = data.encoder_input(slice(0, 2), preset("imagenet", (3, 24, 24)))
    assert x.shape == (2, 3, 24, 24) and 0 <= x.min() and x.max() <= 1
    grey = data.encoder_input(np.array([3]), InputSpec(1, 10, 20, resize="stretch"))
    assert grey.shape == (1, 1, 10, 20)
    # the in-memory path gives the same geometry
    mem = load_data(str(folder), file_backed=False)
    y = mem.encoder_input(slice(0, 2), preset("plain", (3, 16, 16)))
    z = data.encoder_input(slice(0, 2), preset("plain", (3, 16, 16)))
    assert y.shape == z.shape == (2, 3, 16, 16)
    assert np.abs(y - z).mean() < 0.2  # different resamplers, the same picture


def test_working_size_from_the_environment(tmp_path, monkeypatch):
    from explorer.core.errors import DataError

    folder = photos(tmp_path / "p")
    monkeypatch.setenv("EXPLORER_WORKING_SIZE", "12x20")
    assert load_data(str(folder), file_backed=True).shape == (3, 12, 20)
    monkeypatch.setenv("EXPLORER_WORKING_SIZE", "big")
    with pytest.raises(DataError, match="EXPLORER_WORKING_SIZE"):
        load_data(str(folder), file_backed=True)
