"""Rendered image sequences: shapes that turn or move at a constant rate, frame by frame.

A gated autoencoder trained on consecutive frames learns the motion, not the shapes, so it should
carry a motion over to objects it never saw. Each sequence is one object (a random polygon, an
ellipse or a letter-like glyph with its own striped texture) on a dark background, turning by
``omega`` degrees and moving by ``(vx, vy)`` pixels per frame; rendering at 4x and averaging down
keeps sub-pixel motion smooth.

    frames, motions = render_sequences(40, np.random.default_rng(0))  # (S, T, H, W), dict of (S,)
    write_sequence_folder("seqs/", frames)      # seqs/seq_000/frame_00.png ... (explorer.data loads it)
"""

from __future__ import annotations

import os

import numpy as np

from explorer.core.atomic import atomic_write

SUPER = 4  # supersampling factor
SHAPES = ("polygon", "ellipse", "glyph")
OMEGAS = (-24.0, -12.0, 12.0, 24.0)  # degrees per frame
VELOCITIES = (-1, 0, 1)  # pixels per frame in x and y


def _shape_points(kind: str, rng: np.random.Generator, radius: float) -> list[np.ndarray]:
    """Outline(s) of one object as (k, 2) arrays of (x, y) about the origin, in pixels."""
    if kind == "polygon":
        k = int(rng.integers(3, 8))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = radius * rng.uniform(0.45, 1.0, k)
        return [np.stack([r * np.cos(ang), r * np.sin(ang)], 1)]
    if kind == "ellipse":
        t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        a, b = radius * rng.uniform(0.6, 1.0), radius * rng.uniform(0.25, 0.55)
        pts = np.stack([a * np.cos(t), b * np.sin(t)], 1)
        notch = np.stack([0.35 * a + 0.25 * radius * np.cos(t), 0.25 * radius * np.sin(t)], 1)
        return [pts, notch]  # a second, brighter blob so the turn is visible
    if kind == "glyph":  # two or three strokes, like a letter
        outlines = []
        for _ in range(int(rng.integers(2, 4))):
            p0, p1 = rng.uniform(-radius, radius, (2, 2))
            d = p1 - p0
            n = np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-6) * radius * 0.18
            outlines.append(np.stack([p0 + n, p1 + n, p1 - n, p0 - n]))
        return outlines
    raise ValueError(f"unknown shape kind {kind!r}")


def render_sequences(
    count: int,
    rng: np.random.Generator,
    frames: int = 8,
    size: int = 16,
    kinds: tuple[str, ...] = SHAPES,
    omegas: tuple[float, ...] = OMEGAS,
    velocities: tuple[int, ...] = VELOCITIES,
    motions: dict[str, np.ndarray] | None = None,
    motion: str = "both",
    textured: bool = True,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``count`` sequences of ``frames`` float32 frames (count, frames, size, size) in [0, 1], and
    their per-sequence motions {"omega", "vx", "vy", "kind"} (given ``motions`` are reused, so two
    calls can render different objects under the same motions).

    motion: "turn" (about the image centre), "move" (constant velocity) or "both".
    textured: fill each object with its own random pattern of stripes that moves with it
    (otherwise flat grey), so that its motion can be seen inside it and not only at its edge.
    """
    from PIL import Image, ImageDraw

    if motions is None:
        motions = {
            "omega": rng.choice(np.asarray(omegas, dtype=np.float32), count),
            "vx": rng.choice(np.asarray(velocities, dtype=np.int64), count),
            "vy": rng.choice(np.asarray(velocities, dtype=np.int64), count),
        }
        if motion == "turn":
            motions["vx"][:] = 0
            motions["vy"][:] = 0
        elif motion == "move":
            motions["omega"][:] = 0
    motions = {k: np.asarray(v)[:count].copy() for k, v in motions.items() if k != "kind"}
    kind_idx = rng.integers(0, len(kinds), count)
    motions["kind"] = kind_idx
    big = size * SUPER
    out = np.empty((count, frames, size, size), dtype=np.float32)
    radius = size * 0.3 if motion != "turn" else size * 0.42
    grid = (np.arange(big) + 0.5) / SUPER  # pixel-centre coordinates of the supersampled grid
    gx, gy = np.meshgrid(grid, grid)
    for s in range(count):
        outlines = _shape_points(kinds[kind_idx[s]], rng, radius)
        shade = rng.uniform(0.6, 1.0, len(outlines))
        waves = rng.normal(size=(3, 2)) * 0.7  # the object's own texture: 3 random plane waves
        phases = rng.uniform(0, 2 * np.pi, 3)
        theta0 = rng.uniform(0, 360)
        vx, vy, om = float(motions["vx"][s]), float(motions["vy"][s]), float(motions["omega"][s])
        travel = np.array([vx, vy]) * (frames - 1)  # start so the whole path stays in the frame
        jitter = rng.uniform(-1, 1, 2) if motion != "turn" else np.zeros(2)
        centre = np.array([size / 2.0, size / 2.0]) - travel / 2 + jitter
        for t in range(frames):
            a = np.deg2rad(theta0 + om * t)
            rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
            c = centre + np.array([vx, vy]) * t
            canvas = Image.new("L", (big, big), 0)
            draw = ImageDraw.Draw(canvas)
            for pts, g in zip(outlines, shade):
                p = (pts @ rot.T + c) * SUPER
                draw.polygon([tuple(q) for q in p], fill=int(255 * g))
            img = np.asarray(canvas, dtype=np.float32) / 255.0
            if textured:
                # object-frame coordinates of every pixel: the texture turns and moves with it
                qx = (gx - c[0]) * rot[0, 0] + (gy - c[1]) * rot[1, 0]
                qy = (gx - c[0]) * rot[0, 1] + (gy - c[1]) * rot[1, 1]
                tex = sum(np.sin(w[0] * qx + w[1] * qy + ph) for w, ph in zip(waves, phases))
                img = img * (0.55 + 0.45 * np.tanh(tex))
            out[s, t] = img.reshape(size, SUPER, size, SUPER).mean((1, 3))
    return out, motions


def write_sequence_folder(folder: str, frames: np.ndarray, prefix: str = "seq") -> list[str]:
    """Write (S, T, H, W) frames as ``folder/<prefix>_NNN/frame_TT.png``; returns the sub-folders."""
    from PIL import Image

    subs = []
    for s, seq in enumerate(frames):
        sub = os.path.join(folder, f"{prefix}_{s:03d}")
        os.makedirs(sub, exist_ok=True)
        for t, frame in enumerate(seq):
            img = Image.fromarray((np.clip(frame, 0, 1) * 255 + 0.5).astype(np.uint8))
            atomic_write(
                os.path.join(sub, f"frame_{t:02d}.png"), lambda tmp, im=img: im.save(tmp, format="PNG")
            )
        subs.append(sub)
    return subs


def sequence_pairs_arrays(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive frames of (S, T, H, W) sequences as (x, y) float32 (S*(T-1), 1, H, W)."""
    s, t, h, w = frames.shape
    return (frames[:, :-1].reshape(-1, 1, h, w).copy(), frames[:, 1:].reshape(-1, 1, h, w).copy())


def cross_object_quadruples(
    count: int,
    rng: np.random.Generator,
    frames: int = 8,
    size: int = 16,
    kinds: tuple[str, ...] = SHAPES,
    **render,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Quadruples (x, y, x', y'), each float32 (count, 1, size, size): (x, y) two consecutive frames
    of one new object, (x', y') of another new object under the same motion."""
    # two frames each are enough: every sequence starts at a random angle (and place)
    a, motions = render_sequences(count, rng, 2, size, kinds, **render)
    b, _ = render_sequences(count, rng, 2, size, kinds, motions=motions, **render)
    add = lambda v: v[:, None].astype(np.float32)  # noqa: E731
    return add(a[:, 0]), add(a[:, 1]), add(b[:, 0]), add(b[:, 1])
