"""The load service's queue of model requests: a request made while the last model job was ending
waits until both runners are free, and starts when the last of them ends, data or models."""

from __future__ import annotations

import time


def test_a_queued_model_load_starts_when_the_data_job_ends_last(qtbot, ctx, digits_set):
    """The flaky trust test's hang: the model job's end came first (the data job was still
    ending), so the queued request was skipped, and the data job's end did not look at the queue."""
    svc = ctx.services["loader"]
    ctx.workspace.set_dataset(digits_set)
    svc._model_queue.append("pixels")  # asked for while a runner was still ending
    assert not svc._models.is_running() and not svc._data.is_running()
    with qtbot.waitSignal(svc.models_loaded, timeout=20000) as got:
        svc._data.running_changed.emit(False)  # the data job's end, the last one
    assert got.args[0] == ["pixels"] and "pixels" in ctx.workspace.models
    assert svc._model_queue == []


def test_opening_another_data_set_does_not_start_the_queued_models_before_it_is_in(
    qtbot, ctx, digits_set, monkeypatch
):
    """Opening a data set cancels the one loading (its runner says 'not running' for a moment):
    the models queued behind the first load keep waiting for the new one, so 'pca' is fitted on
    the data the user opened, not on the one before it."""
    import threading

    from explorer.core.progress import Progress
    from explorer.ui import load_service

    release = threading.Event()

    def slow_load(spec):
        while not release.is_set():
            time.sleep(0.01)
            yield Progress(message=f"opening {spec}")
        return digits_set

    monkeypatch.setattr(load_service, "load_data_job", slow_load)
    svc = ctx.services["loader"]
    svc.open_data("first")
    svc.load_models(["pixels"])
    assert svc._model_queue == ["pixels"]  # waits for the data
    svc.open_data("second")
    assert not svc._models.is_running() and svc._model_queue == ["pixels"]  # (was: started)
    with qtbot.waitSignal(svc.models_loaded, timeout=20000):
        release.set()
    assert ctx.workspace.dataset is digits_set and "pixels" in ctx.workspace.models


def test_shutdown_starts_no_queued_model_job(qtbot, ctx, digits_set, monkeypatch):
    """Shutting down cancels the running model job, and the runner's 'not running' that follows
    does not start the requests queued behind it (a job left running after shutdown, unwaited)."""
    import threading

    from explorer.core.progress import Progress
    from explorer.ui import load_service

    release = threading.Event()
    started = []

    def slow_models(specs, data, trust):
        started.append(list(specs))
        while not release.is_set():
            time.sleep(0.01)
            yield Progress(message="loading")
        return []

    monkeypatch.setattr(load_service, "load_models_job", slow_models)
    svc = ctx.services["loader"]
    ctx.workspace.set_dataset(digits_set)
    svc.load_models(["pixels"])
    qtbot.waitUntil(lambda: started == [["pixels"]], timeout=5000)
    svc.load_models(["pca"])  # queued behind the running job
    try:
        svc.shutdown()
        assert not svc._models.is_running() and started == [["pixels"]]  # (was: 'pca' started)
    finally:
        release.set()
