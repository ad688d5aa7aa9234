"""The pair classifier: symmetric, learns same / different, round-trips through a checkpoint."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from explorer.core.errors import ExplorerError
from explorer.core.imageset import ImageSet
from explorer.core.progress import run_to_end

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def trained():
    from explorer.training.engine import TrainConfig, train

    d = load_digits()
    data = ImageSet(
        (d.images[:400] / 16).astype(np.float32)[:, None],
        d.target[:400],
        [str(k) for k in range(10)],
        name="digits",
    )
    config = TrainConfig(
        model="pairnet",
        epochs=3,
        device="cpu",
        seed=0,
        threads=1,
        options={"channels": [8, 16], "hidden": 32},
    )
    return run_to_end(train(config, data)), data


def test_learns_and_is_symmetric(trained):
    res, data = trained
    first, last = res.history[0], res.history[-1]
    assert last["auc"] > 0.7 and last["val_loss"] < first["val_loss"] + 1e-6
    a, b = data.float_images(np.arange(0, 40)), data.float_images(np.arange(40, 80))
    s_ab, s_ba = res.model.score_pairs(a, b), res.model.score_pairs(b, a)
    assert s_ab.shape == (40,) and np.allclose(s_ab, s_ba, atol=1e-5)
    assert res.model.code_dim == 0 and not res.model.has_codes
    with pytest.raises(ExplorerError, match="no code"):
        res.model.encode(torch.zeros(1, 1, 8, 8))
    with pytest.raises(ExplorerError, match="shape"):
        res.model.score_pairs(a, b[:, :, :4])


def test_checkpoint_round_trip_and_scorer(trained, tmp_path):
    from explorer.models import checkpoint
    from explorer.models.base import build_model
    from explorer.models.pairnet import load_pair_scorer
    from explorer.verification import is_pair_scorer

    res, data = trained
    path = tmp_path / "pn.safetensors"
    checkpoint.save(path, res.model, class_names=data.class_names, summary=res.summary)
    scorer = load_pair_scorer(str(path))
    assert is_pair_scorer(scorer) and scorer.input_shape == (1, 8, 8)
    a, b = data.float_images(np.arange(10)), data.float_images(np.arange(10, 20))
    assert np.allclose(scorer.score_pairs(a, b), res.model.score_pairs(a, b), atol=1e-6)
    other = tmp_path / "ae.safetensors"
    checkpoint.save(other, build_model("ae", (1, 8, 8), code_dim=4))
    assert load_pair_scorer(str(other)) is None


def test_batches_are_balanced(trained):
    res, data = trained
    batches = list(res.model.batches(data, 64, np.random.default_rng(0)))
    same = np.concatenate([b["same"] for b in batches])
    assert len(batches) == res.model.num_batches(data, 64)
    assert abs(same.mean() - 0.5) < 0.01 and batches[0]["a"].shape == (64, 1, 8, 8)
