"""Every model of ours trains on sample:digits, its loss falls, and its shapes are right."""

import numpy as np
import pytest
import torch

from explorer.core.progress import run_to_end
from explorer.data import load_data
from explorer.models.base import build_model, model_keys
from explorer.training.engine import TrainConfig, train

# small, quick settings: the point is that each model learns, not how well
QUICK = {
    "ae": {"hidden": [64, 32]},
    "dae": {"hidden": [64, 32]},
    "cae": {"channels": [8, 16]},
    "siamese": {"channels": [8, 16], "hidden": 32, "pairs_per_item": 1.0},
    # the triplet loss as before the supcon default, validated within the training classes
    # (val_by_class would hold out whole digits), without the class symmetries of today's default;
    # supcon and the symmetries: test_metric_losses_train_and_fall
    "triplet": {
        "class_symmetries": 1,
        "channels": [8, 16],
        "hidden": 32,
        "val_by_class": False,
        "loss": "triplet",
        "views": 1,
        "instance_weight": 0.0,
        "augment": 0.0,
        "embedding": "code",  # the head's code (the default's whitened features: test_whitening)
    },
}


@pytest.fixture(scope="module")
def digits():
    data = load_data("sample:digits")
    return data.subset(np.arange(480))


def test_our_models_are_registered():
    assert set(QUICK) | {"finetune"} <= set(model_keys())


@pytest.mark.parametrize("key", sorted(QUICK))
def test_model_trains_and_its_loss_falls(digits, key):
    config = TrainConfig(model=key, epochs=4, batch_size=32, lr=3e-3, code_dim=8, seed=1, options=QUICK[key])
    result = run_to_end(train(config, digits))
    losses = [h["loss"] for h in result.history]
    assert len(losses) == 4 and all(np.isfinite(losses))
    assert losses[-1] < 0.85 * losses[0], losses
    assert np.isfinite(result.history[-1]["val_loss"])
    if key in ("siamese", "triplet"):
        assert result.history[-1]["auc"] > 0.8  # well above chance on held-out pairs
    codes = result.model.encode(torch.from_numpy(digits.float_images(slice(0, 5))))
    assert codes.shape == (5, 8)


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 13, 13), (1, 28, 28), (3, 13, 13)])
@pytest.mark.parametrize("decoder", ["transpose", "unpool"])
def test_cae_reconstructs_any_size(shape, decoder):
    model = build_model("cae", shape, code_dim=6, options={"decoder": decoder})
    x = torch.rand(2, *shape)
    assert model.encode(x).shape == (2, 6)
    assert model.reconstruct(x).shape == (2, *shape)
    assert model.decode(model.encode(x)).shape == (2, *shape)  # without switches too


@pytest.mark.parametrize("key", ["siamese", "triplet"])
def test_metric_towers_take_odd_sizes(key):
    for shape in [(1, 8, 8), (1, 13, 13), (1, 28, 28)]:
        model = build_model(key, shape, code_dim=4, options={"tower": "conv", "channels": [8, 16]})
        dim = 4 if key == "siamese" else 16 * min(4, -(-shape[1] // 4)) ** 2  # triplet: pooled features
        assert model.encode(torch.rand(3, *shape)).shape == (3, dim) and model.code_dim == dim


def test_linear_ae_matches_pca(digits):
    """The linear AE's optimum spans the principal subspace: its error approaches PCA's."""
    from sklearn.decomposition import PCA

    config = TrainConfig(
        model="ae",
        epochs=40,
        batch_size=64,
        lr=1e-2,
        code_dim=6,
        seed=0,
        val_fraction=0,
        options={"linear": True},
    )
    model = run_to_end(train(config, digits)).model
    x = digits.float_images()
    with torch.no_grad():
        ae_mse = float(((model.reconstruct(torch.from_numpy(x)).numpy() - x) ** 2).mean())
    flat = x.reshape(len(x), -1)
    pca = PCA(6).fit(flat)
    pca_mse = float(((pca.inverse_transform(pca.transform(flat)) - flat) ** 2).mean())
    assert ae_mse < 1.1 * pca_mse, (ae_mse, pca_mse)


def test_dae_corrupts_as_configured():
    torch.manual_seed(0)
    x = torch.full((4, 1, 28, 28), 0.5)
    masked = build_model("dae", (1, 28, 28), options={"noise": 0.3}).corrupt(x)
    assert abs(float((masked == 0).float().mean()) - 0.3) < 0.03
    noisy = build_model("dae", (1, 28, 28), options={"corruption": "gaussian", "noise": 0.1}).corrupt(x)
    assert 0.08 < float((noisy - x).std()) < 0.12


def test_dae_sample_panel_rows(digits):
    model = build_model("dae", digits.shape)
    panel = model.sample_panel(digits.float_images(slice(0, 5)))
    assert panel.shape == (3, 5, 1, 8, 8) and panel.dtype == np.float32  # clean, corrupted, reconstructed
    assert panel.min() >= 0 and panel.max() <= 1


def test_contrastive_loss_formula():
    from explorer.models._metric import contrastive_loss

    d = torch.tensor([0.5, 0.5, 2.0])
    same = torch.tensor([1.0, 0.0, 0.0])
    # 0.25 for the positive, (1 - 0.5)^2 for the near negative, 0 for the far one
    assert float(contrastive_loss(d, same, margin=1.0)) == pytest.approx((0.25 + 0.25 + 0) / 3)


def test_triplet_semihard_picks_the_closest_negative_beyond_the_positive():
    from explorer.models.triplet import triplet_loss

    # anchor 0 and positive 1 at distance 1; negatives at 1.1 (semi-hard), 1.15, 0.5 (hard), 3
    codes = torch.tensor([[0.0], [1.0], [1.1], [1.15], [-0.5], [3.0]])
    labels = torch.tensor([0, 0, 1, 1, 2, 3])
    loss, _ = triplet_loss(codes, labels, margin=0.2, mining="semihard")
    # (a, p) = (0, 1): d_ap 1; semi-hard negatives in (1, 1.2) are 1.1 and 1.15 -> 1.1: 0.1
    # (1, 0): d_ap 1; negatives at 0.1, 0.15, 1.5, 2, none in (1, 1.2) -> farthest (2): 0
    # (2, 3): d_ap 0.05; semi-hard in (0.05, 0.25): 0.1 -> 0.05 - 0.1 + 0.2 = 0.15
    # (3, 2): d_ap 0.05; semi-hard: 0.15 -> 0.1
    assert float(loss) == pytest.approx((0.1 + 0 + 0.15 + 0.1) / 4, abs=1e-6)
    hard, _ = triplet_loss(codes, labels, margin=0.2, mining="hard")
    # hardest negatives: 0.5, 0.1, 0.1, 0.15 -> 0.7, 1.1, 0.15, 0.1
    assert float(hard) == pytest.approx((0.7 + 1.1 + 0.15 + 0.1) / 4, abs=1e-6)


def test_untied_siamese_has_two_towers(digits):
    model = build_model("siamese", (1, 8, 8), code_dim=4, options={"untied": True, "tower": "mlp"})
    x = torch.rand(3, 1, 8, 8)
    assert torch.equal(model.encode(x), model.encode_gallery(x))  # the same start ...
    config = TrainConfig(
        model="siamese", epochs=2, batch_size=32, lr=3e-3, options={"untied": True, "tower": "mlp"}
    )
    result = run_to_end(train(config, digits, model=model))
    assert not torch.allclose(model.encode(x), model.encode_gallery(x))  # ... then two towers
    assert result.history[-1]["loss"] < result.history[0]["loss"] and result.history[-1]["auc"] > 0.8
    assert len(model.state_dict()) == 2 * len(
        build_model("siamese", (1, 8, 8), options={"tower": "mlp"}).state_dict()
    )


def test_unknown_option_is_a_clear_error():
    from explorer.core.errors import ExplorerError

    with pytest.raises(ExplorerError, match="no option 'depth'.*code_dim"):
        build_model("ae", (1, 8, 8), options={"depth": 3})
    with pytest.raises(ExplorerError, match="Unknown model 'resnet'"):
        build_model("resnet", (1, 8, 8))


@pytest.mark.parametrize(
    "options",
    [
        {"loss": "triplet", "mining": "distance"},
        {"loss": "contrastive", "margin": 1.0},
        {"loss": "supcon", "views": 2, "instance_weight": 1.0, "class_symmetries": 8},
        {"loss": "supcon", "views": 2, "splice": True, "class_symmetries": 1},
    ],
)
def test_metric_losses_train_and_fall(digits, options):
    # the steps of 4 epochs as they were when an epoch of a symmetric run was 8 times longer
    # (virtual classes now fill a batch, not add steps)
    config = TrainConfig(
        model="triplet",
        epochs=4 * options.get("class_symmetries", 1),
        batch_size=32,
        lr=3e-3,
        code_dim=8,
        seed=1,
        options={"channels": [8, 16], "hidden": 32, **options},
    )
    result = run_to_end(train(config, digits))
    losses = [h["loss"] for h in result.history]
    assert all(np.isfinite(losses)) and losses[-1] < 0.9 * losses[0], losses
    assert result.history[-1]["auc"] > 0.8


def test_metric_model_validates_on_classes_it_never_trained_on(digits):
    config = TrainConfig(
        model="triplet",
        epochs=1,
        batch_size=32,
        code_dim=4,
        seed=1,
        val_fraction=0.2,
        options={"channels": [4], "hidden": 8, "val_by_class": True},
    )
    result = run_to_end(train(config, digits))
    assert result.summary["val_items"] + result.summary["train_items"] == digits.count
    assert 60 < result.summary["val_items"] < 130  # two of the ten digits


def test_distance_weighted_mining_prefers_rare_close_negatives():
    from explorer.models.triplet import distance_weighted_negatives

    torch.manual_seed(0)
    d_an = torch.tensor([[0.6, 1.4, 1.39]]).repeat(2000, 1)
    valid = torch.ones_like(d_an, dtype=torch.bool)
    picked = distance_weighted_negatives(d_an, valid, dim=32)
    # in 32 dimensions a distance of 0.6 is far rarer than 1.39 on the sphere: picked far more often
    assert float((picked == 0.6).float().mean()) > 0.9


def test_supcon_loss_is_low_for_separated_classes():
    from explorer.models.triplet import supcon_loss

    good = torch.nn.functional.normalize(
        torch.tensor([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0], [0.01, 1.0]]), dim=1
    )
    bad = good[[0, 2, 1, 3]]
    labels = torch.tensor([0, 0, 1, 1])
    assert float(supcon_loss(good, labels, 0.1)[0]) < float(supcon_loss(bad, labels, 0.1)[0])


def test_augmentation_keeps_shape_and_range():
    from explorer.models.augment import Augment, augment_images

    torch.manual_seed(0)
    x = torch.rand(6, 1, 28, 28)
    out = augment_images(x, Augment())
    assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    assert not torch.allclose(out, x)
    assert torch.equal(augment_images(x, Augment(0, 0, 0, 0, 0)), x)


@pytest.mark.parametrize("binary", [False, True])
def test_textae_trains_on_word_counts(tmp_path, binary):
    from explorer.data.documents import documents_set

    rng = np.random.default_rng(0)
    topics = [["cat", "kitten", "purr", "mouse"], ["car", "engine", "wheel", "brake"]]
    texts = [" ".join(rng.choice(topics[i % 2], 30)) for i in range(80)]
    data = documents_set(
        texts, [i % 2 for i in range(80)], ["cats", "cars"], [f"t#{i}" for i in range(80)], "toy", "documents"
    )
    config = TrainConfig(
        model="textae",
        epochs=8,
        batch_size=8,
        lr=1e-2,
        code_dim=8,
        seed=0,
        options={"hidden": [16], "binary": binary, "noise_steps": 20},
    )
    result = run_to_end(train(config, data))
    losses = [h["loss"] for h in result.history]
    # the floor is the entropy of a topic's words, ln 4 = 1.39, from about ln 8 at the start
    assert all(np.isfinite(losses)) and losses[-1] < 0.85 * losses[0], losses
    with torch.no_grad():
        codes = result.model.encode(torch.from_numpy(data.float_images()))
    assert codes.shape == (80, 8) and float(codes.min()) >= 0 and float(codes.max()) <= 1
    if binary:
        assert set(np.unique(codes.numpy())) <= {0.0, 1.0}
