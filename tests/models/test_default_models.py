"""The bundled default models: real, small, and loadable by file alone."""

import numpy as np
import pytest

from explorer.data import load_data, sample_data_dir
from explorer.models import load_encoder

FILES = ["dae_mnist", "siamese_mnist"]


@pytest.mark.parametrize("name", FILES)
def test_default_model_is_small_and_trained(name):
    path = sample_data_dir() / "models" / f"{name}.safetensors"
    if not path.exists():
        pytest.skip("default models not built (python sample_data/build.py models)")
    assert path.stat().st_size < 2_000_000
    enc = load_encoder(str(path))
    assert enc.input_shape == (1, 28, 28) and enc.class_names == [str(i) for i in range(10)]
    assert enc.summary["epochs"] == enc.summary["epochs_planned"] and enc.summary["stopped"] == "completed"
    held_out = load_data("sample:mnist").subset(np.arange(4800, 5000))  # never seen in training
    codes = enc.encode(held_out.float_images())
    assert codes.shape == (200, 32) and np.isfinite(codes).all()
    # nearest neighbour (leave-one-out) of held-out digits mostly shares the class
    d = ((codes[:, None] - codes[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    p_at_1 = float((held_out.labels[d.argmin(1)] == held_out.labels).mean())
    assert p_at_1 > (0.85 if name == "siamese_mnist" else 0.75)
