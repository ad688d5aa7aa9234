import numpy as np
import torch

from explorer.models.basis_gae import BasisGaeConfig, BasisGatedAutoencoder


def test_fitted_weights_explain_a_change_made_of_the_basis_and_zero_is_copying():
    m = BasisGatedAutoencoder(BasisGaeConfig(mapping=2, width=8, depth=2, ridge=1e-8), (1, 10, 10))
    x = torch.from_numpy(np.random.default_rng(0).random((4, 1, 10, 10)).astype(np.float32))
    with torch.no_grad():
        s = m._std(x)[0]
        basis = m.net(s)  # (4, 2, 1, 10, 10)
        true = torch.tensor([[0.5, -1.0], [2.0, 0.0], [0.0, 0.3], [-1.0, 1.0]])
        z = m._fit(basis, m._change(basis, true))  # a change made of x's basis
        np.testing.assert_allclose(z.numpy(), true.numpy(), atol=1e-3)  # its weights are recovered
        assert m.mappings(x, x).abs().max() < 1e-4  # no change: zero weights
        assert m.mappings(x, x.flip(-1)).shape == (4, 2) and m.encode(x).shape == (4, 2)
        np.testing.assert_allclose(m.apply(torch.zeros(4, 2), x).numpy(), x.numpy(), atol=1e-5)


def test_time_reversed_batches_swap_both_pairs_alike():
    m = BasisGatedAutoencoder(BasisGaeConfig(width=4, depth=1), (1, 6, 6))
    from explorer.relational.defaults import shift_training_set

    data = shift_training_set(40, seed=1, size=6)
    batch = next(m.batches(data, 40, np.random.default_rng(0)))
    x, y = data.float_images(slice(None)), data.float_partners(slice(None))
    forward = [any(np.array_equal(b, a) for a in x) for b in batch["x"]]
    assert 0 < sum(forward) < 40  # some reversed, some not
    for i, fwd in enumerate(forward):  # a reversed pair has its partner pair reversed too
        assert any(np.array_equal(batch["x2"][i], a) for a in (x if fwd else y))


def test_bgae_trains_and_its_analogies_beat_copying():
    """Issue 18 item 2: trained a little on shifted dots, the change-basis model carries the shift
    over to new images better than copying them, and its loss falls."""
    from explorer.core.progress import run_to_end
    from explorer.relational.defaults import shift_training_set
    from explorer.relational.engine import analogy, nmse
    from explorer.relational.evaluate import generated_quadruples
    from explorer.training.engine import TrainConfig, train

    data = shift_training_set(1500, seed=4, size=9)
    config = TrainConfig(
        model="bgae",
        epochs=5,
        batch_size=50,
        lr=3e-3,
        seed=0,
        device="cpu",
        options={"width": 12, "depth": 2, "mapping": 4},
    )
    result = run_to_end(train(config, data))
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < losses[0]
    q = generated_quadruples("shifts", 400, 9, seed=12)
    ours = nmse(analogy(result.model, q["x"], q["y"], q["x2"]), q["y2"])
    assert ours < 0.9 * nmse(q["x2"], q["y2"])


def test_warp_moves_an_image_by_its_flow_in_pixels():
    from explorer.models.basis_gae import warp

    s = torch.from_numpy(np.random.default_rng(1).random((2, 1, 8, 9)).astype(np.float32))
    flow = torch.zeros(2, 2, 8, 9)
    np.testing.assert_allclose(warp(s, flow).numpy(), s.numpy(), atol=1e-6)  # no flow: the image
    flow[0, 0], flow[1, 1] = 1.0, -2.0  # one pixel right / two up: read from there
    out = warp(s, flow).numpy()
    np.testing.assert_allclose(out[0, :, :, :-1], s[0, :, :, 1:].numpy(), atol=1e-5)
    np.testing.assert_allclose(out[1, :, 2:], s[1, :, :-2].numpy(), atol=1e-5)
    flow[0, 0] = 0.25  # a quarter pixel: bilinear between neighbours
    mid = warp(s, flow).numpy()[0, :, :, :-1]
    np.testing.assert_allclose(mid, 0.75 * s[0, :, :, :-1].numpy() + 0.25 * s[0, :, :, 1:].numpy(), atol=1e-5)


def test_warp_model_copies_at_zero_weights_and_trains():
    m = BasisGatedAutoencoder(BasisGaeConfig(width=6, depth=2, warp=True), (1, 10, 10))
    x = torch.from_numpy(np.random.default_rng(2).random((6, 1, 10, 10)).astype(np.float32))
    y = torch.roll(x, 1, -1)
    with torch.no_grad():
        np.testing.assert_allclose(m.apply(torch.zeros(6, 2), x).numpy(), x.numpy(), atol=1e-5)
        assert m.mappings(x, y).shape == (6, 2)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    batch = {"x": x, "y": y, "x2": x.flip(0), "y2": y.flip(0)}
    first = m.loss(batch)[1]["recon_y"]
    for _ in range(30):
        loss = m.loss(batch)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert m.loss(batch)[1]["recon_y"] < 0.7 * first


def test_refined_ensemble_copies_at_zero_weights_splits_z_by_member_and_trains():
    """Two members with refinement nets: at the start each refinement is zero (the plain model),
    z holds K weights per member, the prediction is the members' average, and the loss falls."""
    cfg = BasisGaeConfig(width=6, depth=2, refine=4, nets=2)
    m = BasisGatedAutoencoder(cfg, (1, 10, 10))
    x = torch.from_numpy(np.random.default_rng(3).random((6, 1, 10, 10)).astype(np.float32))
    y = torch.roll(x, 1, -1)
    assert len(m._members()) == 2 and m.code_dim == 4
    assert not torch.equal(m.net.head.weight, m.more_nets[0].head.weight)  # initialised apart
    with torch.no_grad():
        np.testing.assert_allclose(m.apply(torch.zeros(6, 4), x).numpy(), x.numpy(), atol=1e-5)
        z = m.mappings(x, y)
        assert z.shape == (6, 4)
        s, mean, std = m._std(x)
        one = [m._predict(s, zk, *mem) for zk, mem in zip(z.split(2, 1), m._members())]
        avg = (torch.stack(one).mean(0).reshape(6, -1) * std + mean).reshape(x.shape)
        np.testing.assert_allclose(m.apply(z, x).numpy(), avg.numpy(), atol=1e-5)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    batch = {"x": x, "y": y, "x2": x.flip(0), "y2": y.flip(0)}
    first = m.loss(batch)[1]["recon_y"]
    for _ in range(30):
        loss = m.loss(batch)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert m.loss(batch)[1]["recon_y"] < 0.7 * first
    assert m.refiner.out.weight.abs().max() > 0  # the refinement learned something


def test_working_size_pools_the_basis_nets_input_and_upsamples_its_basis():
    m = BasisGatedAutoencoder(BasisGaeConfig(width=6, depth=2, work_size=8), (1, 16, 16))
    x = torch.from_numpy(np.random.default_rng(4).random((3, 1, 16, 16)).astype(np.float32))
    with torch.no_grad():
        s = m._std(x)[0]
        basis = m._basis(s)
        assert m.work_shape == (1, 8, 8) and basis.shape == (3, 2, 1, 16, 16)
        low = m.net(torch.nn.functional.avg_pool2d(s, 2))  # (3, 2, 1, 8, 8) at the working size
        up = torch.nn.functional.interpolate(low[:, :, 0], size=(16, 16), mode="bilinear")
        np.testing.assert_allclose(basis[:, :, 0].numpy(), up.numpy(), atol=1e-6)
        np.testing.assert_allclose(m.apply(torch.zeros(3, 2), x).numpy(), x.numpy(), atol=1e-5)
