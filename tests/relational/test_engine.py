import numpy as np
import pytest
import torch

from explorer.core.errors import ExplorerError, ModelFileError
from explorer.models.gae import GaeConfig, GatedAutoencoder, filter_pairs
from explorer.relational.engine import (
    analogy,
    apply_mappings,
    filter_grid,
    infer_mappings,
    load_relational_model,
    nmse,
)


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = GatedAutoencoder(GaeConfig(factors=20, mapping=6, whiten=0), (1, 5, 5))
    with torch.no_grad():  # a model with non-trivial weights
        m.W_in.normal_(0, 1.0)
        m.W_out.normal_(0, 1.0)
    return m.eval()


def images(n, seed=0):
    return np.random.default_rng(seed).random((n, 1, 5, 5)).astype(np.float32)


def test_mappings_and_analogy_shapes(model):
    x, y, x2 = images(7, 1), images(7, 2), images(7, 3)
    z = infer_mappings(model, x, y)
    assert z.shape == (7, 6) and z.dtype == np.float32
    assert np.all((z > 0) & (z < 1))
    out = apply_mappings(model, z, x2)
    assert out.shape == x2.shape
    assert np.allclose(analogy(model, x, y, x2), out, atol=1e-6)


def test_one_pair_applies_to_many_images(model):
    x, y, x2 = images(1, 1), images(1, 2), images(4, 3)
    many = analogy(model, x, y, x2)
    one_by_one = np.concatenate([analogy(model, x, y, x2[i : i + 1]) for i in range(4)])
    assert many.shape == (4, 1, 5, 5)
    assert np.allclose(many, one_by_one, atol=1e-6)


def test_engine_matches_the_model_formula(model):
    x, y, x2 = images(3, 1), images(3, 2), images(3, 3)
    t = lambda a: torch.from_numpy(a).reshape(3, -1)  # noqa: E731

    def std(a):
        return (a - a.mean(1, keepdim=True)) / a.std(1, keepdim=True, unbiased=False)

    with torch.no_grad():
        fx, fy = std(t(x)) @ model.U, std(t(y)) @ model.V
        z = torch.sigmoid((fx * fy) @ model.W_in + model.b)
        pred = ((std(t(x2)) @ model.U) * (z @ model.W_out.T)) @ model.V.T + model.b_y
        pred = pred * t(x2).std(1, keepdim=True, unbiased=False) + t(x2).mean(1, keepdim=True)
    assert np.allclose(infer_mappings(model, x, y), z.numpy(), atol=1e-5)
    assert np.allclose(analogy(model, x, y, x2).reshape(3, -1), pred.numpy(), atol=1e-4)


def test_wrong_shape_is_a_user_error(model):
    with pytest.raises(ExplorerError, match="model takes"):
        infer_mappings(model, np.zeros((1, 1, 6, 6), np.float32), np.zeros((1, 1, 6, 6), np.float32))


def test_nmse_baselines():
    rng = np.random.default_rng(0)
    y = rng.random((500, 1, 4, 4))
    assert nmse(np.full_like(y, y.mean()), y) == pytest.approx(1.0)
    assert nmse(y, y) == 0.0
    assert nmse(rng.random(y.shape), y) == pytest.approx(2.0, rel=0.1)


def test_filter_pairs_and_grid(model):
    u, v = filter_pairs(model)
    assert u.shape == v.shape == (20, 1, 5, 5)
    assert u.min() >= 0 and u.max() <= 1 and v.min() >= 0 and v.max() <= 1
    # each pair shares one scale: the larger of the two reaches 0 or 1
    ext = np.maximum(np.abs(u - 0.5).reshape(20, -1).max(1), np.abs(v - 0.5).reshape(20, -1).max(1))
    assert np.allclose(ext, 0.5, atol=1e-6)
    grid = filter_grid(u, v, count=12, columns=4)
    assert grid.shape[0] == 1 and grid.shape[1] == 3 * 6 + 1


def test_load_relational_model_rebuilds_a_gae_and_refuses_others(model, tmp_path):
    from explorer.models.checkpoint import save

    path = tmp_path / "g.safetensors"
    save(path, model)
    loaded = load_relational_model(str(path))
    x, y, x2 = images(2, 1), images(2, 2), images(2, 3)
    assert np.allclose(analogy(loaded, x, y, x2), analogy(model, x, y, x2), atol=1e-6)

    from explorer.models.base import build_model

    ae = build_model("ae", (1, 5, 5), code_dim=2)
    save(tmp_path / "ae.safetensors", ae)
    with pytest.raises(ModelFileError, match="gated autoencoder"):
        load_relational_model(str(tmp_path / "ae.safetensors"))


def test_knn_accuracy_matches_a_plain_vote():
    from explorer.relational.evaluate import knn_accuracy

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 3)) * 5
    lab = rng.integers(0, 4, 200)
    codes = centres[lab] + rng.normal(size=(200, 3))
    assert knn_accuracy(codes[:100], lab[:100], codes[100:], lab[100:]) > 0.9
    noise = rng.normal(size=(200, 3))
    assert knn_accuracy(noise[:100], lab[:100], noise[100:], lab[100:]) < 0.5
