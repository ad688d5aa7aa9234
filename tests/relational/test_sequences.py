"""Rendered sequence folders -> pairs of consecutive frames -> quadruples across unseen objects."""

import numpy as np

from explorer.data.sequences import cross_object_quadruples, render_sequences, write_sequence_folder
from explorer.data.pairs import as_pair_set


def test_rendered_folder_loads_as_consecutive_frame_pairs(tmp_path):
    from explorer.data import load_data

    frames, motions = render_sequences(3, np.random.default_rng(0), frames=11, size=12, motion="turn")
    assert frames.shape == (3, 11, 12, 12) and 0 <= frames.min() and frames.max() <= 1
    assert np.all(motions["vx"] == 0) and set(np.abs(motions["omega"])) <= {12.0, 24.0}
    write_sequence_folder(str(tmp_path), frames)
    data = load_data(str(tmp_path))
    pairs = as_pair_set(data)
    assert pairs.count == 3 * 10
    # frame_10 follows frame_09, not frame_1: the natural order of file names
    got = np.sort(pairs.images.reshape(30, -1), axis=0)
    want = np.sort((np.clip(frames[:, :-1], 0, 1) * 255 + 0.5).astype(np.uint8).reshape(30, -1), axis=0)
    assert np.array_equal(got, want)
    want_y = np.sort((np.clip(frames[:, 1:], 0, 1) * 255 + 0.5).astype(np.uint8).reshape(30, -1), axis=0)
    assert np.array_equal(np.sort(pairs.partners.reshape(30, -1), axis=0), want_y)


def test_cross_object_quadruples_share_the_motion_not_the_object():
    x, y, x2, y2 = cross_object_quadruples(
        5, np.random.default_rng(1), frames=4, size=12, kinds=("glyph",), motion="turn"
    )
    assert x.shape == (5, 1, 12, 12)
    assert not np.allclose(x, x2)  # different objects
    assert np.all(np.abs(x - y).reshape(5, -1).max(1) > 0.05)  # they moved


def test_sequence_transfer_job_runs_end_to_end_on_a_tiny_folder(tmp_path):
    from explorer.core.progress import run_to_end
    from explorer.relational.defaults import sequence_transfer_job

    out = run_to_end(
        sequence_transfer_job(str(tmp_path), sequences=6, frames=4, size=8, epochs=1, test_count=8)
    )
    assert out["train_pairs"] == 6 * 3
    for key in ("unseen_glyphs", "new_polygons_ellipses"):
        assert np.isfinite(out[key]["nmse"]) and out[key]["nmse_copy"] > 0
    assert (tmp_path / "gae_turning.safetensors").is_file()
