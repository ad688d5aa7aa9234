"""The collection bench rows run end to end on a tiny generated folder (children and all)."""

import os

from explorer.bench import collection_rows
from explorer.bench.photos import photo_folder
from explorer.bench.plan import TINY


def test_photo_folder_is_made_once_in_class_folders():
    folder = photo_folder(20, seed=3)
    names = sorted(os.listdir(folder))
    assert names == [f"class_{k:02d}" for k in range(10)]
    assert sum(len(os.listdir(os.path.join(folder, n))) for n in names) == 20
    mtime = os.path.getmtime(folder)
    assert photo_folder(20, seed=3) == folder and os.path.getmtime(folder) == mtime


def test_info_rows_on_a_tiny_folder(monkeypatch):
    monkeypatch.setattr(collection_rows, "_folder", lambda plan: photo_folder(20, seed=3))
    seconds, memory = collection_rows.info_rows(TINY)
    assert seconds.ours > 0 and seconds.reference > 0 and "count 20" in seconds.note
    assert 0 < memory.ours < 2000 and memory.met
