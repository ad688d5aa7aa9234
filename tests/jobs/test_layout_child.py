"""t-SNE and UMAP in the layout process: same layout as in-process, frames stream, cancel is quick."""

from __future__ import annotations

import time

import numpy as np
import pytest

from explorer.core.errors import ExplorerError
from explorer.core.progress import run_to_end
from explorer.jobs import layout_child
from explorer.jobs.layout_child import child_layout_job


@pytest.fixture
def codes():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=6.0, size=(3, 8))
    return (centres[np.arange(150) % 3] + rng.normal(size=(150, 8))).astype(np.float32)


@pytest.fixture(autouse=True, scope="module")
def in_child():
    """Layout processes on for these tests; the pool's children serve them all, then stop."""
    before = layout_child.os.environ.get("EXPLORER_LAYOUT_CHILD")
    layout_child.os.environ["EXPLORER_LAYOUT_CHILD"] = "1"
    yield
    layout_child.os.environ["EXPLORER_LAYOUT_CHILD"] = before or "0"
    layout_child._close_all()


def test_umap_in_the_child_is_the_in_process_layout_and_streams_frames(codes):
    from explorer.projection import faithfulness, project

    params = {"n_neighbors": 10, "n_epochs": 40, "every": 5}
    gen = child_layout_job(codes, "umap", seed=3, params=params)
    frames = []
    while True:
        try:
            rec = next(gen)
        except StopIteration as stop:
            layout, mean, per_point = stop.value
            break
        if rec.payload is not None:
            frames.append(rec.payload)
    assert layout.shape == (150, 2) and layout.dtype == np.float32
    assert len(frames) >= 2  # the PCA preview, then partial layouts
    assert all(f.shape == (150, 2) for f in frames)
    here = project(codes, "umap", seed=3, **params)
    np.testing.assert_allclose(layout, here, rtol=1e-4, atol=1e-4)
    want_mean, want_per_point = faithfulness(codes, here)
    assert mean == pytest.approx(want_mean, abs=1e-6)
    np.testing.assert_allclose(per_point, want_per_point, atol=1e-6)
    again = run_to_end(child_layout_job(codes, "umap", seed=3, params=params))[0]
    np.testing.assert_array_equal(again, layout)  # seeded: runs repeat


def test_tsne_in_the_child_matches_in_process(codes):
    from explorer.projection import project

    params = {"perplexity": 10.0, "early_iter": 30, "n_iter": 30, "n_jobs": 1}
    layout, mean, _ = run_to_end(child_layout_job(codes, "tsne", seed=1, params=params))
    np.testing.assert_allclose(layout, project(codes, "tsne", seed=1, **params), rtol=1e-3, atol=1e-3)
    assert 0.0 < mean <= 1.0


def test_live_frame_in_the_child_continues_the_previous_layout(codes):
    previous = np.random.default_rng(1).normal(size=(150, 2)).astype(np.float32)
    params = {"n_neighbors": 10, "n_epochs": 20}
    layout, _, _ = run_to_end(child_layout_job(codes, "umap", 0, params, previous=previous, live=True))
    from explorer.projection import live_frame_job

    here = run_to_end(live_frame_job(codes, "umap", previous=previous, seed=0, **params))
    np.testing.assert_allclose(layout, here, rtol=1e-4, atol=1e-4)


def test_closing_the_job_cancels_it_in_the_child_within_a_second(codes):
    big = np.random.default_rng(2).normal(size=(3000, 16)).astype(np.float32)
    gen = child_layout_job(big, "umap", seed=0, params={"n_epochs": 5000})
    for rec in gen:
        if rec.payload is not None and rec.step > 0:  # the optimisation is under way
            break
    t0 = time.perf_counter()
    gen.close()
    assert time.perf_counter() - t0 < 1.5
    assert any(c.alive() for c in layout_child._idle)  # kept for the next one
    # the kept child answers the next job, not with the old one's frames
    layout, _, _ = run_to_end(child_layout_job(codes, "umap", seed=0, params={"n_epochs": 10}))
    assert layout.shape == (150, 2)


def test_bad_codes_are_one_sentence_and_the_child_is_kept(codes):
    bad = codes.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ExplorerError, match="NaN"):
        run_to_end(child_layout_job(bad, "umap", seed=0))
    assert any(c.alive() for c in layout_child._idle)


def test_a_dead_child_is_an_error_not_a_hang(codes, monkeypatch):
    gen = child_layout_job(codes, "umap", seed=0, params={"n_epochs": 5000})
    next(gen)
    for child in list(layout_child._all):
        child.proc.kill()
    with pytest.raises(ExplorerError, match="stopped"):
        for _ in gen:
            pass


def test_layout_job_sends_umap_to_the_child_and_keeps_pca_here(codes, monkeypatch):
    from explorer.jobs import layouts

    started = []
    real = layout_child.child_layout_job

    def spy(*args, **kwargs):
        started.append(args[1])
        return (yield from real(*args, **kwargs))

    monkeypatch.setattr(layout_child, "child_layout_job", spy)
    out = run_to_end(layouts.layout_job(codes, "umap", 0, {"n_neighbors": 10, "n_epochs": 20}, live=True))
    assert out[0].shape == (150, 2) and 0.0 < out[1] <= 1.0
    out = run_to_end(layouts.layout_job(codes, "pca", 0, {}, live=True))
    assert out[0].shape == (150, 2)
    assert started == ["umap"]


def test_codes_too_big_for_a_pipe_stay_in_process(codes, monkeypatch):
    assert layout_child.runs_in_child("umap", codes) and layout_child.runs_in_child("tsne", codes)
    assert not layout_child.runs_in_child("pca", codes)
    monkeypatch.setattr(layout_child, "CHILD_MAX_BYTES", codes.size * 4 - 1)
    assert not layout_child.runs_in_child("umap", codes)


def test_the_relational_views_mapping_tsne_runs_in_the_child_and_gives_the_in_process_layout(monkeypatch):
    """Issue 13 item 3: the relational view's mapping-code t-SNE ran in the GUI process."""
    import torch

    from explorer.jobs.relational import mapping_layout_job
    from explorer.models.base import build_model

    torch.manual_seed(0)
    model = build_model("gae", (1, 13, 13)).eval()
    calls = []
    monkeypatch.setattr(layout_child, "child_layout_job", _spy(child_layout_job, calls))
    ours = run_to_end(mapping_layout_job(model, None, count=120, seed=2))
    assert calls == ["tsne"] and ours["method"] == "t-SNE" and ours["layout"].shape == (120, 2)
    monkeypatch.setenv("EXPLORER_LAYOUT_CHILD", "0")  # the same job in this process
    here = run_to_end(mapping_layout_job(model, None, count=120, seed=2))
    assert calls == ["tsne"]
    np.testing.assert_allclose(ours["layout"], here["layout"], rtol=1e-3, atol=1e-3)


def _spy(fn, calls):
    def wrapped(codes, method, *a, **k):
        calls.append(method)
        return fn(codes, method, *a, **k)

    return wrapped


def test_a_fast_job_still_sends_its_last_frame(codes, monkeypatch):
    """Frames within PAYLOAD_EVERY_S of the last one are skipped, but not the job's last frame: a
    small layout that finishes inside one interval still streams preview + final (a cold numba
    cache once made this test's first case see only the preview)."""
    from explorer.jobs import _layout_child

    monkeypatch.setattr(_layout_child, "PAYLOAD_EVERY_S", 3600.0)
    monkeypatch.setattr(_layout_child.time, "perf_counter", lambda: 1e6)  # one instant, all job long
    sent = []

    class Out:
        def send(self, head, *arrays):
            sent.append((head, arrays))

    head = {"id": 7, "method": "umap", "seed": 3, "shape": list(codes.shape), "previous": False}
    head.update(params={"n_neighbors": 10, "n_epochs": 40, "every": 5}, faith=False)
    _layout_child._layout(head, codes.tobytes(), Out(), lambda job: False)
    frames = [arrays[0] for h, arrays in sent if h["kind"] == "progress" and h["n"]]
    assert len(frames) == 2  # the PCA preview (first), then the last frame (flushed)
    done = [arrays for h, arrays in sent if h["kind"] == "done"]
    np.testing.assert_array_equal(frames[-1], done[0][0])
