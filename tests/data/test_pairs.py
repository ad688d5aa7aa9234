import numpy as np
import pytest

from explorer.core.errors import DataError
from explorer.core.imageset import ImageSet
from explorer.data.pairs import (
    image_pairs,
    natural_key,
    quadruple_images,
    quadruple_indices,
    sequence_order,
    sequence_pairs,
    transform_keys,
)


def folder_like(frames_per_seq=(3, 4)):
    """Two sequences whose paths are stored out of natural order (frame10 before frame2)."""
    images, labels, paths = [], [], []
    for s, t in enumerate(frames_per_seq):
        names = [f"seq{s}/frame{k}.png" for k in range(t)]
        for name in sorted(names):  # lexical: frame10 would come before frame2
            k = int(name.split("frame")[1].split(".")[0])
            images.append(np.full((1, 2, 2), 10 * s + k, np.float32) / 100)
            labels.append(s)
            paths.append(name)
    return ImageSet(images=np.stack(images), labels=np.array(labels), paths=paths)


def test_natural_key_orders_numbers_by_value():
    assert sorted(["f10", "f2", "f1"], key=natural_key) == ["f1", "f2", "f10"]


def test_sequence_pairs_are_consecutive_frames_within_each_sequence():
    data = folder_like((3, 12))
    first, second = sequence_pairs(data)
    assert len(first) == 2 + 11
    val = (data.images[:, 0, 0, 0] * 100).round().astype(int)
    assert np.all(val[second] - val[first] == 1)  # frame k -> k + 1, never across sequences
    assert [len(s) for s in sequence_order(data)] == [3, 12]


def test_image_pairs_use_partners_when_present():
    x = np.random.default_rng(0).random((5, 1, 3, 3)).astype(np.float32)
    data = ImageSet(images=x, partners=x[:, :, ::-1].copy())
    a, b = image_pairs(data)
    assert np.array_equal(a, x) and np.array_equal(b, x[:, :, ::-1])


def test_a_set_without_pairs_or_sequences_is_a_data_error():
    data = ImageSet(images=np.zeros((3, 1, 2, 2), np.float32), labels=np.array([0, 1, 2]))
    with pytest.raises(DataError, match="no image pairs"):
        sequence_pairs(data)


def test_quadruples_pair_items_with_equal_transforms():
    rng = np.random.default_rng(0)
    dx = rng.integers(-1, 2, 200)
    dy = rng.integers(-1, 2, 200)
    x = rng.random((200, 1, 4, 4)).astype(np.float32)
    data = ImageSet(images=x, partners=x + 1, transforms={"dx": dx, "dy": dy})
    ix, iy, jx, jy = quadruple_indices(data, 50, rng)
    assert len(ix) == 50
    assert np.all(ix != jx)
    assert np.all(dx[ix] == dx[jx]) and np.all(dy[ix] == dy[jx])
    keys = transform_keys(data.transforms)
    assert len(np.unique(keys)) == 9


def test_sequence_quadruples_come_from_one_sequence():
    data = folder_like((6, 6))
    q = quadruple_images(data, 20, np.random.default_rng(1))
    x, y, x2, y2 = (a[:, 0, 0, 0] * 100 for a in q)
    assert np.allclose(y - x, 1) and np.allclose(y2 - x2, 1)
    assert np.all((x // 10) == (x2 // 10))  # same sequence


def test_as_pair_set_makes_partners_from_sequences():
    from explorer.data.pairs import as_pair_set

    data = folder_like((3, 12))
    pairs = as_pair_set(data)
    assert pairs.count == 13 and pairs.partners is not None
    assert np.allclose((pairs.partners - pairs.images) * 100, 1)
    assert list(pairs.labels[:2]) == [0, 0] and pairs.labels[-1] == 1
    assert as_pair_set(pairs) is pairs


def test_pair_sets_from_sequences_give_quadruples_within_a_sequence():
    from explorer.data.pairs import as_pair_set

    pairs = as_pair_set(folder_like((6, 6)))
    ix, iy, jx, jy = quadruple_indices(pairs, 20, np.random.default_rng(0))
    assert len(ix) > 0 and np.all(pairs.labels[ix] == pairs.labels[jx]) and np.all(ix != jx)


def test_where_keys_do_not_count_as_transforms():
    keys = transform_keys({"disparity": np.array([1, 1, 2]), "row": np.array([0, 5, 9])})
    assert keys[0] == keys[1] != keys[2]


def test_looks_like_sequences_tells_turning_objects_from_classes(tmp_path):
    from PIL import Image
    from sklearn.datasets import load_digits

    from explorer.data import load_data
    from explorer.data.pairs import looks_like_sequences
    from explorer.data.sequences import render_sequences, write_sequence_folder

    seqs, _ = render_sequences(6, np.random.default_rng(0), 8, 16, motion="turn")
    write_sequence_folder(str(tmp_path / "turning"), seqs, prefix="obj")
    turning = load_data(str(tmp_path / "turning"))
    assert looks_like_sequences(turning)
    d = load_digits()
    for k in range(4):  # numbered pictures of one class per sub-folder: not a sequence
        (tmp_path / "classes" / f"c{k}").mkdir(parents=True)
        for j, i in enumerate(np.flatnonzero(d.target == k)[:8]):
            img = (d.images[i] * 255 / 16).astype(np.uint8)
            Image.fromarray(img).save(tmp_path / "classes" / f"c{k}" / f"img_{j:03d}.png")
    assert not looks_like_sequences(load_data(str(tmp_path / "classes")))
    assert not looks_like_sequences(turning.subset(np.arange(0, turning.count, 4)))  # 2 frames each
    assert not looks_like_sequences(ImageSet(images=seqs.reshape(-1, 1, 16, 16), name="array"))


def test_looks_like_sequences_is_not_fooled_by_chance_on_a_tiny_folder(tmp_path):
    """Two classes of three noise pictures: chance alone puts 4 of the 6 frames' nearest next to
    them in file order (the middle frame always), which passed the 60% share before."""
    from PIL import Image

    from explorer.data import load_data
    from explorer.data.pairs import looks_like_sequences

    rng = np.random.default_rng(0)
    for c in "ab":
        (tmp_path / c).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / c / f"{i}.png")
    assert not looks_like_sequences(load_data(str(tmp_path)))
    # a real panning sequence of the same size still is one when long enough
    yy, xx = np.mgrid[0:64, 0:96]
    big = 0.5 + 0.25 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + 0.2 * np.sin((xx + 2 * yy) / 11.0)  # smooth
    for s in range(3):
        (tmp_path / "pan" / f"s{s}").mkdir(parents=True)
        for t in range(8):
            crop = (big[s * 8 : s * 8 + 16, 3 * t : 3 * t + 16] * 255).astype(np.uint8)
            Image.fromarray(crop).save(tmp_path / "pan" / f"s{s}" / f"{t:02d}.png")
    assert looks_like_sequences(load_data(str(tmp_path / "pan")))
