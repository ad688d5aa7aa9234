import numpy as np
import torch

from explorer.models.conv_gae import ConvGaeConfig, ConvGatedAutoencoder


def test_no_change_is_copying_and_shapes():
    m = ConvGatedAutoencoder(ConvGaeConfig(factors=6, mapping=3, kernel=5), (1, 10, 10))
    x = torch.from_numpy(np.random.default_rng(0).random((4, 1, 10, 10)).astype(np.float32))
    with torch.no_grad():
        z = m.mappings(x, x.flip(-1))
        assert z.shape == (4, 3) and m.encode(x).shape == (4, 6)
        m.W_out.zero_()
        np.testing.assert_allclose(m.apply(z, x).numpy(), x.numpy(), atol=1e-5)
    from explorer.models.gae import filter_pairs

    u, v = filter_pairs(m)
    assert u.shape == v.shape == (6, 1, 5, 5) and 0 <= u.min() and u.max() <= 1


def test_cgae_trains_and_its_analogies_beat_copying():
    """Issue 18 item 2: trained a little on shifted dots, the convolutional model of change carries
    the shift over to new images better than copying them, and its loss falls."""
    from explorer.core.progress import run_to_end
    from explorer.relational.defaults import shift_training_set
    from explorer.relational.engine import analogy, nmse
    from explorer.relational.evaluate import generated_quadruples
    from explorer.training.engine import TrainConfig, train

    data = shift_training_set(1500, seed=4, size=9)
    config = TrainConfig(
        model="cgae",
        epochs=5,
        batch_size=50,
        lr=3e-3,
        seed=0,
        device="cpu",
        options={"factors": 12, "mapping": 6},
    )
    result = run_to_end(train(config, data))
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < losses[0]
    q = generated_quadruples("shifts", 400, 9, seed=12)
    ours = nmse(analogy(result.model, q["x"], q["y"], q["x2"]), q["y2"])
    assert ours < 0.9 * nmse(q["x2"], q["y2"])
