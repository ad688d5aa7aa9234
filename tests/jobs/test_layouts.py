"""The scatter's layout job: the faithfulness of the layout, and of the landmark layout on the
landmark path (issue 16 item 2)."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core.progress import run_to_end
from explorer.jobs.layouts import layout_job
from explorer.projection import faithfulness


def _codes(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=6, size=(5, 8))
    return (centres[rng.integers(0, 5, n)] + rng.normal(size=(n, 8))).astype(np.float32)


def test_the_landmark_path_reports_the_landmark_layouts_own_faithfulness():
    codes = _codes()
    params = {"threshold": 500, "landmarks": 300, "refine_steps": 5}
    frames = []
    gen = layout_job(codes, "tsne", 0, params)
    while True:
        try:
            rec = next(gen)
        except StopIteration as stop:
            result = stop.value
            break
        if rec.payload is not None and rec.message.endswith("landmark layout"):
            frames.append(np.asarray(rec.payload))
    assert len(frames) == 1
    rows = np.flatnonzero(np.isfinite(frames[0][:, 0]))
    assert len(rows) == 300
    want = faithfulness(codes[rows], frames[0][rows])[0]
    assert result.landmark_faithfulness == want and 0 < want <= 1
    assert result.faithfulness == faithfulness(codes, result.layout)[0]
    assert result.measured == len(codes) and result.layout.shape == (len(codes), 2)


def test_a_full_fit_and_a_sampled_measure_say_so():
    codes = _codes(600)
    result = run_to_end(layout_job(codes, "pca", 0, {}))
    assert np.isnan(result.landmark_faithfulness) and result.measured == 600
    big = np.random.default_rng(1).normal(size=(25_000, 3)).astype(np.float32)
    result = run_to_end(layout_job(big, "pca", 0, {}))
    assert result.measured == 20_000  # a seeded sample of a large set
    assert np.isfinite(result.per_point).sum() == 20_000


def test_a_live_frame_runs_with_the_thread_pools_at_one_thread_and_gives_them_back():
    from threadpoolctl import threadpool_info

    def counts():
        return {i["filepath"]: i["num_threads"] for i in threadpool_info()}

    codes = _codes(n=600)
    before = counts()
    inside = {}
    result = run_to_end(
        layout_job(codes, "pca", 0, {}, live=True, make_index=lambda xy: inside.update(counts()))
    )
    assert result.layout.shape == (600, 2) and np.isfinite(result.faithfulness)
    assert inside and set(inside.values()) == {1}  # BLAS and OpenMP, while the frame is made
    after = counts()
    assert {p: after[p] for p in before} == before  # given back
    run_to_end(layout_job(codes, "pca", 0, {}, make_index=lambda xy: inside.update(counts())))
    assert {p: inside[p] for p in before} == before  # a finished layout keeps the pools as they are


def test_live_frames_on_two_threads_at_once_take_turns_and_give_the_pools_back():
    """A cancelled live frame's step may still run when the next frame starts on another worker.
    OpenBLAS's thread count is the process's: the steps take turns, and the count from before is
    given back (with two limits at once the one that ended last left OpenBLAS at 1 for good)."""
    import threading

    from threadpoolctl import threadpool_info

    from explorer.jobs.layouts import _in_one_thread

    def blas():
        return sorted(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

    before = blas()
    if not before or min(before) < 2:
        pytest.skip("OpenBLAS runs one thread here: nothing to give back")
    log = []

    def frame(k, entered, leave):
        def job():
            log.append(("in", k, blas()))
            entered.set()
            assert leave.wait(10)
            log.append(("out", k))
            yield "step"

        return _in_one_thread(job())

    events = {k: (threading.Event(), threading.Event()) for k in "ab"}
    threads = {k: threading.Thread(target=lambda k=k: list(frame(k, *events[k]))) for k in "ab"}
    threads["a"].start()
    assert events["a"][0].wait(10)
    threads["b"].start()  # the next frame, while the cancelled one's step runs
    assert not events["b"][0].wait(0.2)  # it waits for that step ...
    events["a"][1].set()
    assert events["b"][0].wait(10)  # ... then runs its own
    events["b"][1].set()
    for t in threads.values():
        t.join(10)
    assert log == [("in", "a", [1] * len(before)), ("out", "a"), ("in", "b", [1] * len(before)), ("out", "b")]
    assert blas() == before  # given back (was [1, 1] when b's limit ended after a's)


def test_the_pools_are_looked_up_again_after_an_import(monkeypatch):
    """A controller made before an extension brought its own OpenMP missed that pool (it stayed at
    2 threads inside live frames once tests/ui/test_scatter.py had run first); after new modules
    the pools are listed again, otherwise the same controller serves."""
    import sys
    import types

    from explorer.jobs import layouts

    first = layouts._pools()
    assert layouts._pools() is first
    monkeypatch.setitem(sys.modules, "explorer_test_new_extension", types.ModuleType("x"))
    again = layouts._pools()
    assert again is not first and layouts._pools() is again
