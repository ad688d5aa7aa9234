"""A labelled set with known faults planted in it, for the inspection rows and tests.

``plant_faults`` copies ``copy_fraction`` of the items as near-copies (appended at the end) and
then flips ``flip_fraction`` of all labels to another class, both seeded. A copy is the original
with a little noise (``kind="noise"``: Gaussian, sigma 2/255, like a re-saved file), or moved
(``"shift"``: rolled one pixel up, down, left or right), or cropped and resized back (``"crop"``:
one pixel off each side, nearest-neighbour resize); the last two are the harder case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("noise", "shift", "crop")
SHIFTS = ((0, 1), (1, 0), (0, -1), (-1, 0))


@dataclass(frozen=True)
class Planted:
    """images (N, C, H, W) float32 in [0, 1]; labels (N,) the (partly flipped) labels;
    true_labels (N,); flipped (F,) indices whose label was changed; pairs (P, 2) (original, copy)."""

    images: np.ndarray
    labels: np.ndarray
    true_labels: np.ndarray
    flipped: np.ndarray
    pairs: np.ndarray


def _copy(image: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "noise":
        return np.clip(image + rng.normal(0, 2 / 255, image.shape), 0, 1).astype(np.float32)
    if kind == "shift":
        dy, dx = SHIFTS[rng.integers(len(SHIFTS))]
        return np.roll(image, (dy, dx), axis=(1, 2))
    if kind == "crop":
        h, w = image.shape[1:]
        inner = image[:, 1 : h - 1, 1 : w - 1]
        ys = np.linspace(0, inner.shape[1] - 1, h).round().astype(int)
        xs = np.linspace(0, inner.shape[2] - 1, w).round().astype(int)
        return inner[:, ys][:, :, xs]
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def plant_faults(
    images: np.ndarray,
    labels: np.ndarray,
    flip_fraction: float = 0.02,
    copy_fraction: float = 0.01,
    kind: str = "noise",
    seed: int = 0,
) -> Planted:
    """Near-copies of ``copy_fraction`` of the items appended, then ``flip_fraction`` of all
    labels flipped to a different random class (see the module doc)."""
    rng = np.random.default_rng(seed)
    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    n = len(images)
    originals = np.sort(rng.choice(n, size=round(copy_fraction * n), replace=False))
    copies = np.stack([_copy(images[i], kind, rng) for i in originals]) if len(originals) else images[:0]
    all_images = np.concatenate([images, copies])
    true = np.concatenate([labels, labels[originals]])
    pairs = np.stack([originals, n + np.arange(len(originals))], axis=1).astype(np.int64)
    total = len(all_images)
    n_classes = int(true.max()) + 1
    flipped = np.sort(rng.choice(total, size=round(flip_fraction * total), replace=False))
    noisy = true.copy()
    noisy[flipped] = (true[flipped] + rng.integers(1, n_classes, size=len(flipped))) % n_classes
    return Planted(all_images, noisy, true, flipped.astype(np.int64), pairs)
