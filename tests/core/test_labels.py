"""Edited labels: applied at once, saved beside the data (or in the config folder), back on reopen."""

import json
import os

import numpy as np

from explorer.core.imageset import ImageSet
from explorer.core.labels import labels_path
from explorer.core.workspace import Workspace


def _data(n=6):
    return ImageSet(
        np.zeros((n, 1, 2, 2), np.uint8),
        labels=np.array([0, 0, 1, 1, 2, 2][:n]),
        class_names=["a", "b", "c"],
        paths=[f"x.npz#{i}" for i in range(n)],
    )


def test_edits_apply_emit_and_survive_reopening(tmp_path):
    spec = str(tmp_path / "x.npz")
    open(spec, "wb").close()
    ws = Workspace()
    seen = []
    ws.events.connect("labels", lambda indices: seen.append(indices.tolist()))
    original = _data()
    ws.set_dataset(original, spec=spec)
    loader_labels = original.labels
    ws.set_labels([1], ["c"])
    ws.set_labels([3], ["new class"])
    ws.mark_labels_correct([4])
    assert ws.dataset.labels.tolist() == [0, 2, 1, 3, 2, 2] and ws.dataset.class_names[-1] == "new class"
    assert loader_labels.tolist() == [0, 0, 1, 1, 2, 2]  # the loader's array is not written into
    assert seen == [[1], [3], [4]]
    saved = json.loads((tmp_path / "x.npz.labels.json").read_text())
    assert saved["labels"] == {"1": "c", "3": "new class"} and saved["correct"] == ["4"]
    ws2 = Workspace()
    ws2.set_dataset(_data(), spec=spec)
    assert ws2.dataset.labels.tolist() == [0, 2, 1, 3, 2, 2]
    assert ws2.dataset.class_names == ["a", "b", "c", "new class"]
    assert ws2.labels_reviewed().tolist() == [1, 3, 4]


def test_bundled_sets_keep_their_edits_in_the_config_folder():
    path = labels_path("sample:digits")
    assert path.startswith(os.environ["EXPLORER_CONFIG_DIR"]) and path.endswith(".labels.json")
    assert labels_path("sample:mnist") != path


def test_without_a_spec_edits_apply_but_are_not_saved(tmp_path):
    ws = Workspace()
    ws.set_dataset(_data())
    ws.set_labels([0, 1], ["b", "b"])
    assert ws.dataset.labels.tolist()[:2] == [1, 1] and ws.label_edits is None


def test_a_broken_labels_file_is_ignored(tmp_path):
    spec = str(tmp_path / "y.npz")
    open(spec, "wb").close()
    (tmp_path / "y.npz.labels.json").write_text("{not json")
    ws = Workspace()
    ws.set_dataset(_data(), spec=spec)
    assert ws.dataset.labels.tolist() == [0, 0, 1, 1, 2, 2]
