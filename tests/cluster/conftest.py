"""Ray for the cluster tests: one local Ray per module (starting one costs seconds), and a folder
of small colour photos of mixed sizes."""

from __future__ import annotations

import os

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="the cluster extra (ray) is not installed")


@pytest.fixture(scope="module")
def local_ray():
    """Ray started in this process with 2 CPUs (the engine joins it and leaves it running)."""
    if ray.is_initialized():
        ray.shutdown()
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        object_store_memory=200 * 1024 * 1024,
    )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
    """3 class folders x 12 JPEG/PNG colour photos of mixed sizes (seeded); returns the folder."""
    from PIL import Image

    rng = np.random.default_rng(7)
    root = tmp_path_factory.mktemp("photos")
    for k, name in enumerate(["cat", "dog", "owl"]):
        os.makedirs(root / name)
        for i in range(12):
            h, w = (int(rng.integers(30, 70)), int(rng.integers(30, 90)))
            base = np.zeros((h, w, 3), np.float32)
            base[..., k] = np.linspace(60, 250, w)[None, :]
            arr = np.clip(base + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8)
            ext = "jpg" if i % 3 else "png"
            Image.fromarray(arr, "RGB").save(root / name / f"img{i}.{ext}")
    return str(root)
