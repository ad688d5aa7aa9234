"""A run whose validation loss blows up (finite but useless) stops, says so, and is not 'completed';
schedules such as the gated autoencoder's warm-up scale with the length of the run."""

import numpy as np
import pytest

from explorer.core.errors import TrainingError
from explorer.core.progress import run_to_end
from explorer.data import load_data
from explorer.models.base import build_model
from explorer.training.engine import TrainConfig, train


def test_exploding_validation_loss_stops_the_run(tmp_path):
    from explorer.models.checkpoint import load

    data = load_data("sample:digits").subset(np.arange(200))
    model = build_model("ae", data.shape, code_dim=4, options={"hidden": [16]})
    losses = iter([0.3, 0.27, 282.0, 300.0])
    model.validate = lambda _data: {"val_loss": next(losses)}
    out = tmp_path / "ae.safetensors"
    config = TrainConfig(model="ae", epochs=4, batch_size=50, seed=0, checkpoint=str(out))
    with pytest.raises(TrainingError, match="rose from 0.27 to 282 after epoch 3"):
        run_to_end(train(config, data, model=model))
    ck = load(str(out))
    assert ck.summary["epochs"] == 2 and ck.summary["stopped"] != "completed"  # the last good state


def test_gae_warmup_is_a_share_of_the_run():
    model = build_model("gae", (1, 8, 8), options={"factors": 16, "mapping": 32})
    model.plan(540)
    assert model._warmup == 162  # 30% of a short run, not 3000 steps
    model.plan(100_000)
    assert model._warmup == 3000
