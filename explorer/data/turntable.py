"""Turning objects on a turntable: textured, Lambert-shaded 3-D shapes rendered by ray casting.

Each object is a solid (a superquadric: ellipsoid, box, cylinder, pinched star; or a torus) with
a procedural solid texture (stripes, checks, spots, marble: a function of the point on the object,
so the texture turns with it), lit by one fixed light, seen by an orthographic camera from a
little above, and turned about its vertical axis by a few degrees per frame. Numpy only, seeded.

    frames, info = render_turntable(12, np.random.default_rng(0), frames=50, size=32)
    # frames float32 (12, 50, 1, 32, 32) in [0, 1]; info: per object shape, texture, step, ...

Families split train from test: the default training objects are ellipsoids, boxes and cylinders
with stripes or checks; the test objects are tori and pinched stars with spots or marble, so a
model is tested on shapes *and* textures it never saw. ``sample:turntable`` (and
``-test``, ``64``, ``64-test``, ``-wide``) write such sets as folders of sequences (one sub-folder per object,
``frame_00.png`` ...) into the cache on first use; nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np

SHAPES = ("ellipsoid", "box", "cylinder", "blob", "bumpy", "drilled", "dumbbell", "torus", "pinched")
TEXTURES = ("stripes", "checks", "noise", "rings", "cells", "spots", "marble")
TRAIN_SHAPES, TEST_SHAPES = ("ellipsoid", "box", "cylinder"), ("torus", "pinched")
TRAIN_TEXTURES, TEST_TEXTURES = ("stripes", "checks"), ("spots", "marble")
# more training families (still none of the test's): rounded boxes and bumpy ellipsoids, blotchy
# noise and concentric rings
WIDE_SHAPES = TRAIN_SHAPES + ("blob", "bumpy")
WIDE_TEXTURES = TRAIN_TEXTURES + ("noise", "rings")
# and holes, concavities and patches (still none of the test's): boxes bored through by one or two
# straight round holes (not a ring: a torus is a circle swept round an axis), two ellipsoids joined
# by a smooth neck (not a star: convex lobes), and cells of random grey with dark borders (not
# spots: flat patches tiling the surface, not bright blobs on a dark ground)
HOLES_SHAPES = WIDE_SHAPES + ("drilled", "dumbbell")
HOLES_TEXTURES = WIDE_TEXTURES + ("cells",)
LIGHT = np.array(
    [-0.45, 0.55, 0.70], np.float32
)  # towards the light, camera frame (x right, y up, z to viewer)
LIGHT /= np.linalg.norm(LIGHT)
AMBIENT = 0.22
MARCH = 16  # coarse samples along each ray through the bounding sphere
REFINE = 9  # bisection steps at the first hit
SUPER = 2  # supersampling per axis

# what a sample set is: name -> (split, size, objects, frames, colour)
SETS = {
    "turntable": ("train", 32, 24, 50, False),
    # 48 objects: scores on 12 swung with the draw (one model: 0.59, 0.51 of copying on two sets
    # of 12; 0.49 and 0.48 on two of 48)
    "turntable-test": ("test", 32, 48, 50, False),
    "turntable64": ("train", 64, 24, 50, False),
    "turntable64-test": ("test", 64, 48, 50, False),  # the 32-px test objects (48 of them)
    # more objects of more families (none of the test's): what a model of change carries over
    # to new shapes and textures improves with it (bgae: 0.53 -> 0.49 of copying's error on 24 ->
    # 96 objects; 384 (the 96 and 288 more): 0.47 after 600 steps); renders in about 2 minutes
    "turntable-wide": ("wide", 32, 384, 50, False),
}
VERSION = 2  # bump when rendering changes: the cache key includes it (2: the wide families
# draw more random numbers per object, so a set rendered by version 1 holds other objects)


# ---- the objects ------------------------------------------------------------------------------
def _object(rng: np.random.Generator, shape: str, texture: str, colour: bool) -> dict:
    """Random parameters of one object of the given families (all plain floats and arrays)."""
    obj: dict = {"shape": shape, "texture": texture}
    if shape == "torus":
        obj["major"] = float(rng.uniform(0.45, 0.58))
        obj["minor"] = float(rng.uniform(0.16, 0.26))
    else:
        e = {
            "ellipsoid": (1.0, 1.0),
            "box": (rng.uniform(0.1, 0.35), rng.uniform(0.1, 0.35)),
            "cylinder": (rng.uniform(0.1, 0.3), 1.0),
            "pinched": (rng.uniform(1.4, 2.2), rng.uniform(1.4, 2.2)),
            "blob": (rng.uniform(0.4, 1.2), rng.uniform(0.4, 1.2)),
            "bumpy": (1.0, 1.0),
            # drawn below, after every draw the older families make (their sets stay the same)
            "drilled": (1.0, 1.0),
            "dumbbell": (1.0, 1.0),
        }[shape]
        obj["e"] = (float(e[0]), float(e[1]))
        big = 0.78 if shape != "pinched" else 0.92  # stars reach their axes' ends only at the tips
        axes = rng.uniform(0.45, 1.0, 3)
        axes = axes / axes.max() * big * rng.uniform(0.85, 1.0)
        # boxes and cylinders reach out to their corners: shrink them into the view's sphere
        reach = (
            np.sqrt((axes**2).sum())
            if shape in ("box", "blob", "drilled")
            else (np.sqrt(axes[0] ** 2 + axes[1] ** 2) if shape == "cylinder" else axes.max())
        )
        if shape == "bumpy":  # radial bumps reach out by up to 3 amplitudes
            obj["bumps"] = float(rng.uniform(0.05, 0.1))
            axes /= 1 + 3 * obj["bumps"]
        axes *= min(1.0, 0.9 / reach)
        obj["axes"] = tuple(float(a) for a in axes)
    obj["tilt"] = float(rng.uniform(-25, 25))  # the object leans on the turntable (degrees)
    obj["elevation"] = float(rng.uniform(12, 32))  # camera above the table (degrees)
    obj["step"] = float(rng.uniform(3.0, 7.0))  # degrees per frame
    obj["start"] = float(rng.uniform(0, 360))
    waves = rng.normal(size=(4, 3))
    obj["waves"] = (waves / np.linalg.norm(waves, axis=1, keepdims=True)).astype(np.float32)  # unit
    obj["freq"] = float(rng.uniform(10.0, 18.0))  # radians per unit: 2-4 periods across an object
    obj["phase"] = rng.uniform(0, 2 * np.pi, 4).astype(np.float32)
    spots = rng.normal(size=(24, 3))
    obj["spots"] = (spots / np.linalg.norm(spots, axis=1, keepdims=True) * 0.6).astype(np.float32)
    obj["radius"] = _radius(obj)  # of a sphere about the turntable's axis that holds the object
    lo, hi = rng.uniform(0.12, 0.4), rng.uniform(0.7, 1.0)
    if colour:
        tint = rng.dirichlet(np.ones(3)) * 1.2 + 0.4
        obj["lo"] = (lo * rng.dirichlet(np.ones(3)) * 2.0 + lo * 0.3).clip(0, 1).astype(np.float32)
        obj["hi"] = (hi * tint / tint.max()).clip(0, 1).astype(np.float32)
    else:
        obj["lo"], obj["hi"] = np.float32([lo]), np.float32([hi])
    _more(obj, rng)
    return obj


def _more(obj: dict, rng: np.random.Generator) -> None:
    """The parameters only the holes families have, drawn last (the older families' objects, hence
    their sample sets, are what they were)."""
    a = np.asarray(obj.get("axes", (1.0, 1.0, 1.0)))
    if obj["shape"] == "drilled":  # a rounded box bored through along one or two of its axes
        obj["e"] = (float(rng.uniform(0.15, 0.5)), float(rng.uniform(0.15, 0.5)))
        bores = []
        for axis in rng.permutation(3)[: int(rng.integers(1, 3))]:
            across = np.delete(a, axis)
            centre = rng.uniform(-0.15, 0.15, 2) * across
            bores.append((int(axis), *map(float, centre), float(rng.uniform(0.35, 0.6) * across.min())))
        obj["bores"] = bores
    elif obj["shape"] == "dumbbell":  # two ellipsoidal lobes along the longest axis, a smooth neck
        long = int(np.argmax(a))
        obj["lobes"] = (long, float(0.45 * a[long]), float(rng.uniform(0.75, 1.0)))
        obj["neck"] = float(rng.uniform(0.02, 0.05))
        obj["axes"] = tuple(float(v) for v in a * 0.55)
    if obj["texture"] == "cells":  # 40 cell centres in the object's box and a grey level for each
        obj["cells"] = rng.uniform(-0.9, 0.9, (40, 3)).astype(np.float32)
        obj["levels"] = rng.uniform(0.0, 1.0, 40).astype(np.float32)
    obj["radius"] = _radius(obj)


def _radius(obj: dict) -> float:
    """A bound on how far the object reaches from its centre (the rays outside it are skipped)."""
    if obj["shape"] == "torus":
        return obj["major"] + obj["minor"]
    a = np.asarray(obj["axes"])
    if obj["shape"] in ("box", "blob", "drilled"):
        return float(np.sqrt((a**2).sum()))
    if obj["shape"] == "dumbbell" and "lobes" in obj:
        return float(obj["lobes"][1] + a.max())
    if obj["shape"] == "cylinder":
        return float(np.sqrt(max(a[0], a[2]) ** 2 + a[1] ** 2))
    if obj["shape"] == "bumpy":
        return float(a.max() * (1 + 3 * obj["bumps"]))
    return float(a.max())  # ellipsoids and pinched stars reach no further than their longest axis


def _inside(obj: dict, q: np.ndarray) -> np.ndarray:
    """Signed inside-outside value at object-frame points q (..., 3): < 0 inside, about a distance
    near the surface (so finite differences give the normal)."""
    x, y, z = q[..., 0], q[..., 1], q[..., 2]
    if obj["shape"] == "torus":
        ring = np.sqrt(x * x + z * z) - obj["major"]
        return np.sqrt(ring * ring + y * y) - obj["minor"]
    if obj["shape"] == "dumbbell":
        axis, off, second = obj["lobes"]
        shift = np.zeros(3, np.float32)
        shift[axis] = off
        axes = np.asarray(obj["axes"], np.float32)
        one = (np.linalg.norm((q - shift) / axes, axis=-1) - 1.0) * axes.min()
        two = (np.linalg.norm((q + shift) / (axes * second), axis=-1) - 1.0) * axes.min() * second
        k = obj["neck"]
        return -k * np.logaddexp(-one / k, -two / k)  # a smooth union: the neck is concave
    e1, e2 = obj["e"]
    a, b, c = obj["axes"]
    tiny = np.float32(1e-12)
    if obj["shape"] == "drilled":
        h = (np.abs(x / a) + tiny) ** (2 / e2) + (np.abs(z / c) + tiny) ** (2 / e2)
        body = ((h ** (e2 / e1) + (np.abs(y / b) + tiny) ** (2 / e1)) ** (e1 / 2) - 1.0) * min(obj["axes"])
        for axis, u0, v0, r in obj["bores"]:  # minus a round hole along the axis through (u0, v0)
            u, v = np.delete(np.moveaxis(q, -1, 0), axis, axis=0)
            body = np.maximum(body, r - np.sqrt((u - u0) ** 2 + (v - v0) ** 2))
        return body
    if obj["shape"] == "bumpy":  # an ellipsoid whose radius waves with the direction
        r = np.sqrt((x / a) ** 2 + (y / b) ** 2 + (z / c) ** 2) + tiny
        d = q / np.asarray(obj["axes"], np.float32) / r[..., None]  # unit direction (scaled frame)
        w, ph = obj["waves"], obj["phase"]
        bump = sum(np.sin(3.0 * (d @ w[k]) * (k + 2) + ph[k]) for k in range(3))
        return (r - 1.0 - obj["bumps"] * bump) * min(obj["axes"])
    if e1 == e2 == 1.0:  # ellipsoids: no powers needed
        return (np.sqrt((x / a) ** 2 + (y / b) ** 2 + (z / c) ** 2) - 1.0) * min(obj["axes"])
    h = (np.abs(x / a) + tiny) ** (2 / e2) + (np.abs(z / c) + tiny) ** (2 / e2)  # horizontal
    f = h ** (e2 / e1) + (np.abs(y / b) + tiny) ** (2 / e1)  # y is the object's vertical axis
    return (f ** (e1 / 2) - 1.0) * min(obj["axes"])


def _albedo(obj: dict, q: np.ndarray) -> np.ndarray:
    """Texture value in [0, 1] at object-frame surface points q (n, 3)."""
    w, f, ph = obj["waves"], obj["freq"], obj["phase"]
    t = obj["texture"]
    if t == "stripes":
        v = 0.5 + 0.5 * np.sin(f * (q @ w[0]) + ph[0])
    elif t == "checks":
        s = np.sin(0.8 * f * q[:, 0] + ph[0]) * np.sin(0.8 * f * q[:, 1] + ph[1]) * np.sin(0.8 * f * q[:, 2])
        v = 0.5 + 0.5 * np.tanh(8 * s)
    elif t == "spots":
        d2 = ((q[:, None, :] - obj["spots"][None]) ** 2).sum(-1)  # (n, spots)
        v = np.clip(1.5 * np.exp(-d2 * (f * 3.0)).sum(1), 0, 1)
    elif t == "noise":  # blotches: a few plane waves summed and sharpened
        s = sum(np.sin(f * (0.55 + 0.2 * k) * (q @ w[k]) + ph[k]) for k in range(4))
        v = 0.5 + 0.5 * np.tanh(1.5 * s)
    elif t == "rings":  # concentric shells about a point inside the object
        v = 0.5 + 0.5 * np.sin(1.2 * f * np.linalg.norm(q - 0.5 * obj["spots"][0], axis=1) + ph[0])
    elif t == "cells":  # flat patches (the grey of the nearest cell centre), dark where cells meet
        d = np.sqrt(((q[:, None, :] - obj["cells"][None]) ** 2).sum(-1))  # (n, cells)
        near = np.argpartition(d, 1, axis=1)[:, :2]
        d1, d2 = np.take_along_axis(d, near, 1).T
        first = np.where(d1 <= d2, near[:, 0], near[:, 1])
        edge = np.clip(np.abs(d2 - d1) * (0.6 * f), 0, 1)
        v = (0.15 + 0.85 * obj["levels"][first]) * edge
    elif t == "marble":
        turb = sum(np.sin(0.6 * f * (k + 1) * (q @ w[k]) + ph[k]) / (k + 1) for k in range(1, 4))
        v = 0.5 + 0.5 * np.tanh(2.5 * np.sin(0.6 * f * (q @ w[0]) + 1.8 * turb))
    else:
        raise ValueError(f"unknown texture {t!r}")
    return v.astype(np.float32)


def _rotation(obj: dict, angle: float) -> np.ndarray:
    """Object frame -> camera frame (3, 3): lean, turn about the table's axis, view from above."""

    def rx(a):
        c, s = np.cos(a), np.sin(a)
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])

    def ry(a):
        c, s = np.cos(a), np.sin(a)
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])

    def rz(a):
        c, s = np.cos(a), np.sin(a)
        return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])

    r = rx(np.deg2rad(obj["elevation"])) @ ry(np.deg2rad(angle)) @ rz(np.deg2rad(obj["tilt"]))
    return r.astype(np.float32)


def render_object(obj: dict, angles: np.ndarray, size: int, colour: bool = False) -> np.ndarray:
    """Frames of ``obj`` turned to each angle (degrees): float32 (T, C, size, size) in [0, 1]."""
    n = size * SUPER
    g = (np.arange(n, dtype=np.float32) + 0.5) / n * 2 - 1
    u, v = np.meshgrid(g, -g)  # image x right, y up
    r2 = min(1.0, obj["radius"] * 1.02 + 0.02) ** 2
    inside_disc = u * u + v * v < r2
    pu, pv = u[inside_disc], v[inside_disc]
    half = np.sqrt(np.clip(r2 - pu * pu - pv * pv, 0, None))  # bounding sphere: z in [-half, half]
    ts = np.linspace(0.0, 1.0, MARCH, dtype=np.float32)
    ch = 3 if colour else 1
    background = (0.06 + 0.08 * (v + 1) / 2).astype(np.float32)  # dark, a faint gradient, still
    out = np.empty((len(angles), ch, size, size), np.float32)
    for k, angle in enumerate(angles):
        rot = _rotation(obj, float(angle))  # camera = rot @ object; object = rot.T @ camera
        # march front (z = +half, the viewer's side) to back
        z = half[:, None] * (1 - 2 * ts[None, :])  # (R, MARCH)
        pts = np.stack([np.broadcast_to(pu[:, None], z.shape), np.broadcast_to(pv[:, None], z.shape), z], -1)
        val = _inside(obj, pts @ rot)  # (R, MARCH); row-vector p @ rot = rot.T p
        hit_any = (val < 0).any(1)
        first = np.argmax(val < 0, axis=1)
        rays = np.flatnonzero(hit_any & (first > 0))
        lo_t = ts[first[rays] - 1]
        hi_t = ts[first[rays]]
        ru, rv, rh = pu[rays], pv[rays], half[rays]

        def point(t, ru=ru, rv=rv, rh=rh):
            return np.stack([ru, rv, rh * (1 - 2 * t)], -1)

        for _ in range(REFINE):
            mid = 0.5 * (lo_t + hi_t)
            inside = _inside(obj, point(mid) @ rot) < 0
            hi_t = np.where(inside, mid, hi_t)
            lo_t = np.where(inside, lo_t, mid)
        q = point(hi_t) @ rot  # (n, 3) object frame
        eps = np.float32(2e-3)
        grad = np.stack(
            [_inside(obj, q + eps * e) - _inside(obj, q - eps * e) for e in np.eye(3, dtype=np.float32)], -1
        )
        normal = grad @ rot.T  # object -> camera frame
        normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12
        shade = AMBIENT + (1 - AMBIENT) * np.clip(normal @ LIGHT, 0, None)
        t = _albedo(obj, q)
        albedo = obj["lo"][None, :] + t[:, None] * (obj["hi"] - obj["lo"])[None, :]  # (n, C')
        img = np.repeat(background[None], ch, axis=0)  # (C, n, n)
        flat = img.reshape(ch, -1)
        where = np.flatnonzero(inside_disc.ravel())[rays]
        flat[:, where] = (albedo * shade[:, None]).T
        out[k] = img.reshape(ch, size, SUPER, size, SUPER).mean((2, 4))
    return np.clip(out, 0.0, 1.0)


def render_turntable(
    count: int,
    rng: np.random.Generator,
    frames: int = 50,
    size: int = 32,
    shapes: tuple[str, ...] = TRAIN_SHAPES,
    textures: tuple[str, ...] = TRAIN_TEXTURES,
    colour: bool = False,
) -> tuple[np.ndarray, list[dict]]:
    """``count`` objects of the given families, each turned through ``frames`` views: float32
    (count, frames, C, size, size) in [0, 1] (C = 3 with ``colour``, else 1), and per object a dict
    {shape, texture, step (degrees per frame), start, elevation, tilt}. Shapes and textures cycle
    through the families, so every family appears about equally often."""
    out = np.empty((count, frames, 3 if colour else 1, size, size), np.float32)
    info = []
    for s in range(count):
        shape, texture = shapes[s % len(shapes)], textures[(s // len(shapes)) % len(textures)]
        obj = _object(rng, shape, texture, colour)
        out[s] = render_object(obj, obj["start"] + obj["step"] * np.arange(frames), size, colour)
        info.append({k: obj[k] for k in ("shape", "texture", "step", "start", "elevation", "tilt")})
    return out, info


def families(split: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(shapes, textures) of a split: "train", "wide" (train's and more) or "test" (shapes and
    textures neither training split has)."""
    if split == "train":
        return TRAIN_SHAPES, TRAIN_TEXTURES
    if split == "wide":
        return WIDE_SHAPES, WIDE_TEXTURES
    if split == "holes":
        return HOLES_SHAPES, HOLES_TEXTURES
    if split == "test":
        return TEST_SHAPES, TEST_TEXTURES
    raise ValueError(f"unknown split {split!r}")


def write_turntable(
    folder: str,
    split: str = "train",
    count: int = 32,
    frames: int = 50,
    size: int = 32,
    colour: bool = False,
    seed: int | None = None,
) -> list[dict]:
    """Render a split into ``folder``/obj_NNN_<shape>_<texture>/frame_TT.png (PNG, 8 bits) plus
    ``turntable.json`` (what made it, per object facts); returns the per-object facts. The seed
    defaults to one per split (train and test never share objects)."""
    from PIL import Image

    from explorer.core.atomic import atomic_write

    seed = {"train": 18_002, "test": 18_003, "wide": 18_004, "holes": 18_005}[split] if seed is None else seed
    shapes, textures = families(split)
    data, info = render_turntable(count, np.random.default_rng(seed), frames, size, shapes, textures, colour)
    os.makedirs(folder, exist_ok=True)
    for s, (seq, facts) in enumerate(zip(data, info)):
        sub = os.path.join(folder, f"obj_{s:03d}_{facts['shape']}_{facts['texture']}")
        os.makedirs(sub, exist_ok=True)
        for t, frame in enumerate(seq):
            pixels = (np.clip(frame, 0, 1) * 255 + 0.5).astype(np.uint8)
            img = Image.fromarray(pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0))
            img.save(os.path.join(sub, f"frame_{t:02d}.png"), format="PNG")  # the folder is renamed whole
    meta = {
        "version": VERSION,
        "split": split,
        "seed": seed,
        "size": size,
        "frames": frames,
        "colour": colour,
        "objects": info,
    }

    def dump(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(meta, fh, indent=1)

    atomic_write(os.path.join(folder, "turntable.json"), dump)
    return info


def sample_folder(name: str) -> str:
    """The cache folder of sample set ``name`` (see SETS), rendered there on first use."""
    from explorer.core.paths import cache_dir

    split, size, count, frames, colour = SETS[name]
    key = hashlib.sha1(json.dumps([VERSION, split, size, count, frames, colour]).encode()).hexdigest()[:10]
    folder = os.path.join(cache_dir("samples"), f"{name}-{key}")
    if not os.path.isfile(os.path.join(folder, "turntable.json")):
        # rendered beside it and renamed when whole: a killed run leaves no half a set behind
        import shutil
        import tempfile

        tmp = tempfile.mkdtemp(prefix=f".{name}-", dir=os.path.dirname(folder))
        try:
            write_turntable(tmp, split, count, frames, size, colour)
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder
