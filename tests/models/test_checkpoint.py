"""Checkpoints rebuild their own model; files that are not what they claim are refused clearly."""

import json
import os
import struct

import numpy as np
import pytest
import torch

from explorer.core.errors import ModelFileError
from explorer.models.base import build_model
from explorer.models.checkpoint import load, read_metadata, save

X = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize(
    "key, options",
    [
        ("ae", {"linear": True}),
        ("dae", {"corruption": "gaussian"}),
        ("cae", {"decoder": "unpool"}),
        ("siamese", {"untied": True, "distance": "cosine"}),
        ("triplet", {"tower": "mlp"}),
    ],
)
def test_round_trip(tmp_path, key, options):
    torch.manual_seed(0)
    model = build_model(key, (1, 8, 8), code_dim=5, options=options).eval()
    path = tmp_path / f"{key}.safetensors"
    save(path, model, class_names=list("0123456789"), summary={"epochs": 3, "data": "digits"})
    ck = load(path)
    assert ck.architecture == key and ck.input_shape == (1, 8, 8) and ck.class_names == list("0123456789")
    assert ck.summary == {"epochs": 3, "data": "digits"} and ck.name == f"{key} (digits)"
    assert all(ck.config[k] == (list(v) if isinstance(v, tuple) else v) for k, v in options.items())
    assert torch.equal(ck.model.encode(X), model.encode(X))
    assert read_metadata(path)["architecture"] == key
    assert oct(os.stat(path).st_mode & 0o777) != oct(0o600)  # not left private like the temp file


def test_a_strangers_safetensors_is_refused(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(3)}, str(path))
    with pytest.raises(ModelFileError, match="not a Relate Explorer checkpoint"):
        load(path)


def test_garbage_and_missing_files(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"this is not a model at all, just text" * 10)
    with pytest.raises(ModelFileError, match="not a valid .safetensors"):
        load(junk)
    with pytest.raises(ModelFileError, match="no model file"):
        load(tmp_path / "nope.safetensors")


def test_header_lying_about_sizes(tmp_path):
    good = tmp_path / "good.safetensors"
    save(good, build_model("ae", (1, 8, 8), code_dim=2, options={"hidden": [4]}))
    raw = good.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    name = next(k for k in header if k != "__metadata__")
    begin, end = header[name]["data_offsets"]
    header[name]["data_offsets"] = [begin, end + 10_000_000]  # claims far more than the file holds
    text = json.dumps(header).encode()
    liar = tmp_path / "liar.safetensors"
    liar.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n :])
    with pytest.raises(ModelFileError):
        load(liar)
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes(raw[: len(raw) - 40])
    with pytest.raises(ModelFileError):
        load(truncated)


def test_weights_that_do_not_fit_the_named_architecture(tmp_path):
    path = tmp_path / "m.safetensors"
    save(path, build_model("ae", (1, 8, 8), code_dim=3))
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    meta["config"] = json.dumps({**json.loads(meta["config"]), "hidden": [256]})
    bad = tmp_path / "claims_other.safetensors"
    save_file(tensors, str(bad), metadata=meta)
    with pytest.raises(ModelFileError, match="claims to be a 'ae' model but its weights do not match"):
        load(bad)
    meta["architecture"] = "cae"
    save_file(tensors, str(bad), metadata=meta)
    with pytest.raises(ModelFileError, match="cannot be rebuilt: Model 'cae' has no option 'hidden'"):
        load(bad)
    meta["architecture"] = "no_such_model"
    save_file(tensors, str(bad), metadata=meta)
    with pytest.raises(ModelFileError, match="Unknown model 'no_such_model'"):
        load(bad)


def test_summary_with_numpy_numbers(tmp_path):
    path = tmp_path / "n.safetensors"
    save(path, build_model("ae", (1, 8, 8), code_dim=2), summary={"loss": np.float32(0.5), "n": np.int64(3)})
    assert load(path).summary == {"loss": 0.5, "n": 3}
