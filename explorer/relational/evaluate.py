"""Analogy error of a gated autoencoder on fresh test quadruples, as a progress generator.

A quadruple (x, y, x', y') has y' = x' under the same transformation as y is of x. The model
infers z from (x, y) and applies it to x'; the score is nmse = MSE(ŷ', y') / Var(y'). Baselines:
copying x' (nmse_copy, about 2 for unrelated random images), predicting the mean (nmse_mean = 1)
and, where the true transform is known, applying it exactly with unseen pixels filled by the
mean (nmse_oracle). For the generated sets (shifts, rotations) the quadruples are drawn fresh
from the generators with a seed the training set never used; for any other data set they come
from the data (pairs with equal true transforms, or two steps of one sequence).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from explorer.core.errors import DataError
from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress
from explorer.relational.engine import analogy, infer_mappings, nmse
from explorer.data.pairs import quadruple_images

GENERATED = ("shifts", "rotations")
TEST_SEED = 20_130_001  # fresh test data: no sample set is built with this seed


def generated_quadruples(kind: str, count: int, size: int, seed: int = TEST_SEED) -> dict:
    """Fresh quadruples of a generated set: x, y, x2, y2 float32 (n, 1, size, size), the true
    transforms, an oracle prediction of y2 (fill = mean of y2) and class labels of the transform."""
    from explorer.data import generators as gen

    rng = np.random.default_rng(seed)
    if kind == "shifts":
        x, y, dx, dy = gen.shift_pairs(count, rng, size=size)
        x2, y2, _, _ = gen.shift_pairs(count, rng, size=size, dx=dx, dy=dy)
        oracle = gen.apply_shift(x2, dx, dy, fill=float(y2.mean()))
        transforms = {"dx": dx, "dy": dy}
        labels = gen.shift_labels(dx, dy)
    elif kind == "rotations":
        x, y, angle = gen.rotation_pairs(count, rng, size=size)
        x2, y2, _ = gen.rotation_pairs(count, rng, size=size, angles=angle)
        oracle = gen.apply_rotation(x2, angle, fill=float(y2.mean()))
        transforms = {"angle": angle}
        labels = gen.angle_labels(angle)
    else:
        raise DataError(f"There is no generated pair set '{kind}'; choose one of: {', '.join(GENERATED)}.")
    add = lambda a: a[:, None].astype(np.float32)  # noqa: E731  (n, H, W) -> (n, 1, H, W)
    return {
        "x": add(x),
        "y": add(y),
        "x2": add(x2),
        "y2": add(y2),
        "oracle": add(oracle),
        "transforms": transforms,
        "labels": labels,
    }


def knn_accuracy(train_codes, train_labels, test_codes, test_labels, k: int = 5) -> float:
    """Accuracy of a k-NN vote (Euclidean; ties to the nearest) fitted on one set, tested on another."""
    import torch

    a = torch.as_tensor(np.asarray(train_codes, np.float32))
    b = torch.as_tensor(np.asarray(test_codes, np.float32))
    train_labels = np.asarray(train_labels)
    k = min(k, len(a))
    correct = 0
    for s in range(0, len(b), 1024):
        near = torch.cdist(b[s : s + 1024], a).topk(k, largest=False).indices.numpy()  # (n, k) nearest first
        votes = train_labels[near]
        for row, truth in zip(votes, np.asarray(test_labels)[s : s + 1024]):
            values, counts = np.unique(row, return_counts=True)
            best = values[counts == counts.max()]
            pick = next(v for v in row if v in best)  # the nearest among the tied classes
            correct += int(pick == truth)
    return correct / max(len(b), 1)


def evaluate_analogy_job(
    model, data: ImageSet | None = None, kind: str | None = None, count: int = 2000, seed: int = TEST_SEED
) -> Iterator[Progress]:
    """Score ``model`` on ``count`` quadruples; yields Progress, returns the JSON-able figures.

    kind: "shifts" or "rotations" draws fresh quadruples from the generator (and adds 5-NN
    accuracy of the mapping units on the transform classes, against raw [x, y] pixels); otherwise
    the quadruples come from ``data``.
    """
    c, h, w = model.input_shape
    yield Progress(step=0, total=3, message="making test quadruples")
    oracle = labels = None
    if kind is not None:
        if c != 1 or h != w:
            raise DataError(f"The generated {kind} are 1x{h}x{h} grey squares; this model takes {[c, h, w]}.")
        q = generated_quadruples(kind, count, h, seed)
        x, y, x2, y2, oracle, labels = q["x"], q["y"], q["x2"], q["y2"], q["oracle"], q["labels"]
        source = f"fresh sample:{kind} quadruples (seed {seed})"
    else:
        if data is None:
            raise DataError("Give a data set or a generated kind (shifts, rotations) to evaluate on.")
        if data.shape != tuple(model.input_shape):
            raise DataError(
                f"{data.name or 'The data set'} has images of {list(data.shape or [])} but the model "
                f"takes {[c, h, w]}; evaluate it on data like the data it was trained on."
            )
        quads = quadruple_images(data, count, np.random.default_rng(seed))
        if quads is None or len(quads[0]) == 0:
            raise DataError(
                f"{data.name or 'The data set'} gives no test quadruples: it needs pairs with known "
                "transforms or a folder of sequences (several frames per sub-folder)."
            )
        x, y, x2, y2 = quads
        source = f"{len(x)} quadruples from {data.name or 'the data set'}"
    yield Progress(step=1, total=3, message="inferring and applying the transformations")
    pred = analogy(model, x, y, x2)
    mean = np.full_like(y2, y2.mean())
    result = {
        "nmse": nmse(pred, y2),
        "nmse_copy": nmse(x2, y2),
        "nmse_mean": nmse(mean, y2),
        "count": int(len(x)),
        "data": source,
    }
    if oracle is not None:
        result["nmse_oracle"] = nmse(oracle, y2)
    if labels is not None:
        yield Progress(step=2, total=3, message="classifying the transformations from mapping units")
        half = len(x) // 2
        z = infer_mappings(model, x, y)
        raw = np.concatenate([x.reshape(len(x), -1), y.reshape(len(y), -1)], axis=1)
        result["knn5_mappings"] = knn_accuracy(z[:half], labels[:half], z[half:], labels[half:])
        result["knn5_pixels"] = knn_accuracy(raw[:half], labels[:half], raw[half:], labels[half:])
    yield Progress(step=3, total=3, message="done")
    return result
