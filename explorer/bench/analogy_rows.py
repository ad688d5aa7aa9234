"""Bench row of issue 18 item 2: next-view analogies on turning objects no model here was trained on.

The shipped change-basis model (``sample_data/models/bgae_turntable.safetensors``, trained on
sample:turntable-wide by ``python -m explorer.relational.defaults turntable FILE``) predicts the next
view of 48 objects of shapes and textures it never saw (sample:turntable-test), from the speed it
reads off another pair of the same object; the reference is copying the previous view, in the same
run on the same quadruples. No training here: the row costs a render (first use) and an evaluation.
"""

from __future__ import annotations

import os

from explorer.bench.plan import Plan
from explorer.bench.table import Row

TARGET = 0.5  # at most half of copying's error (the target)


def shipped_turntable_model() -> str:
    from explorer.data.samples import sample_data_dir
    from explorer.relational.defaults import TURNTABLE_FILE

    return os.path.join(str(sample_data_dir()), "models", TURNTABLE_FILE)


def analogy_rows(plan: Plan, path: str | None = None, data: str = "sample:turntable-test") -> list[Row]:
    from explorer.core.progress import run_to_end
    from explorer.data import load_data
    from explorer.relational.engine import load_relational_model
    from explorer.relational.evaluate import evaluate_analogy_job

    path = path or shipped_turntable_model()
    measure = f"next-view analogy on unseen turning objects ({data}): model nmse vs copying x'"
    target = f"ratio <= {TARGET}"
    if not os.path.isfile(path):
        return [Row(measure, None, None, "nmse", target, None, True, f"{path} is not built")]
    model = load_relational_model(path)
    res = run_to_end(evaluate_analogy_job(model, load_data(data), count=plan.analogy_count))
    ratio = res["nmse"] / max(res["nmse_copy"], 1e-12)
    note = (
        f"{os.path.basename(path)} ({model.key}); {res['count']:,} quadruples (two steps of one "
        f"object); predicting the mean: {res['nmse_mean']:.3f}"
    )
    return [Row(measure, res["nmse"], res["nmse_copy"], "nmse", target, ratio <= TARGET, True, note)]
