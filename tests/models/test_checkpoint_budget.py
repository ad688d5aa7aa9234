"""A checkpoint's model is built under an allocation budget, on the CPU: a file claiming a huge
model is refused before the memory is taken, and no load goes through torch's meta device (whose
random fills and arithmetic imported torch._dynamo: 2.9 s of CPU for the first gae, issue 13)."""

import json
import subprocess
import sys
import time

import pytest
import torch

from explorer.core.errors import ModelFileError
from explorer.models.base import build_model
from explorer.models.checkpoint import load, save


def _resave(path, out, **config):
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    meta["config"] = json.dumps({**json.loads(meta["config"]), **config})
    save_file(tensors, str(out), metadata=meta)
    return out


def test_a_file_claiming_a_model_far_larger_than_its_weights_is_refused_at_once(tmp_path):
    path = tmp_path / "m.safetensors"
    save(path, build_model("ae", (1, 8, 8), code_dim=3))
    huge = _resave(path, tmp_path / "huge.safetensors", hidden=[200_000, 200_000])  # 4e10 weights
    t = time.perf_counter()
    with pytest.raises(ModelFileError, match="far larger than the weights it holds"):
        load(huge)
    assert time.perf_counter() - t < 5.0  # refused before 160 GB were asked for


@pytest.mark.parametrize("key", ["gae", "cae", "siamese", "pairnet"])
def test_every_kind_still_loads_to_equal_codes(tmp_path, key):
    shape = (1, 13, 13)
    torch.manual_seed(0)
    model = build_model(key, shape, code_dim=4).eval()
    path = tmp_path / f"{key}.safetensors"
    save(path, model)
    ck = load(path)
    x = torch.rand(3, *shape, generator=torch.Generator().manual_seed(1))
    if key in ("gae", "pairnet"):
        assert all(
            torch.equal(a, b) for a, b in zip(ck.model.state_dict().values(), model.state_dict().values())
        )
    else:
        assert torch.equal(ck.model.encode(x), model.encode(x))


def test_loading_the_default_gae_does_not_import_torch_dynamo():
    code = (
        "import os, sys, time; from explorer.models import checkpoint\n"
        "from explorer.data.samples import sample_data_dir\n"
        "path = os.path.join(str(sample_data_dir()), 'models', 'gae_shifts.safetensors')\n"
        "t = time.thread_time(); checkpoint.load(path)\n"
        "print('torch._dynamo' in sys.modules, time.thread_time() - t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    imported, seconds = out.stdout.split()
    assert imported == "False", out.stdout
