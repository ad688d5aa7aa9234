"""The trust gate: program-format model files open only after the user trusts that content."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from explorer.cli import main
from explorer.core.errors import ModelFileError
from explorer.models import load_encoder
from explorer.models import trust as gate

IMAGES = np.random.default_rng(0).random((5, 1, 8, 8), dtype=np.float32)


@pytest.fixture(autouse=True)
def own_config(tmp_path, monkeypatch):
    """A trusted list of this test's own (other tests trust the same sound files)."""
    monkeypatch.setenv("EXPLORER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv(gate.ENV, raising=False)


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    """A TorchScript file, a .pt2 with a dynamic batch and an ONNX file of one small net."""
    folder = tmp_path_factory.mktemp("programs")
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 5)).eval()
    x = torch.zeros(2, 1, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.trace(net, x), str(folder / "ts.pt"))
        torch.onnx.export(
            net,
            (x,),
            str(folder / "m.onnx"),
            dynamo=False,
            input_names=["input"],
            dynamic_axes={"input": {0: "batch"}},
        )
    program = torch.export.export(net, (x,), dynamic_shapes={"input": {0: torch.export.Dim("batch")}})
    torch.export.save(program, str(folder / "m.pt2"))
    with torch.no_grad():
        reference = net(torch.from_numpy(IMAGES)).numpy()
    return {
        "ts": str(folder / "ts.pt"),
        "pt2": str(folder / "m.pt2"),
        "onnx": str(folder / "m.onnx"),
        "reference": reference,
    }


def _bytes(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _one_sentence(text: str) -> None:
    text = text.strip()
    assert len(text.splitlines()) == 1 and "Traceback" not in text and text.endswith("."), text


@pytest.mark.parametrize("key, kind", [("ts", "a TorchScript program"), ("pt2", "a torch.export program")])
def test_untrusted_program_is_refused_before_torch_reads_it(programs, key, kind, monkeypatch):
    called = []
    monkeypatch.setattr(torch.jit, "load", lambda *a, **k: called.append(a))
    monkeypatch.setattr(torch.export, "load", lambda *a, **k: called.append(a))
    from explorer.models import safe_load

    monkeypatch.setattr(safe_load, "check_archive", lambda *a, **k: called.append(a))
    with pytest.raises(gate.UntrustedModelError) as err:
        load_encoder(programs[key])
    assert called == []
    message = str(err.value)
    _one_sentence(message)
    assert kind in message and "--trust-model" in message and "ONNX" in message
    assert err.value.sha256 == gate.file_sha256(programs[key]) and err.value.kind == kind


@pytest.mark.parametrize("key", ["ts", "pt2"])
def test_trusted_program_loads_encodes_and_is_remembered_by_content(programs, key, tmp_path):
    enc = load_encoder(programs[key], trust=True)
    assert np.allclose(enc.encode(IMAGES), programs["reference"], atol=1e-5)
    assert gate.is_trusted(gate.file_sha256(programs[key]))
    renamed = tmp_path / ("renamed" + os.path.splitext(programs[key])[1])
    renamed.write_bytes(_bytes(programs[key]))
    assert np.allclose(load_encoder(str(renamed)).encode(IMAGES), programs["reference"], atol=1e-5)
    with open(renamed, "ab") as f:  # one byte more: another file, asked about again
        f.write(b"\0")
    with pytest.raises(gate.UntrustedModelError):
        load_encoder(str(renamed))


def test_trust_by_hash_covers_only_that_content(programs, tmp_path):
    path = tmp_path / "m.pt"
    path.write_bytes(_bytes(programs["ts"]))
    asked = gate.file_sha256(path)
    path.write_bytes(_bytes(programs["ts"]) + b"\0")  # swapped after the question
    with pytest.raises(gate.UntrustedModelError, match="changed after you trusted it"):
        load_encoder(str(path), trust=asked)
    assert not gate.is_trusted(asked)
    path.write_bytes(_bytes(programs["ts"]))
    assert load_encoder(str(path), trust=asked).encode(IMAGES).shape == (5, 5)


def test_environment_variable_trusts_without_remembering(programs, monkeypatch):
    monkeypatch.setenv(gate.ENV, "1")
    assert load_encoder(programs["pt2"]).encode(IMAGES).shape == (5, 5)
    assert gate.trusted_entries() == []


def test_onnx_and_safetensors_open_without_asking(programs, tmp_path):
    pytest.importorskip("onnxruntime")
    from explorer.models.base import build_model
    from explorer.models.checkpoint import save

    assert np.allclose(load_encoder(programs["onnx"]).encode(IMAGES), programs["reference"], atol=1e-5)
    save(tmp_path / "a.safetensors", build_model("ae", (1, 8, 8), code_dim=3))
    assert load_encoder(str(tmp_path / "a.safetensors")).encode(IMAGES).shape == (5, 3)
    assert gate.trusted_entries() == []


def test_the_store_is_a_json_list_and_a_damaged_one_trusts_nothing(programs):
    load_encoder(programs["ts"], trust=True)
    entries = json.loads(_bytes(gate.store_path()))
    assert [e["sha256"] for e in entries] == [gate.file_sha256(programs["ts"])]
    assert entries[0]["kind"] == "a TorchScript program" and entries[0]["name"] == "ts.pt"
    with open(gate.store_path(), "w") as f:
        f.write("{not json")
    with pytest.raises(gate.UntrustedModelError):
        load_encoder(programs["ts"])


def test_a_fifo_is_not_opened(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    for ext in (".pt", ".pt2", ".onnx", ".safetensors"):
        fifo = tmp_path / f"pipe{ext}"
        os.mkfifo(fifo)
        with pytest.raises(ModelFileError, match="not a regular file"):
            load_encoder(str(fifo))  # would block for ever if it were read


def test_printable_removes_control_characters():
    assert gate.printable("a\x1b[31mb\x07c\u202ed\ne") == "a[31mbcde"
    assert len(gate.printable("x" * 500, 50)) == 50


# ---- the command line ---------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["ts", "pt2"])
def test_cli_refuses_untrusted_and_encodes_trusted(programs, key, tmp_path, capsys):
    out = tmp_path / "codes.npy"
    args = ["encode", "--model", programs[key], "--data", "sample:digits", "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    _one_sentence(err)
    assert "can run code" in err and "--trust-model" in err and not out.exists()
    assert main(["evaluate", "retrieval", "--model", programs[key], "--data", "sample:digits"]) == 2
    capsys.readouterr()
    # digits are 1x8x8, the nets' input: the trusted model encodes them
    assert main([*args, "--trust-model"]) == 0
    assert np.load(out).shape == (1797, 5)
    assert (
        main(
            [
                "evaluate",
                "verification",
                "--model",
                programs[key],
                "--data",
                "sample:digits",
                "--max-pairs",
                "2000",
            ]
        )
        == 0
    )  # remembered


def test_every_model_subcommand_takes_trust_model():
    from explorer.cli import build_parser

    parser = build_parser()
    for argv in (
        ["encode", "--model", "m", "--data", "d", "--out", "o"],
        ["evaluate", "retrieval", "--model", "m", "--data", "d"],
        ["evaluate", "verification", "--model", "m", "--data", "d"],
        ["evaluate", "analogy", "--model", "m", "--data", "d"],
        ["analogy", "--model", "m", "--x", "a", "--y", "b", "--apply", "c", "--out", "o"],
        ["inspect", "--model", "m", "--data", "d"],
        ["gui", "--model", "m"],
    ):
        assert parser.parse_args([*argv, "--trust-model"]).trust_model is True


# ---- names and shapes from model metadata (issue 12, item 6) ------------------------------------
def _rewrite_metadata(src, dst, **changes):
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(src), framework="pt") as f:
        meta = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    meta.update(changes)
    save_file(tensors, str(dst), metadata=meta)


@pytest.mark.parametrize(
    "shape",
    [
        "[1e400, 8, 8]",
        "[1, 8, 8.5]",
        "[0, 8, 8]",
        "[1, 100000, 100000]",
        "[true, 8, 8]",
        "[1, 8]",
        '{"c": 1}',
        "[NaN, 8, 8]",
    ],
)
def test_impossible_input_shape_in_metadata_is_one_sentence(tmp_path, capsys, shape):
    from explorer.models.base import build_model
    from explorer.models.checkpoint import save

    save(tmp_path / "a.safetensors", build_model("ae", (1, 8, 8), code_dim=3))
    _rewrite_metadata(tmp_path / "a.safetensors", tmp_path / "b.safetensors", input_shape=shape)
    with pytest.raises(ModelFileError) as err:
        load_encoder(str(tmp_path / "b.safetensors"))
    _one_sentence(str(err.value))
    assert (
        main(
            [
                "encode",
                "--model",
                str(tmp_path / "b.safetensors"),
                "--data",
                "sample:digits",
                "--out",
                str(tmp_path / "c.npy"),
            ]
        )
        == 2
    )
    _one_sentence(capsys.readouterr().err.strip().splitlines()[-1])


def test_names_from_metadata_lose_their_control_characters(tmp_path, capsys):
    from explorer.models.base import build_model
    from explorer.models.checkpoint import save

    save(tmp_path / "a.safetensors", build_model("ae", (1, 8, 8), code_dim=3), class_names=["x"])
    _rewrite_metadata(
        tmp_path / "a.safetensors",
        tmp_path / "b.safetensors",
        name="evil\x1b]0;pwned\x07\x1b[2J",
        class_names=json.dumps(["a\x1b[31m", "b\u202e"]),
    )
    enc = load_encoder(str(tmp_path / "b.safetensors"))
    assert enc.name == "evil]0;pwned[2J" and enc.class_names == ["a[31m", "b"]
    assert (
        main(
            [
                "encode",
                "--model",
                str(tmp_path / "b.safetensors"),
                "--data",
                "sample:digits",
                "--out",
                str(tmp_path / "c.npy"),
            ]
        )
        == 0
    )
    out = capsys.readouterr()
    assert "\x1b" not in out.out + out.err and "\x07" not in out.out + out.err
