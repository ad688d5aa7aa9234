"""`explorer train` and `explorer encode` end to end; a fresh process rebuilds the same codes."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from explorer.cli import main


def last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_train_then_encode_and_a_fresh_process_agrees(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert (
        main(
            [
                "train",
                "--model",
                "dae",
                "--data",
                "sample:digits",
                "--epochs",
                "2",
                "--code-dim",
                "6",
                "--out",
                str(out),
                "--seed",
                "2",
                "--option",
                "hidden=[32,16]",
            ]
        )
        == 0
    )
    summary = last_json(capsys)
    assert summary["model"] == "dae" and summary["epochs"] == 2 and summary["stopped"] == "completed"
    codes_path = tmp_path / "c.npy"
    assert main(["encode", "--model", str(out), "--data", "sample:digits", "--out", str(codes_path)]) == 0
    assert last_json(capsys)["code_dim"] == 6
    codes = np.load(codes_path)
    assert codes.dtype == np.float32 and codes.shape == (1797, 6)

    script = (
        "import sys, numpy as np\n"
        "from explorer.models import load_encoder\n"
        "from explorer.data import load_data\n"
        "enc = load_encoder(sys.argv[1])\n"
        "np.save(sys.argv[2], enc.encode(load_data('sample:digits').float_images()))\n"
    )
    fresh = tmp_path / "fresh.npy"
    subprocess.run([sys.executable, "-c", script, str(out), str(fresh)], check=True, timeout=120)
    assert np.abs(np.load(fresh) - codes).max() < 1e-6


def test_user_mistakes_are_one_line_errors(tmp_path, capsys):
    assert main(["train", "--model", "dae", "--data", "sample:digits", "--out", str(tmp_path / "m.pt")]) == 2
    assert "name it FILE.safetensors" in capsys.readouterr().err
    assert (
        main(
            ["train", "--model", "nope", "--data", "sample:digits", "--out", str(tmp_path / "m.safetensors")]
        )
        == 2
    )
    assert "Unknown model 'nope'" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert (
            main(
                [
                    "train",
                    "--model",
                    "ae",
                    "--data",
                    "sample:digits",
                    "--device",
                    "cuda",
                    "--out",
                    str(tmp_path / "m.safetensors"),
                ]
            )
            == 2
        )
        err = capsys.readouterr().err
        assert "no usable CUDA GPU" in err and "Traceback" not in err
    assert (
        main(
            [
                "encode",
                "--model",
                str(tmp_path / "missing.safetensors"),
                "--data",
                "sample:digits",
                "--out",
                str(tmp_path / "c.npy"),
            ]
        )
        == 2
    )
    assert "no model file" in capsys.readouterr().err


def test_encode_pixels(tmp_path, capsys):
    assert (
        main(["encode", "--model", "pixels", "--data", "sample:digits", "--out", str(tmp_path / "p.npy")])
        == 0
    )
    assert np.load(tmp_path / "p.npy").shape == (1797, 64)


def test_option_values():
    from explorer.commands.train import parse_options

    assert parse_options(["linear=true", "hidden=[256,64]", "distance=cosine", "margin=0.5"]) == {
        "linear": True,
        "hidden": [256, 64],
        "distance": "cosine",
        "margin": 0.5,
    }


def test_finetune_from_the_command_line(tmp_path, capsys):
    base = tmp_path / "base.safetensors"
    assert (
        main(
            [
                "train",
                "--model",
                "ae",
                "--data",
                "sample:digits",
                "--epochs",
                "1",
                "--code-dim",
                "8",
                "--option",
                "hidden=[32]",
                "--out",
                str(base),
            ]
        )
        == 0
    )
    capsys.readouterr()
    tuned = tmp_path / "tuned.safetensors"
    assert (
        main(
            [
                "train",
                "--model",
                "finetune",
                "--backbone",
                str(base),
                "--data",
                "sample:digits",
                "--epochs",
                "2",
                "--lr",
                "1e-3",
                "--code-dim",
                "4",
                "--out",
                str(tuned),
            ]
        )
        == 0
    )
    summary = last_json(capsys)
    assert summary["model"] == "finetune" and summary["accuracy"] > 0.3  # 10 classes: chance is 0.1
    assert (
        main(["encode", "--model", str(tuned), "--data", "sample:digits", "--out", str(tmp_path / "t.npy")])
        == 0
    )
    assert np.load(tmp_path / "t.npy").shape == (1797, 4)


def test_train_help_names_every_model_and_no_file_users_lack(capsys):
    """Issue 13 item 9: `train --help` pointed to DESIGN.md, which an installed copy does not have."""
    from explorer.commands.train import MODEL_KEYS
    from explorer.models.base import model_keys

    assert sorted(MODEL_KEYS) == model_keys(), "a model was added: add its key to MODEL_KEYS too"
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "DESIGN.md" not in text and all(k in text for k in MODEL_KEYS)
