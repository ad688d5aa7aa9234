"""Fine-tuning: frozen backbone trains only the head; all layers get lr, x10 weights, x20 biases."""

import numpy as np
import pytest
import torch

from explorer.core.progress import run_to_end
from explorer.data import load_data
from explorer.models.base import build_model
from explorer.training.engine import TrainConfig, train
from explorer.training.finetune import finetune_model


@pytest.fixture(scope="module")
def digits():
    return load_data("sample:digits").subset(np.arange(400))


@pytest.mark.parametrize("freeze", [True, False])
def test_param_groups_and_what_learns(digits, tmp_path, freeze):
    torch.manual_seed(0)  # the backbone is built before the engine seeds anything
    backbone = build_model("ae", digits.shape, code_dim=8, options={"hidden": [32]})
    model = finetune_model(backbone, digits, code_dim=4, freeze=freeze)
    groups = {g["name"]: g for g in model.param_groups(1e-3)}
    if freeze:
        assert list(groups) == ["new"] and groups["new"]["lr"] == 1e-3
    else:
        assert groups["backbone"]["lr"] == 1e-3
        assert groups["new weights"]["lr"] == pytest.approx(1e-2)
        assert groups["new biases"]["lr"] == pytest.approx(2e-2)
        assert all(p.dim() == 1 for p in groups["new biases"]["params"])
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    head_before = model.head.weight.detach().clone()
    path = tmp_path / "ft.safetensors"
    result = run_to_end(
        train(
            TrainConfig(model="finetune", epochs=3, batch_size=32, lr=3e-3, checkpoint=str(path)),
            digits,
            model=model,
        )
    )
    changed = any(not torch.equal(before[k], v) for k, v in model.backbone.state_dict().items())
    assert changed is not freeze
    assert not torch.equal(head_before, model.head.weight)
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    from explorer.models.checkpoint import load

    ck = load(path)
    x = torch.from_numpy(digits.float_images(slice(0, 6)))
    assert torch.allclose(ck.model.encode(x), result.model.cpu().encode(x), atol=1e-6)


@pytest.mark.parametrize("objective", ["contrastive", "triplet"])
def test_metric_objectives(digits, objective):
    torch.manual_seed(0)
    backbone = build_model("ae", digits.shape, code_dim=8, options={"hidden": [32]})
    model = finetune_model(backbone, digits, code_dim=4, options={"objective": objective})
    result = run_to_end(train(TrainConfig(model="finetune", epochs=1, batch_size=32), digits, model=model))
    assert np.isfinite(result.history[0]["loss"]) and 0 <= result.history[0]["auc"] <= 1
