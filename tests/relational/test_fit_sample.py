"""The relational view's data fit on a set larger than it takes (polish27): it took a folder's first
4,000 items, so a folder of classes or of sequences gave the view its first classes or sequences
only. Now a seeded sample spread over them, a sequence's frames a run of consecutive ones."""

import os

import numpy as np
import pytest

from explorer.core.progress import run_to_end
from explorer.relational.imageio import fit_dataset_job


def _names(part):
    """{sub-folder: sorted frame numbers} of a fitted part's paths (frame_TT.png / img_TTT.png)."""
    out = {}
    for p in part.paths:
        sub, name = os.path.split(str(p))
        out.setdefault(os.path.basename(sub), []).append(int(name.split("_")[1].split(".")[0]))
    return {k: sorted(v) for k, v in out.items()}


@pytest.fixture(scope="module")
def turning(tmp_path_factory):
    """12 turning objects of 20 frames, 16x16."""
    from explorer.data import load_data
    from explorer.data.sequences import render_sequences, write_sequence_folder

    folder = tmp_path_factory.mktemp("turning")
    seqs, _ = render_sequences(12, np.random.default_rng(0), 20, 16, motion="turn")
    write_sequence_folder(str(folder), seqs, prefix="obj")
    return load_data(str(folder))


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    """10 class folders of 20 noise pictures, 10x10."""
    from PIL import Image

    from explorer.data import load_data

    folder = tmp_path_factory.mktemp("classes")
    rng = np.random.default_rng(1)
    for c in range(10):
        (folder / f"c{c}").mkdir()
        for i in range(20):
            Image.fromarray((rng.random((10, 10)) * 255).astype(np.uint8)).save(
                folder / f"c{c}" / f"img_{i:03d}.png"
            )
    return load_data(str(folder))


def test_a_sample_of_sequences_is_runs_of_consecutive_frames_from_all_of_them(turning):
    part, sentence = run_to_end(fit_dataset_job(turning, (1, 8, 8), max_items=96))
    runs = _names(part)
    assert part.count == 96 and part.images.shape == (96, 1, 8, 8)
    assert len(runs) == 12  # the first 96 items were the first 5 objects (4.8 of them)
    for frames in runs.values():
        assert len(frames) == 8 and frames == list(range(frames[0], frames[0] + 8))  # one run each
    assert len({frames[0] for frames in runs.values()}) > 1  # seeded starts, not all at frame 0
    assert "96 of its 240 items from 12 sequences" in sentence
    again, _ = run_to_end(fit_dataset_job(turning, (1, 8, 8), max_items=96))
    other, _ = run_to_end(fit_dataset_job(turning, (1, 8, 8), max_items=96, seed=1))
    assert again.paths == part.paths and other.paths != part.paths


def test_fewer_items_than_runs_of_every_sequence_take_whole_runs_of_some(turning):
    part, sentence = run_to_end(fit_dataset_job(turning, (1, 8, 8), max_items=40))
    runs = _names(part)
    assert len(runs) == 5 and all(len(f) == 8 and f[-1] - f[0] == 7 for f in runs.values())
    assert sorted(runs) != [f"obj_{s:03d}" for s in range(5)]  # a seeded choice, not the first five


def test_a_sample_of_classes_spreads_evenly_over_all_classes(classes):
    part, sentence = run_to_end(fit_dataset_job(classes, (1, 8, 8), max_items=55))
    per_class = np.bincount(part.labels, minlength=10)
    assert part.count == 55 and sorted(per_class) == [5] * 5 + [6] * 5
    assert list(part.class_names) == list(classes.class_names)
    assert "55 of its 200 items from 10 classes" in sentence
    picked = _names(part)["c0"]
    assert picked != list(range(len(picked)))  # drawn from the class, not its first files
