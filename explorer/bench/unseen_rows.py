"""Bench rows of verification on classes never seen in training (issue 18 item 1).

A metric model is trained with its default settings on some classes of a labelled set (digits 0-4
of ``sample:mnist``) and verifies every pair of the other classes (5-9), the way a user would run
``explorer train --classes 0-4`` then ``explorer evaluate verification --classes 5-9``: the
checkpoint is written, loaded back as an encoder (its own preprocessing) and the held-out images
encoded. Raw pixels verify the same pairs in the same run as the reference.
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

from explorer.bench.plan import Plan
from explorer.bench.table import Row
from explorer.core.progress import run_to_end


def _classes(data, keep: tuple[int, ...]):
    subset = data.subset(np.isin(np.asarray(data.labels), keep))
    subset.name = f"{data.name or 'data'}[classes {_spec(keep)}]"
    return subset


def _spec(keep: tuple[int, ...]) -> str:
    keep = tuple(sorted(keep))
    if keep == tuple(range(keep[0], keep[-1] + 1)):
        return f"{keep[0]}-{keep[-1]}"
    return ",".join(str(k) for k in keep)


def verify(encoder, data, metric: str = "l2") -> dict:
    """`explorer evaluate verification`'s figures of ``encoder`` on every pair of ``data``."""
    from explorer.core.encoder import encode_dataset
    from explorer.verification import evaluate_codes

    codes = run_to_end(encode_dataset(encoder, data))
    return run_to_end(evaluate_codes(codes, data.labels, metric)).summary()


def train_unseen(model: str, train_set, epochs: int | None, path: str, seed: int = 0):
    """Train ``model`` with its defaults (``epochs`` None: the model's own) on ``train_set`` and
    write the checkpoint to ``path``; returns (seconds, summary of the run)."""
    from explorer.training.engine import TrainConfig, train

    config = TrainConfig(model=model, epochs=epochs, device="cpu", seed=seed, checkpoint=path)
    t0 = time.perf_counter()
    result = run_to_end(train(config, train_set))
    return time.perf_counter() - t0, result.summary


def unseen_rows(plan: Plan) -> list[Row]:
    """AUC, EER and TAR@FAR 1e-2 of each of ``plan.unseen_models`` trained on
    ``plan.unseen_train`` classes and verifying every pair of ``plan.unseen_test`` classes,
    raw pixels on the same pairs as the reference."""
    from explorer.data import load_data
    from explorer.models import load_encoder

    data = load_data(plan.unseen_data)
    train_set = _classes(data, plan.unseen_train)
    test_set = _classes(data, plan.unseen_test)
    pixels = verify(load_encoder("pixels"), test_set)
    where = (
        f"{plan.unseen_data}: train on classes {_spec(plan.unseen_train)} ({train_set.count:,} items), "
        f"verify all pairs of {_spec(plan.unseen_test)} ({test_set.count:,} items, "
        f"{pixels['pairs']:,} pairs)"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for key in plan.unseen_models:
            path = os.path.join(tmp, f"{key}.safetensors")
            seconds, summary = train_unseen(key, train_set, plan.unseen_epochs, path)
            ours = verify(load_encoder(path), test_set)
            how = (
                f"{key} defaults, {summary.get('epochs')} epochs, {summary.get('steps')} steps, "
                f"trained in {seconds:.0f} s; L2; pixels on the same pairs"
            )
            name = f"unseen classes, {key} vs pixels ({where})"
            rows += [
                Row(
                    f"{name}: AUC",
                    ours["auc"],
                    pixels["auc"],
                    "AUC",
                    ">= 0.95",
                    ours["auc"] is not None and ours["auc"] >= 0.95,
                    False,
                    how,
                ),
                Row(
                    f"{name}: EER",
                    _pct(ours["eer"]),
                    _pct(pixels["eer"]),
                    "%",
                    "<= 10%",
                    ours["eer"] is not None and ours["eer"] <= 0.10,
                    True,
                    how,
                ),
                Row(
                    f"{name}: TAR at FAR 1e-2",
                    ours["tar_at_far_1e_2"],
                    pixels["tar_at_far_1e_2"],
                    "TAR",
                    "(none)",
                    None,
                    False,
                    how,
                ),
            ]
    return rows


def _pct(value: float | None) -> float | None:
    return None if value is None else 100.0 * value
