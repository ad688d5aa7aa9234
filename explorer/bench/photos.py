"""A seeded folder of colour JPEG "photos" (640x480, 10 class folders) for the collection rows.

Made once per (count, seed) in ``cache_dir("bench", ...)`` and reused: generation writes into a
``.partial`` folder that is renamed when whole, so a killed run never leaves a half folder that
looks finished. Each class has its own palette and shape; items vary in position, size and
colour, so a pixel baseline separates classes only partly (as with real photos).
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np

from explorer.core.paths import cache_dir

WIDTH, HEIGHT = 640, 480
CLASSES = 10
# past this many, items are hard links to the first UNIQUE photos (same class, same bytes, their own
# path): every file is still opened and decoded on its own, but 100,000 photos take minutes to make
# and 1 GB of disk, not an hour and 9 GB on a shared 2-core machine
UNIQUE = 10_000


def photo_folder(count: int, seed: int = 0, log=None) -> str:
    """Path of a folder with ``count`` JPEGs in ``CLASSES`` sub-folders (made on first call)."""
    root = cache_dir("bench")
    final = os.path.join(root, f"photos-{WIDTH}x{HEIGHT}-{count}-s{seed}")
    marker = final + ".json"  # beside the folder, so the folder holds only class folders
    if os.path.exists(marker) and os.path.isdir(final):
        return final
    partial = final + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    for k in range(CLASSES):
        os.makedirs(os.path.join(partial, f"class_{k:02d}"))
    rng = np.random.default_rng(seed)
    bases = [_base(k, rng) for k in range(CLASSES)]
    first = photo_folder(UNIQUE, seed, log) if count > UNIQUE else None
    for i in range(count):
        k = i % CLASSES
        target = os.path.join(partial, f"class_{k:02d}", f"img_{i:06d}.jpg")
        if first is not None:
            source = os.path.join(first, f"class_{k:02d}", f"img_{i % UNIQUE:06d}.jpg")
            try:
                os.link(source, target)
            except OSError:  # no hard links here: a copy
                shutil.copyfile(source, target)
            continue
        _photo(bases[k], k, np.random.default_rng([seed, i])).save(target, quality=85)
        if log is not None and i and i % 5000 == 0:
            log(f"photos: {i:,}/{count:,}")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(partial, final)
    with open(marker, "w") as f:
        json.dump({"count": count, "seed": seed, "size": [WIDTH, HEIGHT], "classes": CLASSES}, f)
    return final


def _base(k: int, rng: np.random.Generator):
    """A class's background, twice the photo size: a two-colour diagonal gradient with grain (so
    the JPEGs are about as large, and as slow to decode, as camera photos of that size)."""
    from PIL import Image

    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    h, w = 2 * HEIGHT, 2 * WIDTH
    t = (np.add.outer(np.arange(h) / h, np.arange(w) / w) / 2)[..., None]
    grain = rng.normal(0, 18, (h, w, 1))
    return Image.fromarray(np.clip(a * (1 - t) + b * t + grain, 0, 255).astype(np.uint8), "RGB")


def _photo(base, k: int, rng: np.random.Generator):
    from PIL import ImageDraw

    x, y = int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT))
    im = base.crop((x, y, x + WIDTH, y + HEIGHT))
    draw = ImageDraw.Draw(im)
    hue = np.array([(37 * k) % 256, (91 * k + 60) % 256, (53 * k + 120) % 256])
    for _ in range(int(rng.integers(3, 7))):
        cx, cy = rng.integers(0, WIDTH), rng.integers(0, HEIGHT)
        r = int(rng.integers(30, 160))
        colour = tuple(int(v) for v in np.clip(hue + rng.normal(0, 40, 3), 0, 255))
        box = (cx - r, cy - r // (1 + k % 3), cx + r, cy + r // (1 + k % 3))
        (draw.ellipse if k % 2 == 0 else draw.rectangle)(box, fill=colour)
    return im
