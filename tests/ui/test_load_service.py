"""The load service's queue of model requests: a request made while the last model job was ending
waits until both runners are free, and starts when the last of them ends, data or models."""

from __future__ import annotations


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
