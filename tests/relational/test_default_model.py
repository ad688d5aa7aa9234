"""The shipped default gated autoencoder does what the relational view promises (no training here)."""

import os

import pytest

from explorer.core.progress import run_to_end


def default_path():
    from explorer.data.samples import sample_data_dir

    return os.path.join(str(sample_data_dir()), "models", "gae_shifts.safetensors")


@pytest.fixture(scope="module")
def model():
    path = default_path()
    if not os.path.isfile(path):
        pytest.skip("sample_data/models/gae_shifts.safetensors is not built")
    from explorer.relational.engine import load_relational_model

    return load_relational_model(path)


def test_default_model_is_small_and_rebuilds(model):
    assert os.path.getsize(default_path()) < 2 * 1024 * 1024
    assert model.input_shape == (1, 13, 13)


def test_default_model_infers_and_transfers_shifts(model):
    from explorer.relational.evaluate import evaluate_analogy_job

    res = run_to_end(evaluate_analogy_job(model, kind="shifts", count=600, seed=123))
    assert res["nmse"] <= 0.5 < res["nmse_copy"]
    assert res["nmse_oracle"] < res["nmse"]
    assert res["knn5_mappings"] >= 0.9 > 0.4 > res["knn5_pixels"]
