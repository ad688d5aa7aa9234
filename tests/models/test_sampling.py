"""Pair and triplet sampling from labels: balanced, correct, seeded."""

import numpy as np

from explorer.models.sampling import balanced_pairs, class_balanced_batches

LABELS = np.repeat(np.arange(5), [50, 30, 10, 2, 8])
LABELS = np.concatenate([LABELS, [-1, -1, -1]])  # unknown labels are never sampled


def test_balanced_pairs_are_right_and_seeded():
    i, j, same = balanced_pairs(LABELS, 1000, np.random.default_rng(0))
    assert len(i) == len(j) == len(same) == 1000 and same.mean() == 0.5
    assert np.all(i != j)
    assert np.all((LABELS[i] == LABELS[j]) == (same == 1))
    assert np.all(LABELS[i] >= 0) and np.all(LABELS[j] >= 0)
    again = balanced_pairs(LABELS, 1000, np.random.default_rng(0))
    assert all(np.array_equal(a, b) for a, b in zip((i, j, same), again))
    other = balanced_pairs(LABELS, 1000, np.random.default_rng(1))
    assert not np.array_equal(i, other[0])
    # positives come from every class with two or more items, roughly by size
    pos_classes = np.bincount(LABELS[i[same == 1]], minlength=5)
    assert np.all(pos_classes > 0) and pos_classes[0] > pos_classes[2]


def test_class_balanced_batches():
    rng = np.random.default_rng(0)
    batches = list(class_balanced_batches(LABELS, 16, rng, per_class=4))
    assert len(batches) == -(-100 // 16)
    for idx in batches:
        counts = np.bincount(LABELS[idx], minlength=5)
        assert len(idx) == 16 and sorted(counts[counts > 0]) == [4, 4, 4, 4]


def test_class_held_out_split_keeps_identities_apart():
    from explorer.models.sampling import class_held_out_split

    labels = np.repeat(np.arange(10), 20)
    tr, va = class_held_out_split(labels, 0.2, seed=3)
    assert len(np.intersect1d(labels[tr], labels[va])) == 0  # no class on both sides
    assert len(np.unique(labels[va])) == 2 and len(tr) + len(va) == 200
    assert np.array_equal(va, class_held_out_split(labels, 0.2, seed=3)[1])
    assert class_held_out_split(np.repeat(np.arange(5), 20), 0.2, seed=3) is None  # too few classes
