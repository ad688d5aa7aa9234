import numpy as np
import torch

from explorer.core.imageset import ImageSet
from explorer.core.progress import run_to_end
from explorer.data.generators import shift_pairs
from explorer.models.gae import GaeConfig, GatedAutoencoder


def shifts(n, seed=0, size=9):
    x, y, dx, dy = shift_pairs(n, np.random.default_rng(seed), size=size, max_shift=1)
    return ImageSet(
        images=x[:, None],
        partners=y[:, None],
        transforms={"dx": dx, "dy": dy},
        name="shifts",
        labels=(dy + 1) * 3 + dx + 1,
    )


def test_registered_for_the_engine_as_a_pair_model():
    from explorer.models.base import model_class

    cls = model_class("gae")
    assert cls is GatedAutoencoder and cls.needs_pairs


def test_filter_normalisation_sets_every_column_to_the_average_norm():
    m = GatedAutoencoder(GaeConfig(factors=10, mapping=4), (1, 4, 4))
    with torch.no_grad():
        m.U.mul_(torch.linspace(0.1, 3, 10))
    mean_before = float(m.U.detach().norm(dim=0).mean())
    m.after_step()
    norms = m.U.detach().norm(dim=0)
    assert torch.allclose(norms, torch.full_like(norms, mean_before), rtol=1e-5)


def test_whitening_is_fitted_on_the_first_epoch_and_undone_on_output():
    data = shifts(300)
    m = GatedAutoencoder(GaeConfig(factors=16, mapping=4), (1, 9, 9))
    assert not bool(m.fitted)
    next(m.batches(data, 32, np.random.default_rng(0)))
    assert bool(m.fitted)
    flat = torch.from_numpy(data.float_images()).reshape(300, -1)
    flat = (flat - flat.mean(1, keepdim=True)) / flat.std(1, keepdim=True, unbiased=False)
    white = m.whiten(flat)
    back = m.dewhiten(white)  # the image again, minus the 1% of variance whitening drops
    lost = float(((back - flat) ** 2).sum() / ((flat - flat.mean(0)) ** 2).sum())
    assert lost < 0.03
    cov = torch.cov(white.T)
    top = torch.linalg.eigvalsh(cov)[-5:]
    assert torch.all((top > 0.5) & (top < 2.0))  # whitened: leading variances near 1 (300 samples)


def test_engine_trains_it_and_a_checkpoint_rebuilds_it(tmp_path):
    from explorer.models.checkpoint import load
    from explorer.training.engine import TrainConfig, train

    data = shifts(600)
    path = tmp_path / "gae.safetensors"
    cfg = TrainConfig(
        model="gae",
        epochs=3,
        batch_size=50,
        lr=3e-3,
        seed=0,
        device="cpu",
        options={"factors": 32, "mapping": 8},
        checkpoint=str(path),
        threads=1,
    )
    result = run_to_end(train(cfg, data))
    hist = result.history
    assert hist[-1]["loss"] < hist[0]["loss"]
    assert "nmse" in hist[-1] and np.isfinite(hist[-1]["nmse"])
    ckpt = load(path)
    assert ckpt.architecture == "gae" and ckpt.input_shape == (1, 9, 9)
    x = torch.from_numpy(data.float_images(slice(0, 5)))
    y = torch.from_numpy(data.float_partners(slice(0, 5)))
    with torch.no_grad():
        a = result.model.cpu().apply(result.model.mappings(x, y), x)
        b = ckpt.model.apply(ckpt.model.mappings(x, y), x)
    assert torch.allclose(a, b, atol=1e-5)
    assert bool(ckpt.model.fitted)


def test_sample_panel_is_rows_of_filter_pairs():
    m = GatedAutoencoder(GaeConfig(factors=20, mapping=4), (1, 5, 5))
    panel = m.sample_panel(np.zeros((4, 1, 5, 5), np.float32))
    assert panel.shape == (2, 16, 1, 5, 5)
    assert panel.min() >= 0 and panel.max() <= 1


def test_pair_symmetries_keep_pairs_related_by_a_shift():
    from explorer.data.generators import apply_shift
    from explorer.models.gae import pair_symmetries

    x, y, dx, dy = shift_pairs(40, np.random.default_rng(3), size=9, max_shift=2)
    a, b = pair_symmetries(x[:, None], y[:, None], np.random.default_rng(0))
    changed = 0
    for i in range(40):
        ok = []
        for sx in range(-2, 3):
            for sy in range(-2, 3):
                moved = apply_shift(a[i, 0], sx, sy, fill=np.nan)
                mask = ~np.isnan(moved)
                ok.append(
                    np.allclose(moved[mask], b[i, 0][mask]) and abs(sx) + abs(sy) == abs(dx[i]) + abs(dy[i])
                )
        assert any(ok)
        changed += not np.array_equal(a[i, 0], x[i])
    assert changed > 20  # most pairs were mirrored, turned or swapped


def test_residual_gae_with_no_change_copies_x_and_works_at_a_lower_resolution():
    """Issue 18 item 2: y = x + delta(x, z); with delta's output weights at zero the prediction
    is x itself (copying), at the input's size also when the mapping works on pooled images."""
    import torch

    rng = np.random.default_rng(0)
    x = rng.random((5, 1, 12, 12)).astype(np.float32)
    for work in (0, 6):
        m = GatedAutoencoder(GaeConfig(factors=16, mapping=4, residual=True, work_size=work), (1, 12, 12))
        assert m.U.shape == ((144 if work == 0 else 36), 16) and m.work_shape == (1, work or 12, work or 12)
        m.fit_whitening(x, x[::-1].copy())
        with torch.no_grad():
            m.V.zero_()
            m.b_y.zero_()
        xt = torch.from_numpy(x)
        z = m.mappings(xt, xt)
        np.testing.assert_allclose(m.apply(z, xt).detach().numpy(), x, atol=1e-5)
        loss, parts = m.loss({"x": xt, "y": xt})
        assert float(loss.detach()) < 1e-8 and set(parts) == {"recon_y", "recon_x"}


def test_residual_gae_learns_a_shift_better_than_copying():
    """A few hundred steps on shifted random dots: the residual model's analogies beat copying."""
    from explorer.core.progress import run_to_end
    from explorer.relational.defaults import shift_training_set
    from explorer.relational.engine import analogy, nmse
    from explorer.relational.evaluate import generated_quadruples
    from explorer.training.engine import TrainConfig, train

    data = shift_training_set(3000, seed=3, size=9)
    options = {"factors": 64, "mapping": 16, "residual": True, "symmetries": False, "warmup_steps": 100}
    config = TrainConfig(
        model="gae", epochs=8, batch_size=100, lr=3e-3, seed=0, device="cpu", options=options
    )
    result = run_to_end(train(config, data))
    q = generated_quadruples("shifts", 500, 9, seed=11)
    ours = nmse(analogy(result.model, q["x"], q["y"], q["x2"]), q["y2"])
    assert ours < 0.8 * nmse(q["x2"], q["y2"])
