"""The planted faults of the inspection rows, and the rows on a small planted set."""

import numpy as np

from explorer.bench.inspection_rows import duplicate_rows, label_rows
from explorer.bench.plan import TINY
from explorer.bench.planted import plant_faults


def _images(n=400, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.random((4, 1, 6, 6)).astype(np.float32)
    labels = np.repeat(np.arange(4), n // 4)
    images = np.clip(base[labels] + rng.normal(0, 0.15, (n, 1, 6, 6)), 0, 1).astype(np.float32)
    return images, labels


def test_plant_faults_is_seeded_and_plants_what_it_says():
    images, labels = _images()
    for kind in ("noise", "shift", "crop"):
        p = plant_faults(images, labels, kind=kind, seed=3)
        q = plant_faults(images, labels, kind=kind, seed=3)
        assert np.array_equal(p.images, q.images) and np.array_equal(p.flipped, q.flipped)
        assert len(p.images) == 404 and p.pairs.shape == (4, 2) and len(p.flipped) == 8
        assert (p.labels[p.flipped] != p.true_labels[p.flipped]).all()
        unflipped = np.setdiff1d(np.arange(404), p.flipped)
        assert np.array_equal(p.labels[unflipped], p.true_labels[unflipped])
        a, b = p.images[p.pairs[:, 0]], p.images[p.pairs[:, 1]]
        gap = np.abs(a - b).max()
        assert (gap < 0.05) if kind == "noise" else (gap > 0.05)


def test_rows_on_a_small_planted_set():
    images, labels = _images()
    planted = plant_faults(images, labels, kind="noise", seed=0)
    codes = {"pixels": planted.images.reshape(len(planted.images), -1)}
    (row,) = label_rows(TINY, planted, codes)
    assert row.ours == 1.0 and row.reference is not None and row.met is True
    (dup,) = duplicate_rows(TINY, images, labels, [("pixels", "pixels")])
    assert dup.ours == 1.0 and dup.met is True and "precision 1.000" in dup.note
