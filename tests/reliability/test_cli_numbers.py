"""Every numeric flag of every subcommand refuses negative, NaN, infinite and absurdly large values
with one sentence and exit 2 before any data or model is opened (no traceback from deep inside).

Table-driven over explorer.cli.main in-process (argparse refuses before ``run``), plus the real
entry point in a subprocess for the cases the issue names.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from explorer.cli import main

BASE = {
    "train": ["train", "--model", "ae", "--data", "sample:digits", "--out", "/nonexistent/m.safetensors"],
    "encode": ["encode", "--model", "pixels", "--data", "sample:digits", "--out", "/nonexistent/c.npy"],
    "project": [
        "project",
        "--codes",
        "/nonexistent/c.npy",
        "--method",
        "pca",
        "--out",
        "/nonexistent/xy.npy",
    ],
    "inspect": ["inspect", "--model", "pixels", "--data", "/nonexistent/data"],
    "retrieval": ["evaluate", "retrieval", "--model", "pixels", "--data", "/nonexistent/data"],
    "verification": ["evaluate", "verification", "--model", "pixels", "--data", "/nonexistent/data"],
    "analogy": ["evaluate", "analogy", "--model", "/nonexistent/g.safetensors"],
    "snapshot": ["snapshot", "/nonexistent/out"],
}
FLAGS = {
    "train": ["--epochs", "--code-dim", "--batch-size", "--lr", "--seed", "--val-fraction"],
    "encode": ["--batch-size", "--workers", "--shard-rows"],
    "project": ["--seed", "--perplexity", "--neighbors", "--landmarks"],
    "inspect": ["--k", "--threshold", "--outliers", "--max-issues", "--max-queries", "--seed"],
    "retrieval": ["--k", "--queries", "--seed"],
    "verification": ["--seed", "--max-pairs"],
    "analogy": ["--count", "--seed"],
    "snapshot": ["--width", "--height", "--training-epochs", "--timeout"],
}
BAD = ["-3", "nan", "inf", "-inf", "1e400", "99999999999999999999", "abc", ""]
CASES = [(cmd, flag, value) for cmd, flags in FLAGS.items() for flag in flags for value in BAD]
ZERO_IS_WRONG = {
    "--epochs",
    "--code-dim",
    "--batch-size",
    "--lr",
    "--workers",
    "--shard-rows",
    "--perplexity",
    "--neighbors",
    "--landmarks",
    "--k",
    "--threshold",
    "--max-queries",
    "--queries",
    "--max-pairs",
    "--count",
    "--width",
    "--height",
    "--timeout",
}


def _one_sentence(err: str, *words: str) -> str:
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("explorer: "), err
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("cmd, flag, value", CASES, ids=[f"{c} {f} {v!r}" for c, f, v in CASES])
def test_bad_numbers_are_one_sentence(capsys, cmd, flag, value):
    assert main([*BASE[cmd], f"{flag}={value}"]) == 2
    _one_sentence(capsys.readouterr().err, flag)


@pytest.mark.parametrize("flag", sorted(ZERO_IS_WRONG & {f for fl in FLAGS.values() for f in fl}))
def test_zero_sizes_are_refused(capsys, flag):
    cmd = next(c for c, fl in FLAGS.items() if flag in fl)
    assert main([*BASE[cmd], flag, "0"]) == 2
    _one_sentence(capsys.readouterr().err, flag, "out of range")


def test_usage_mistakes_are_one_line_too(capsys):
    assert main(["train", "--model", "ae"]) == 2  # required arguments missing
    _one_sentence(capsys.readouterr().err, "required", "--help")
    assert main(["project", "--codes", "c.npy", "--method", "nope", "--out", "x.npy"]) == 2
    _one_sentence(capsys.readouterr().err, "--method")


@pytest.mark.parametrize(
    "option, words",
    [
        ("hidden=abc", ["hidden", "list of whole numbers"]),
        ("hidden=[64,-5]", ["hidden"]),
        ("linear=3", ["linear", "true or false"]),
        ("code_dim=nan", ["code_dim"]),
        ("tied=maybe", ["tied"]),
    ],
)
def test_model_options_of_the_wrong_kind(capsys, option, words):
    assert main([*BASE["train"], "--option", option]) == 2
    _one_sentence(capsys.readouterr().err, "--option", *words)


def test_model_option_the_model_refuses_when_built(capsys, tmp_path):
    pytest.importorskip("torch")
    argv = [
        "train",
        "--model",
        "siamese",
        "--data",
        "sample:digits",
        "--out",
        str(tmp_path / "m.safetensors"),
        "--epochs",
        "1",
        "--option",
        "distance=foo",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # progress lines of the data load come first
    assert "Traceback" not in err and last.startswith("explorer: --option") and "distance" in last
    assert not (tmp_path / "m.safetensors").exists()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--code-dim", "-3"], ["--code-dim", "out of range"]),
        (["--val-fraction", "nan"], ["--val-fraction", "finite"]),
        (["--option", "hidden=abc"], ["hidden"]),
    ],
)
def test_the_named_cases_through_the_real_entry_point(args, words):
    proc = subprocess.run(
        [sys.executable, "-m", "explorer", *BASE["train"], *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    _one_sentence(proc.stderr, *words)


def test_session_with_codes_of_no_dimensions(tmp_path):
    from explorer.core.imageset import ImageSet
    from explorer.core.session import load_session, restore_into_workspace, save_session
    from explorer.core.workspace import Workspace

    path = tmp_path / "s.session"
    save_session(
        path,
        {
            "data": "sample:digits",
            "codes": {"m": np.zeros((4, 0), np.float32), "ok": np.ones((4, 2), np.float32)},
        },
    )
    state = load_session(path)
    ws = Workspace()
    ws.set_dataset(ImageSet(np.zeros((4, 1, 2, 2), np.uint8), None, [], ["a", "b", "c", "d"], "t", "npz"))
    ws.models["m"] = ws.models["ok"] = object()
    notes = restore_into_workspace(ws, state)
    assert "m" not in ws.codes and ws.codes["ok"].shape == (4, 2)
    assert notes == ["cached codes of m left out: they have no dimensions."]
