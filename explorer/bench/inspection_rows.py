"""Bench rows for explorer.inspection: planted label flips and near-copies, found or not.

On ``sample:mnist`` (5,000 digits) with :func:`explorer.bench.planted.plant_faults` (2% of the
labels flipped, 1% of the items copied, seeded), for the ``pixels`` codes and the bundled siamese:

- label issues: recall of the flipped items among the top 2x-as-many ranked issues; ours beside
  cleanlab's ``find_label_issues`` (ranked by self-confidence) fed with scikit-learn's 5-fold
  cross-validated k-NN probabilities of the same codes (``cross_val_predict``, k = 10, the same k
  as ours). Target: ours >= cleanlab.
- near-duplicates: recall of the planted (original, copy) pairs at the automatic threshold, with
  the precision of every pair found in the note; the copies are re-saved (noise), shifted by one
  pixel or cropped by one pixel, the last two the harder case. Target: recall >= 0.95 at
  precision >= 0.9.
- scale: the whole `explorer inspect` job (k-means clusters) on 10^6 random 32-d codes, seconds.
"""

from __future__ import annotations

import os
import time

import numpy as np

from explorer.bench.plan import Plan
from explorer.bench.table import Row

K = 10


def _codes(model: str, images: np.ndarray) -> np.ndarray:
    from explorer.models import load_encoder

    encoder = load_encoder(model)
    return np.concatenate([encoder.encode(images[s : s + 512]) for s in range(0, len(images), 512)]).astype(
        np.float32
    )


def _models(plan: Plan) -> list[tuple[str, str]]:
    """(short name, model spec) of the codes the rows run on."""
    from explorer.data import sample_data_dir

    out = [("pixels", "pixels")]
    siamese = os.path.join(os.fspath(sample_data_dir()), "models", "siamese_mnist.safetensors")
    if plan.inspect_data == "sample:mnist" and os.path.exists(siamese):
        out.append(("siamese", siamese))
    return out


def cleanlab_ranked(codes: np.ndarray, labels: np.ndarray, k: int = K, seed: int = 0) -> np.ndarray:
    """The reference: cleanlab's issues (ranked by self-confidence) from sklearn's 5-fold
    cross-validated k-NN probabilities of ``codes``."""
    from cleanlab.filter import find_label_issues
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier

    probs = cross_val_predict(
        KNeighborsClassifier(k),
        codes,
        labels,
        method="predict_proba",
        cv=StratifiedKFold(5, shuffle=True, random_state=seed),
    )
    return np.asarray(find_label_issues(labels, probs, return_indices_ranked_by="self_confidence"))


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return len(set(found.tolist()) & set(truth.tolist())) / max(1, len(truth))


def label_rows(plan: Plan, planted, codes: dict[str, np.ndarray]) -> list[Row]:
    from explorer.core.progress import run_to_end
    from explorer.inspection.label_issues import label_issues_job
    from explorer.inspection.neighbours import neighbour_graph_job

    rows = []
    m = 2 * len(planted.flipped)
    for name, c in codes.items():
        t0 = time.perf_counter()
        graph = run_to_end(neighbour_graph_job(c, k=K + 6, seed=0))
        issues = run_to_end(label_issues_job(graph, planted.labels, k=K, seed=0))
        ours_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref = cleanlab_ranked(c, planted.labels)
        ref_s = time.perf_counter() - t0
        ours, theirs = _recall(issues.top(m), planted.flipped), _recall(ref[:m], planted.flipped)
        note = (
            f"{len(planted.flipped)} of {len(planted.labels):,} labels flipped (seed 0); top {m}; "
            f"ours flags {int(issues.confident.sum())} by the confident-learning rule, "
            f"{ours_s:.1f} s; cleanlab flags {len(ref)}, {ref_s:.1f} s (sklearn CV k-NN, k={K})"
        )
        if name == "siamese":
            note += (
                "; the siamese was trained on the clean labels of items 0-2499 of these "
                "images, so its codes know some true classes"
            )
        rows.append(
            Row(
                f"label issues: flipped recall in top 2x ({name} codes)",
                ours,
                theirs,
                "recall",
                ">= cleanlab",
                ours >= theirs,
                False,
                note,
            )
        )
    return rows


def duplicate_rows(plan: Plan, images, labels, models) -> list[Row]:
    from explorer.bench.planted import plant_faults
    from explorer.core.progress import run_to_end
    from explorer.inspection.duplicates import find_duplicates
    from explorer.inspection.neighbours import neighbour_graph_job

    rows = []
    for kind in plan.inspect_copy_kinds:
        planted = plant_faults(images, labels, kind=kind, seed=0)
        truth = {tuple(p) for p in planted.pairs.tolist()}
        for name, spec in models:
            c = _codes(spec, planted.images)
            graph = run_to_end(neighbour_graph_job(c, k=K + 6, seed=0))
            dups = find_duplicates(graph)
            found = {tuple(p) for p in dups.pairs.tolist()}
            hit = len(found & truth)
            recall = hit / max(1, len(truth))
            precision = hit / len(found) if found else 0.0
            rows.append(
                Row(
                    f"near-duplicates: planted pair recall ({name} codes, {kind} copies)",
                    recall,
                    None,
                    "recall",
                    "recall >= 0.95 at precision >= 0.9",
                    recall >= 0.95 and precision >= 0.9,
                    False,
                    f"{len(truth)} copies planted; precision {precision:.3f} ({len(found)} pairs found) "
                    f"at the automatic threshold {dups.threshold:.4g} (a tenth of the median "
                    f"nearest-neighbour distance)",
                )
            )
    return rows


def scale_row(plan: Plan) -> Row:
    from explorer.core.progress import run_to_end
    from explorer.inspection.report import inspect_job

    n = plan.inspect_scale_n
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 4, (20, 32)).astype(np.float32)
    labels = rng.integers(0, 20, n)
    codes = centres[labels] + rng.standard_normal((n, 32), dtype=np.float32)
    t0 = time.perf_counter()
    report = run_to_end(inspect_job(codes, labels, cluster_method="kmeans", seed=0))
    seconds = time.perf_counter() - t0
    d = report.as_dict(max_issues=10)
    return Row(
        f"inspect job (k-NN graph, issues, duplicates, k-means) on {n:,} x 32 codes",
        seconds,
        None,
        "s",
        "(none)",
        None,
        True,
        "; ".join(
            [
                f"{d['searched']:,} items searched against all",
                f"{d['clusters']['count']} clusters",
                *d["notes"],
            ]
        ),
    )


def inspection_rows(plan: Plan) -> list[Row]:
    from explorer.bench.planted import plant_faults
    from explorer.data import load_data

    data = load_data(plan.inspect_data)
    images, labels = data.float_images(), data.labels
    models = _models(plan)
    planted = plant_faults(images, labels, kind="noise", seed=0)
    codes = {name: _codes(spec, planted.images) for name, spec in models}
    rows = label_rows(plan, planted, codes)
    rows += duplicate_rows(plan, images, labels, models)
    rows.append(scale_row(plan))
    return rows
