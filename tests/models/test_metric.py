"""Metric learning: the proxy losses and the batch-norm tower train and their loss falls; the
pseudo-siamese (untied towers) learns to match the two views of sample:stereo."""

import json

import numpy as np
import pytest
import torch

from explorer.cli import main
from explorer.core.progress import run_to_end
from explorer.data import load_data
from explorer.models.base import build_model
from explorer.training.engine import TrainConfig, train


@pytest.fixture(scope="module")
def digits():
    return load_data("sample:digits").subset(np.arange(480))


@pytest.fixture(scope="module")
def stereo():
    return load_data("sample:stereo").subset(np.arange(800))


@pytest.mark.parametrize(
    ("options", "fall"),
    [
        ({"loss": "normsoftmax", "temperature": 0.05}, 0.9),
        ({"loss": "arcface", "margin": 0.2, "temperature": 0.05}, 0.9),
        # proxy-anchor's loss has a high floor (every proxy's soft-plus over its negatives)
        ({"loss": "proxyanchor", "views": 1, "instance_weight": 0.0, "augment": 0.0}, 0.95),
        ({"tower": "bn", "channels": [8, 16], "hidden": 0}, 0.9),
        ({"lr_schedule": "cosine"}, 0.9),
        ({"loss": "multisim"}, 0.9),
        ({"recon_weight": 1.0}, 0.9),
        ({"shear": 0.3, "thickness": 0.5}, 0.9),
        ({"glyph_classes": 4}, 0.9),
        ({"loss": "normsoftmax", "temperature": 0.05, "glyph_classes": 2}, 0.9),  # glyphs: no proxies
    ],
)
def test_new_metric_losses_train_and_fall(digits, options, fall):
    config = TrainConfig(
        model="triplet",
        epochs=4,
        batch_size=32,
        lr=3e-3,
        code_dim=8,
        seed=1,
        # each option on its own, without the default's class symmetries (80 classes of 8x8 digits)
        options={"channels": [8, 16], "hidden": 32, "val_by_class": False, "class_symmetries": 1, **options},
    )
    result = run_to_end(train(config, digits))
    losses = [h["loss"] for h in result.history]
    assert all(np.isfinite(losses)) and losses[-1] < fall * losses[0], losses
    assert result.history[-1]["auc"] > 0.8
    if options.get("loss", "").startswith(("normsoftmax", "arcface", "proxy")):
        assert result.model.config.classes == 10  # one proxy per digit, from the data


def test_proxy_losses_validate_on_held_out_classes(digits):
    """Held-out classes have no proxy: validation still gives a finite loss and an AUC."""
    config = TrainConfig(
        model="triplet",
        epochs=1,
        batch_size=32,
        code_dim=4,
        seed=1,
        val_fraction=0.2,
        options={"channels": [4], "hidden": 8, "loss": "normsoftmax", "val_by_class": True},
    )
    result = run_to_end(train(config, digits))
    assert np.isfinite(result.history[-1]["val_loss"]) and 0 <= result.history[-1]["auc"] <= 1


def test_elastic_augmentation_bends_strokes_within_range():
    from explorer.models.augment import Augment, augment_images

    torch.manual_seed(0)
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 4:24, 13:15] = 1.0  # a vertical bar
    y = augment_images(x, Augment(0, 0, 0, 0, 0, elastic=2.0))
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1
    moved = (y - x).abs().sum((1, 2, 3))
    assert bool((moved > 1).all())  # every image changed
    # the bar's centre moves by at most the displacement (2 px), so its mass stays near columns 13-14
    cols = y.sum(2).squeeze(1)  # (64, 28)
    assert float(cols[:, 9:19].sum() / cols.sum()) > 0.97


def test_proxy_loss_needs_classes():
    with pytest.raises(ValueError, match="classes"):
        build_model("triplet", (1, 8, 8), 4, {"loss": "arcface"})


def test_pseudo_siamese_learns_two_towers_on_stereo(stereo):
    model = build_model("siamese", stereo.shape, 8, {"untied": True, "tower": "mlp"})
    x = torch.from_numpy(stereo.float_images(slice(0, 16)))
    assert torch.equal(model.encode(x), model.encode_gallery(x))  # one start ...
    config = TrainConfig(model="siamese", epochs=3, batch_size=64, lr=3e-3, seed=0)
    result = run_to_end(train(config, stereo, model=model))
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < 0.8 * losses[0], losses
    assert not torch.allclose(model.encode(x), model.encode_gallery(x), atol=1e-3)  # ... two towers
    assert model.uses_partners(stereo) and result.history[-1]["auc"] > 0.75


def test_partner_protocol_pairs():
    from explorer.verification.cross import partner_protocol

    pairs = partner_protocol(30, seed=3, impostors=5)
    assert pairs.genuine == 30 and pairs.impostor == 150 and pairs.protocol == "partners"
    assert np.array_equal(pairs.i[pairs.same], pairs.j[pairs.same])
    imp = np.stack([pairs.i[~pairs.same], pairs.j[~pairs.same]], 1)
    assert (imp[:, 0] != imp[:, 1]).all() and len(np.unique(imp, axis=0)) == 150
    assert partner_protocol(4, impostors=50).impostor == 12  # every other item when there are few


def test_untied_siamese_on_stereo_from_the_command_line(tmp_path, capsys):
    out = str(tmp_path / "pseudo.safetensors")
    args = ["train", "--model", "siamese", "--data", "sample:stereo", "--epochs", "1", "--out", out]
    assert (
        main([*args, "--option", "untied=true", "--option", "tower=mlp", "--option", "pairs_per_item=0.5"])
        == 0
    )
    capsys.readouterr()
    results = {}
    for model in (out, "pixels"):
        assert main(["evaluate", "verification", "--model", model, "--data", "sample:stereo"]) == 0
        results[model] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for r in results.values():
        assert r["protocol"] == "partners" and r["genuine_pairs"] == 4000 and r["impostor_pairs"] == 200_000
    assert results[out]["auc"] > 0.7 and results[out]["tar_at_far_1e_2"] is not None  # one short epoch


def test_thickness_and_shear_augmentation():
    from explorer.models.augment import Augment, augment_images, change_thickness

    x = torch.zeros(4, 1, 28, 28)
    x[:, :, 4:24, 13:15] = 1.0  # a vertical bar, 2 px wide
    thick = change_thickness(x, torch.tensor([1.0, 0.5, 0.0, -1.0]))
    mass = thick.sum((1, 2, 3))
    assert float(mass[0]) == pytest.approx(22 * 4)  # 3x3 dilation: 4 px wide, a row longer each end
    assert float(mass[1]) == pytest.approx((22 * 4 + 40) / 2)
    assert torch.equal(thick[2], x[2]) and float(mass[3]) == 0.0  # a 2 px bar erodes away
    torch.manual_seed(0)
    y = augment_images(x, Augment(0, 0, 0, 0, 0, shear=0.3))
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1
    # a slant moves the bar's top and bottom sideways in opposite directions; its middle stays
    cols = torch.arange(28.0)
    top, mid, bottom = (
        float((y[:, 0, r] * cols).sum(1).div(y[:, 0, r].sum(1)).sub(13.5).abs().max()) for r in (5, 14, 22)
    )
    assert top > 0.5 and bottom > 0.5 and mid < 0.5


def test_glyph_classes_are_consistent_within_and_differ_between():
    from explorer.models.glyphs import glyph_images

    x = glyph_images(6, 5, (1, 28, 28), np.random.default_rng(0))
    assert x.shape == (30, 1, 28, 28) and x.dtype == np.float32
    assert float(x.min()) >= 0 and float(x.max()) == 1.0
    assert np.array_equal(x, glyph_images(6, 5, (1, 28, 28), np.random.default_rng(0)))  # seeded
    ink = x.reshape(30, -1).mean(1)
    assert 0.05 < float(ink.mean()) < 0.3  # about as much ink as an MNIST digit (0.13)
    f = x.reshape(6, 5, -1)
    f = f / np.linalg.norm(f, axis=2, keepdims=True)
    sims = np.einsum("apd,bqd->abpq", f, f).mean((2, 3))  # (6, 6) mean cosine between classes
    within = np.diag(sims)
    between = sims[~np.eye(6, dtype=bool)]
    assert within.min() > between.mean() + 0.15
    rgb = glyph_images(2, 2, (3, 16, 20), np.random.default_rng(1))
    assert rgb.shape == (4, 3, 16, 20) and np.array_equal(rgb[:, 0], rgb[:, 2])
