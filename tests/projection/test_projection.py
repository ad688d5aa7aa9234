"""Projection engine: PCA matches scikit-learn, t-SNE forms in ordered steps, alignment, faithfulness."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core.errors import ExplorerError
from explorer.projection import (
    align_to,
    faithfulness,
    knn_label_accuracy,
    live_frame_job,
    pca_layout,
    project_job,
)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return x.astype(np.float32) / 16.0, y


def test_project_command_pca_matches_sklearn(tmp_path, digits, capsys):
    from sklearn.decomposition import PCA

    from explorer.cli import main

    codes = tmp_path / "codes.npy"
    out = tmp_path / "xy.npy"
    np.save(codes, digits[0])
    assert main(["project", "--codes", str(codes), "--method", "pca", "--out", str(out)]) == 0
    got = np.load(out)
    want = PCA(n_components=2).fit_transform(digits[0])
    assert got.shape == (1797, 2) and got.dtype == np.float32
    for j in range(2):  # equal up to the sign of each axis
        sign = np.sign(got[:, j] @ want[:, j])
        np.testing.assert_allclose(sign * got[:, j], want[:, j], atol=1e-4)
    assert '"count": 1797' in capsys.readouterr().out
    assert not list(tmp_path.glob(".xy*"))  # no temp file left behind


def test_project_command_rejects_bad_input(tmp_path, capsys):
    from explorer.cli import main

    assert main(["project", "--codes", str(tmp_path / "none.npy"), "--method", "pca", "--out", "x.npy"]) == 2
    assert "No such file" in capsys.readouterr().err
    with pytest.raises(ExplorerError):
        next(project_job(np.zeros((5, 2, 2)), "pca"))
    with pytest.raises(ExplorerError):
        next(project_job(np.zeros((5, 2)), "mds"))


def test_tsne_streams_ordered_layouts_and_separates_digits(digits):
    x, y = digits[0][:600], digits[1][:600]
    gen = project_job(x, "tsne", seed=0, early_iter=100, n_iter=150, chunk=25)
    steps, layouts = [], []
    while True:
        try:
            rec = next(gen)
        except StopIteration as stop:
            final = stop.value
            break
        if rec.payload is not None:
            steps.append(rec.step)
            layouts.append(rec.payload)
    assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == 250
    assert len(layouts) == 2 + 250 // 25  # the start, one per 25 iterations, the final layout
    assert all(lay.shape == (600, 2) and lay.dtype == np.float32 for lay in layouts)
    assert layouts[0] is not layouts[-1] and not np.shares_memory(layouts[-1], final)
    assert final.shape == (600, 2)
    assert knn_label_accuracy(final, y) > 0.95  # pixels of digits separate well in t-SNE
    # the picture spreads out as it forms
    assert np.std(layouts[-1]) > 10 * np.std(layouts[0])


def test_closing_a_job_stops_it(digits):
    gen = project_job(digits[0][:300], "tsne", early_iter=50, n_iter=50, chunk=10)
    next(gen)
    next(gen)
    gen.close()  # the worker cancels this way; no error, no further steps
    with pytest.raises(StopIteration):
        next(gen)


def test_align_to_undoes_rotation_reflection_scale_and_shift():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(200, 2)).astype(np.float32)
    theta = 1.1
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    moved = (ref @ rot) * np.array([1, -1]) * 3.0 + np.array([5.0, -2.0])
    np.testing.assert_allclose(align_to(moved, ref), ref, atol=1e-4)


def test_live_pca_frames_are_aligned_with_the_previous_frame(digits):
    x = digits[0][:400]
    first = pca_layout(x)
    flipped = -x  # the same structure; PCA of it comes out mirrored
    gen = live_frame_job(flipped, "pca", previous=first)
    recs = list(_drain(gen))
    np.testing.assert_allclose(recs[-1], first, atol=1e-3)


def _drain(gen):
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            yield stop.value
            return


def test_faithfulness_is_one_for_an_exact_layout_and_lower_for_a_shuffle():
    rng = np.random.default_rng(1)
    codes = rng.normal(size=(300, 2)).astype(np.float32)
    mean, per_point = faithfulness(codes, codes * 3.0)
    assert mean == pytest.approx(1.0) and per_point.shape == (300,) and per_point.min() == 1.0
    shuffled, _ = faithfulness(codes, codes[rng.permutation(300)])
    assert shuffled < 0.1
    # large sets are measured on a subset; the rest is NaN
    mean_sub, per_sub = faithfulness(codes, codes, max_points=100)
    assert np.isfinite(per_sub).sum() == 100 and mean_sub == pytest.approx(1.0)


def test_umap_streams_spectral_start_then_final(digits):
    x, y = digits[0][:500], digits[1][:500]
    gen = project_job(x, "umap", seed=0, n_epochs=60, every=20)
    messages, layouts = [], []
    while True:
        try:
            rec = next(gen)
        except StopIteration as stop:
            final = stop.value
            break
        if rec.payload is not None:
            messages.append(rec.message)
            layouts.append(rec.payload)
    assert messages[0] == "UMAP: PCA preview" and messages[-1] == "UMAP: done"
    assert messages.count("UMAP: optimising") == 3  # epochs 0, 20, 40
    assert final.shape == (500, 2) and np.isfinite(final).all()
    np.testing.assert_array_equal(layouts[-1], final)
    assert knn_label_accuracy(final, y) > 0.9


def test_live_tsne_frame_warm_starts_from_the_previous_layout(digits):
    x = digits[0][:250]
    rng = np.random.default_rng(0)
    previous = rng.normal(scale=20.0, size=(250, 2)).astype(np.float32)
    gen = live_frame_job(x, "tsne", previous=previous, seed=0)
    first = next(gen)
    while first.payload is None:
        first = next(gen)
    np.testing.assert_allclose(first.payload, previous, atol=1e-4)  # starts where the last frame ended
    final = list(_drain(gen))[-1]
    assert final.shape == (250, 2)
    # a short run (100 iterations) keeps the arrangement: positions stay correlated with the start
    assert np.corrcoef(final[:, 0], previous[:, 0])[0, 1] > 0.5


def test_umap_warm_up_and_cache_dir(tmp_path, monkeypatch):
    import numba

    from explorer.projection import umap_layout

    assert umap_layout.warm_up(n=120) > 0
    # a read-only package dir sends numba's cache to a per-user dir
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)
    monkeypatch.setattr(umap_layout.os, "access", lambda path, mode: False)
    path = umap_layout.ensure_numba_cache_dir()
    assert path == str(tmp_path / "relate-explorer" / "numba") and (tmp_path / "relate-explorer").is_dir()
    assert umap_layout.os.environ["NUMBA_CACHE_DIR"] == path and numba.config.CACHE_DIR == path
