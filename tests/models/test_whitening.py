"""The triplet model's whitened backbone features (embedding "features"): the whitening is fitted on
the training images, goes into the checkpoint and the encoder loaded back gives the same codes."""

import json

import numpy as np
import pytest
import torch

from explorer.core.progress import run_to_end
from explorer.data import load_data
from explorer.models import load_encoder
from explorer.models.base import build_model
from explorer.models.whitening import Whitening
from explorer.training.engine import TrainConfig, train

OPTIONS = {"channels": [8, 16], "hidden": 32, "val_by_class": False, "embedding": "features"}


@pytest.fixture(scope="module")
def digits():
    return load_data("sample:digits").subset(np.arange(480))


def test_whitening_gives_unit_covariance_on_its_training_features():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(4000, 6)) @ rng.normal(size=(6, 6)) + 3.0)
    full = Whitening(6, shrink=0.0)
    full.fit(x)
    z = full.transform(x.float()).double()
    assert z.mean(0).abs().max() < 1e-4
    np.testing.assert_allclose(np.cov(z.numpy().T), np.eye(6), atol=2e-3)
    # shrunk: each component's variance is lambda / (lambda + shrink * mean lambda) < 1, in order
    shrunk = Whitening(6, shrink=3.0)
    shrunk.fit(x)
    var = np.sort(np.linalg.eigvalsh(np.cov(shrunk.transform(x.float()).double().numpy().T)))
    f = torch.nn.functional.normalize(x, dim=1)
    lam = np.sort(np.linalg.eigvalsh(np.cov(f.numpy().T)))
    np.testing.assert_allclose(var, lam / (lam + 3.0 * lam.mean()), atol=2e-3)
    # the leading components only: the same first columns as all of them, largest variance first
    lead = Whitening(6, shrink=3.0, components=2)
    lead.fit(x)
    assert lead.out_dim == 2 and lead.forward(x.float()).shape == (4000, 2)
    np.testing.assert_allclose(lead.transform(x.float()), shrunk.transform(x.float())[:, :2], atol=1e-5)
    top = lead.transform(x.float()).double().numpy().var(0, ddof=1)
    np.testing.assert_allclose(top, (lam / (lam + 3.0 * lam.mean()))[::-1][:2], atol=2e-3)


def test_features_embedding_is_whitened_and_survives_the_checkpoint(digits, tmp_path):
    path = tmp_path / "t.safetensors"
    config = TrainConfig(
        model="triplet", epochs=3, lr=3e-3, code_dim=8, seed=1, checkpoint=str(path), options=OPTIONS
    )
    result = run_to_end(train(config, digits))
    model = result.model
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < 0.95 * losses[0], losses
    assert model.code_dim == 16 * 2 * 2  # 8x8 digits: two pools to 2x2, 16 channels
    x = torch.from_numpy(digits.float_images(np.arange(200)))
    with torch.no_grad():
        codes = model.encode(x).numpy()
        head = model.embed(x).numpy()
    assert codes.shape == (200, 64) and head.shape == (200, 8)
    np.testing.assert_allclose(np.linalg.norm(codes, axis=1), 1.0, atol=1e-5)  # on the unit sphere
    assert not torch.equal(model.whitening.projection, torch.eye(64))
    loaded = load_encoder(str(path))
    assert loaded.code_dim == 64
    np.testing.assert_allclose(loaded.encode(digits.float_images(np.arange(200))), codes, atol=1e-5)
    # fitted on a set, its whitened features are centred there
    model.fit_data(digits)
    with torch.no_grad():
        x = torch.from_numpy(digits.float_images(np.arange(digits.count)))
        again = model.whitening.transform(model.tower[: model._split](x)).numpy()
    assert np.abs(again.mean(0)).max() < 1e-4


def test_a_stopped_run_saves_the_whitening_of_its_weights(digits, tmp_path):
    path = tmp_path / "t.safetensors"
    config = TrainConfig(
        model="triplet", epochs=3, lr=3e-3, code_dim=8, seed=1, checkpoint=str(path), options=OPTIONS
    )
    gen = train(config, digits)
    for _ in range(5):  # a few steps into the first epoch, before any whitening was fitted
        next(gen)
    gen.close()
    whitening = load_encoder(str(path)).module.whitening
    assert not torch.equal(whitening.projection, torch.eye(64))  # fitted when the run stopped
    assert float(whitening.mean.norm()) > 0.5  # the mean of unit features: near 1 when they agree


def test_whiten_dim_keeps_the_leading_directions_and_old_files_keep_all(digits, tmp_path):
    path = tmp_path / "t.safetensors"
    options = {**OPTIONS, "whiten_dim": 16}
    config = TrainConfig(
        model="triplet", epochs=1, lr=3e-3, code_dim=8, seed=1, checkpoint=str(path), options=options
    )
    model = run_to_end(train(config, digits)).model
    assert model.code_dim == 16 and model.whitening.projection.shape == (64, 16)
    assert load_encoder(str(path)).encode(digits.float_images(np.arange(5))).shape == (5, 16)
    # a file written before whiten_dim existed kept every direction
    from explorer.models.triplet import Triplet

    assert Triplet.saved_config({"embedding": "features"})["whiten_dim"] == 0
    # and one from before whiten_by_class whitened by the spread of all features
    assert Triplet.saved_config({"embedding": "features"})["whiten_by_class"] is False
    assert Triplet.saved_config({"embedding": "features", "whiten_by_class": True})["whiten_by_class"] is True


def test_an_mlp_tower_gives_its_code_with_embedding_features(digits):
    model = build_model("triplet", digits.shape, 8, {"embedding": "features", "tower": "mlp"})
    assert model.whitening is None and model.code_dim == 8
    assert model.encode(torch.rand(3, *digits.shape)).shape == (3, 8)


def test_a_triplet_file_from_before_the_embedding_option_loads_with_its_code(tmp_path):
    from safetensors.torch import save_file

    from explorer.models.checkpoint import load, save

    torch.manual_seed(0)
    old = build_model("triplet", (1, 8, 8), 5, {"channels": [4, 8], "embedding": "code"}).eval()
    path = tmp_path / "old.safetensors"
    save(path, old)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    config = json.loads(meta["config"])
    del config["embedding"], config["whiten_shrink"]  # as written before the option existed
    save_file(tensors, str(path), metadata={**meta, "config": json.dumps(config)})
    ck = load(path)
    assert ck.model.config.embedding == "code" and ck.model.whitening is None
    x = torch.rand(3, 1, 8, 8)
    assert torch.equal(ck.model.encode(x), old.encode(x)) and ck.model.encode(x).shape == (3, 5)


def test_within_class_whitening_discounts_the_spread_within_classes():
    # classes differ along axis 0; every class spreads widely along axis 1 (a nuisance such as
    # slant), and along axis 2 a little; axis 3 carries the common offset the normalisation sees
    rng = np.random.default_rng(0)
    n = 3000
    labels = rng.integers(0, 6, n)
    x = np.zeros((n, 4))
    x[:, 0] = labels - 2.5 + rng.normal(0, 0.1, n)
    x[:, 1] = rng.normal(0, 3.0, n)
    x[:, 2] = rng.normal(0, 0.1, n)
    x[:, 3] = 20.0
    x = torch.from_numpy(x)
    plain, within = Whitening(4, shrink=0.1, components=1), Whitening(4, shrink=0.1, components=1)
    plain.fit(x)
    within.fit(x, torch.from_numpy(labels))
    lead = lambda w: np.abs(w.projection[:, 0].numpy()) / np.linalg.norm(w.projection[:, 0].numpy())  # noqa: E731
    assert lead(plain)[1] > 0.99  # the widest spread leads the plain whitening
    assert lead(within)[0] > 0.99  # the classes' axis leads the within-class one
    # new classes along the same axis are told apart by the within-class code alone
    new = np.stack([np.full(200, 0.3), rng.normal(0, 3.0, 200), np.zeros(200), np.full(200, 20.0)], 1)
    new = torch.from_numpy(new)
    other = new.clone()
    other[:, 0] = 1.7
    a, b = within.transform(new.float())[:, 0], within.transform(other.float())[:, 0]
    assert float(a.max()) < float(b.min()) or float(b.max()) < float(a.min())
    # unlabelled items (label -1) are left out of the class statistics; one class is not enough
    one = Whitening(4, shrink=0.1, components=1)
    one.fit(x, torch.from_numpy(np.where(labels == 0, 0, -1)))
    torch.testing.assert_close(one.projection, plain.projection)


def test_encode_shifts_averages_the_whitened_features_of_moved_images():
    from explorer.models.triplet import shifted

    x = torch.arange(2 * 16, dtype=torch.float32).view(2, 1, 4, 4)
    down_right = shifted(x, 1, 2)
    assert torch.equal(down_right[:, :, 1:, 2:], x[:, :, :3, :2])
    assert down_right[:, :, 0].abs().sum() == 0 and down_right[:, :, :, :2].abs().sum() == 0
    torch.manual_seed(0)
    model = build_model("triplet", (1, 8, 8), 5, {"channels": [4, 8], "encode_shifts": 1}).eval()
    imgs = torch.rand(6, 1, 8, 8)
    model.whitening.fit(model.tower[: model._split](torch.rand(200, 1, 8, 8)), torch.arange(200) % 4)
    moves = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))
    with torch.no_grad():
        codes = model.encode(imgs)
        mean = sum(model.whitening.transform(model.tower[: model._split](shifted(imgs, *m))) for m in moves)
        model.config.encode_shifts = 0
        plain = model.encode(imgs)
    torch.testing.assert_close(codes, torch.nn.functional.normalize(mean, dim=1))
    assert codes.shape == plain.shape == (6, 32) and not torch.allclose(codes, plain)
