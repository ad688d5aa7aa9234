import os

import numpy as np
import pytest

from explorer.data import turntable as tt


def test_rendered_objects_turn_a_few_degrees_per_frame():
    frames, info = tt.render_turntable(3, np.random.default_rng(0), frames=12, size=32)
    assert frames.shape == (3, 12, 1, 32, 32) and frames.dtype == np.float32
    assert 0.0 <= frames.min() and frames.max() <= 1.0
    again, _ = tt.render_turntable(3, np.random.default_rng(0), frames=12, size=32)
    np.testing.assert_array_equal(frames, again)  # seeded
    assert [i["shape"] for i in info] == list(tt.TRAIN_SHAPES)
    assert all(3.0 <= i["step"] <= 7.0 for i in info)
    for seq in frames:
        background = np.median(seq[:, 0, :3, :3])
        cover = (np.abs(seq - background) > 0.05).mean()
        assert 0.1 < cover < 0.8  # an object fills a good part of the view, not all of it
        # a turn: neighbouring views are alike, views further apart differ more
        lag = [float(((seq[k:] - seq[:-k]) ** 2).mean()) for k in (1, 3, 8)]
        assert 0 < lag[0] < lag[1] < lag[2]
        assert lag[0] < 0.25 * seq.var() * 2


def test_lambert_shading_lights_the_side_facing_the_light():
    obj = tt._object(np.random.default_rng(1), "ellipsoid", "stripes", colour=False)
    obj["axes"], obj["radius"] = (0.8, 0.8, 0.8), 0.8
    obj["lo"] = obj["hi"] = np.float32([1.0])  # white: only the shading is left
    img = tt.render_object(obj, np.array([0.0]), 32)[0, 0]
    # the light comes from the upper left (LIGHT), so the upper left of the sphere is brighter
    assert img[8:12, 8:12].mean() > img[20:24, 20:24].mean() + 0.3
    assert img[16, 16] == pytest.approx(tt.AMBIENT + (1 - tt.AMBIENT) * float(tt.LIGHT[2]), abs=0.06)


def test_colour_and_64_pixel_renders():
    frames, _ = tt.render_turntable(1, np.random.default_rng(2), frames=2, size=64, colour=True)
    assert frames.shape == (1, 2, 3, 64, 64)
    assert np.abs(frames[0, 0, 0] - frames[0, 0, 2]).max() > 0.05  # the channels differ


def test_train_and_test_families_do_not_overlap():
    (s1, t1), (s2, t2) = tt.families("train"), tt.families("test")
    assert not set(s1) & set(s2) and not set(t1) & set(t2)
    # the wide training split has train's families and more, still none of the test's
    (sw, tw) = tt.families("wide")
    assert set(s1) < set(sw) and set(t1) < set(tw) and not set(sw) & set(s2) and not set(tw) & set(t2)
    # the holes split: the wide families and more, still none of the test's
    (sh, th) = tt.families("holes")
    assert set(sw) < set(sh) and set(tw) < set(th) and not set(sh) & set(s2) and not set(th) & set(t2)
    assert set(sh) | set(s2) == set(tt.SHAPES) and set(th) | set(t2) == set(tt.TEXTURES)


def test_the_holes_families_have_holes_necks_and_cells_and_leave_the_older_sets_as_they_were():
    rng = np.random.default_rng(5)
    drilled = tt._object(rng, "drilled", "cells", colour=False)
    for axis, u0, v0, _ in drilled["bores"]:  # on a bore's axis: outside, though inside the body
        q = np.zeros((1, 3), np.float32)
        q[0, [k for k in range(3) if k != axis]] = (u0, v0)
        assert tt._inside(drilled, q)[0] > 0
        plain = dict(drilled, bores=[])
        assert tt._inside(plain, q)[0] < 0
    bell = tt._object(rng, "dumbbell", "stripes", colour=False)
    axis, off, _ = bell["lobes"]
    centre, neck_side = np.zeros((2, 3), np.float32), np.zeros((1, 3), np.float32)
    centre[0, axis], centre[1, axis] = off, -off
    assert (tt._inside(bell, centre) < 0).all()  # both lobes solid
    side = [k for k in range(3) if k != axis][0]
    neck_side[0, side] = 0.9 * bell["axes"][side]  # beside the neck, as far out as a lobe reaches
    assert tt._inside(bell, neck_side)[0] > 0  # concave: the neck is thinner than the lobes
    frames, info = tt.render_turntable(
        2, np.random.default_rng(3), 4, 32, ("drilled", "dumbbell"), ("cells",)
    )
    for seq in frames:
        background = np.median(seq[:, 0, :3, :3])
        assert 0.1 < (np.abs(seq - background) > 0.05).mean() < 0.8
        assert 0 < float(((seq[1:] - seq[:-1]) ** 2).mean())
    # the older families draw what they drew: their objects (and sample sets) are unchanged
    old = tt._object(np.random.default_rng(7), "torus", "spots", colour=False)
    assert "bores" not in old and "cells" not in old
    assert set(old) == {
        "shape", "texture", "major", "minor", "tilt", "elevation", "step", "start", "waves", "freq",
        "phase", "spots", "radius", "lo", "hi",
    }  # fmt: skip


def test_the_wide_families_render_whole_objects_in_view():
    """Rounded boxes, bumpy ellipsoids, noise and rings: each object inside the view, turning."""
    shapes, textures = ("blob", "bumpy"), ("noise", "rings")
    frames, info = tt.render_turntable(4, np.random.default_rng(3), 4, 32, shapes, textures)
    assert [(i["shape"], i["texture"]) for i in info] == [(s, t) for t in textures for s in shapes]
    for seq in frames:
        background = np.median(seq[:, 0, :3, :3])
        cover = (np.abs(seq - background) > 0.05).mean()
        assert 0.1 < cover < 0.8
        edge = np.concatenate([seq[:, 0, 0], seq[:, 0, -1], seq[:, 0, :, 0], seq[:, 0, :, -1]], 1)
        assert np.abs(edge - edge.mean()).max() < 0.12  # nothing reaches the border: background only
        assert 0 < float(((seq[1:] - seq[:-1]) ** 2).mean())


def test_sample_turntable_is_rendered_into_the_cache_once(monkeypatch):
    from explorer.data import available_samples, load_data

    monkeypatch.setitem(tt.SETS, "turntable-test", ("test", 32, 3, 6, False))
    data = load_data("sample:turntable-test")
    assert (data.count, data.shape, data.name) == (18, (1, 32, 32), "turntable-test")
    assert data.format.startswith("folder")  # a folder of sequences: the gae trains on its frames
    assert [n.split("_", 2)[2] for n in data.class_names] == ["torus_spots", "pinched_spots", "torus_marble"]
    folder = tt.sample_folder("turntable-test")
    assert folder.startswith(os.environ["EXPLORER_CACHE_DIR"])
    stamp = os.path.getmtime(os.path.join(folder, "turntable.json"))
    again = load_data("sample:turntable-test")
    assert os.path.getmtime(os.path.join(folder, "turntable.json")) == stamp  # not rendered again
    np.testing.assert_array_equal(again.images, data.images)
    assert "turntable" in available_samples(generated=True) and "turntable" not in available_samples()
