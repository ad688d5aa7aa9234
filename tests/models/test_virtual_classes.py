"""Virtual classes for metric learning: symmetries of each class and spliced pairs of classes."""

from __future__ import annotations

import numpy as np

from explorer.core.imageset import ImageSet
from explorer.models.virtual_classes import (
    spliced_images,
    symmetric_images,
    symmetry_count,
    virtual_class_batches,
    virtual_class_images,
)


def _toy(n_per_class=6, classes=3):
    # class c: every pixel of its images is (c + 1) / 10, so a spliced image shows where it came from
    labels = np.repeat(np.arange(classes), n_per_class)
    images = np.repeat(((labels + 1) * 25).astype(np.uint8)[:, None, None, None], 10, axis=2)
    images = np.repeat(images, 10, axis=3)  # (N, 1, 10, 10)
    return ImageSet(images=images, labels=labels, class_names=[str(c) for c in range(classes)])


def test_spliced_images_take_rows_above_the_cut_from_the_top_image():
    top, bottom = np.ones((2, 1, 4, 3)), np.zeros((2, 1, 4, 3))
    out = spliced_images(top, bottom, np.array([1, 3]))
    assert out[0, 0, :, 0].tolist() == [1, 0, 0, 0] and out[1, 0, :, 0].tolist() == [1, 1, 1, 0]


def test_symmetric_images_turn_and_mirror():
    x = np.arange(4.0).reshape(1, 1, 2, 2)
    assert symmetric_images(x, np.array([4]))[0, 0].tolist() == [[1, 0], [3, 2]]  # mirrored
    assert symmetric_images(x, np.array([2]))[0, 0].tolist() == [[3, 2], [1, 0]]  # half turn


def test_spliced_batches_make_a_class_of_every_pair_of_classes():
    data = _toy()
    rng = np.random.default_rng(0)
    seen = set()
    for top, bottom, sym, label in virtual_class_batches(data.labels, 36, rng, 4, symmetries=1, splice=True):
        assert len(label) == 36 and (sym == 0).all()
        a, b = data.labels[top], data.labels[bottom]
        assert (label == a * 3 + b).all()  # class (a, b) of the 9 pairs
        assert (top[a == b] == bottom[a == b]).all()  # a = b: the original image, not spliced
        x = virtual_class_images(data, top, bottom, sym, rng)
        spliced = a != b
        # rows 0-3 always from the top image, rows 6-9 always from the bottom one (cut at 4-6)
        assert np.allclose(x[:, 0, :4, 0], ((a + 1) * 25 / 255)[:, None])
        assert np.allclose(x[spliced, 0, 6:, 0], ((b[spliced] + 1) * 25 / 255)[:, None])
        seen |= set(label.tolist())
    assert seen <= set(range(9)) and len(seen) >= 8


def test_symmetries_and_splices_multiply_classes_not_steps():
    data = _toy(n_per_class=8)
    batches = list(
        virtual_class_batches(data.labels, 16, np.random.default_rng(1), 4, symmetries=8, splice=True)
    )
    assert len(batches) == 2  # 24 items fill 2 batches of 16: virtual classes add no steps
    labels = np.concatenate([b[3] for b in batches])
    assert labels.max() < 9 * 8 and (np.concatenate([b[2] for b in batches]) == labels // 9).all()


def test_triplet_plans_as_many_steps_as_its_batches_make():
    from explorer.models.base import build_model

    data = _toy(n_per_class=8)
    for options in ({}, {"class_symmetries": 8}, {"class_symmetries": 4, "splice": True}):
        model = build_model("triplet", (1, 10, 10), options={"channels": [4], "hidden": 8, **options})
        made = list(model.batches(data, 16, np.random.default_rng(0)))
        assert model.num_batches(data, 16) == len(made), options


def test_non_square_images_have_four_distinct_symmetries():
    x = np.arange(6.0).reshape(1, 1, 2, 3)
    four = [symmetric_images(x, np.array([s]))[0, 0].tolist() for s in range(4)]
    assert len({str(v) for v in four}) == 4 and four[0] == x[0, 0].tolist()
    assert symmetry_count(8, (1, 2, 3)) == 4 and symmetry_count(8, (1, 28, 28)) == 8
