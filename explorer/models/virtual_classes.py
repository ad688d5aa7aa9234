"""New training classes made from old ones, for metric learning that must carry over to classes
never seen in training (train on digits 0-4, verify 5-9; faces of people not in the training set).

With few training classes a metric learns only what tells those few apart. Two ways to make more
identities out of them, each giving a class of its own to every combination:

* symmetries of the square (``symmetries`` 2: mirrored, 4: turned by 90-degree steps, 8: both):
  a mirrored 2 or a turned 4 is a shape no training class has;
* splicing (``splice``): the top part of an image of class a over the bottom part of an image of
  class b is an item of the new class (a, b), cut at a random height between 40% and 60% (a 0 over
  a 1 looks like a 9, a 1 over a 0 like a 6). Pairs with a = b are the original images, unspliced.

Items are drawn as in :func:`explorer.models.sampling.class_balanced_batches`: P virtual classes x K
items a batch.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from explorer.models.sampling import class_members


def symmetric_images(x: np.ndarray, which: np.ndarray) -> np.ndarray:
    """Images (B, C, H, W) each under symmetry ``which`` (B,) of the square: 0-3 turns by 90
    degrees, 4-7 the same after a mirror. Non-square images have four (:func:`symmetry_count`):
    0 as it is, 1 a half turn, 2 mirrored, 3 mirrored and half turned."""
    out = x.copy()
    square = x.shape[-1] == x.shape[-2]
    for i, s in enumerate(np.asarray(which)):
        s = int(s)
        mirror = s >= 4 if square else s % 4 >= 2
        img = x[i, :, :, ::-1] if mirror else x[i]
        turns = s % 4 if square else 2 * (s % 2)
        out[i] = np.rot90(img, turns, axes=(-2, -1))
    return out


def symmetry_count(wanted: int, shape: tuple[int, ...]) -> int:
    """How many distinct symmetries of ``wanted`` (1, 2, 4, 8) images of ``shape`` (.., H, W)
    have: a non-square image has no quarter turns, so at most 4."""
    wanted = max(1, int(wanted))
    return wanted if shape[-1] == shape[-2] else min(wanted, 4)


def spliced_images(top: np.ndarray, bottom: np.ndarray, cut: np.ndarray) -> np.ndarray:
    """(B, C, H, W) images: rows above ``cut`` (B,) (a row index each) from ``top``, the rest from
    ``bottom``."""
    rows = np.arange(top.shape[-2])[None, None, :, None]  # (1, 1, H, 1)
    return np.where(rows < np.asarray(cut)[:, None, None, None], top, bottom)


def virtual_class_batches(
    labels: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    per_class: int,
    symmetries: int = 1,
    splice: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Batches of P virtual classes x K (``per_class``) items, as (top, bottom, symmetry, label)
    arrays (B,): the item is image ``top`` over image ``bottom`` (the same index when unspliced)
    under ``symmetry``, of virtual class ``label``. One epoch is as many batches as the labelled
    items fill, as without virtual classes (they add classes, not steps; with few classes they fill
    the batch: 5 classes x 8 is a batch of 40, 40 virtual classes give P = batch_size / K)."""
    groups = class_members(labels)
    classes = np.array(sorted(groups))
    c, s = len(classes), max(1, int(symmetries))
    pairs = c * c if splice else c
    n_virtual = pairs * s
    k = max(2, int(per_class))
    p = max(2, min(n_virtual, batch_size // k))
    n_batches = max(1, -(-sum(len(m) for m in groups.values()) // batch_size))

    def draw(cls: int) -> np.ndarray:  # k distinct items of a class (with repeats if it is smaller)
        members = groups[int(classes[cls])]
        return rng.choice(members, k, replace=len(members) < k)

    for _ in range(n_batches):
        chosen = rng.choice(n_virtual, p, replace=False)
        sym, pair = chosen // pairs, chosen % pairs
        a, b = (pair // c, pair % c) if splice else (pair, pair)
        top = [draw(v) for v in a]
        bottom = [t if u == v else draw(v) for t, u, v in zip(top, a, b)]
        yield np.concatenate(top), np.concatenate(bottom), np.repeat(sym, k), np.repeat(chosen, k)


def virtual_class_images(data, top, bottom, sym, rng: np.random.Generator) -> np.ndarray:
    """The float images (B, C, H, W) of the items ``virtual_class_batches`` drew from ``data``."""
    x = data.float_images(top)
    spliced = top != bottom
    if spliced.any():
        h = x.shape[-2]
        cut = rng.integers(int(round(0.4 * h)), int(round(0.6 * h)) + 1, len(top))
        cut = np.where(spliced, cut, h)  # unspliced: every row from the top image
        x = spliced_images(x, data.float_images(bottom), cut)
    if (sym > 0).any():
        x = symmetric_images(x, sym)
    return x
