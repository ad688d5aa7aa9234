"""`explorer bench --gpu-check`: one sentence and a clean exit without CUDA; its table on the CPU."""

from __future__ import annotations

import math

import pytest


def test_without_cuda_it_says_so_in_one_sentence_and_exits_cleanly(capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the check would run")
    from explorer.cli import main

    assert main(["bench", "--gpu-check"]) == 0
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1 and "CUDA" in out and out.endswith(".")


def test_the_comparison_runs_and_tabulates_on_any_device():
    """The same code with the CPU standing in for CUDA: every row has finite losses, equal codes."""
    from explorer.bench.gpu_check import run_gpu_check

    lines = []
    rows = run_gpu_check(out=lines.append, steps=3, device="cpu", models=["ae", "gae", "pairnet", "finetune"])
    assert [r["model"] for r in rows] == ["ae", "gae", "pairnet", "finetune"]
    for r in rows:
        assert "error" not in r, r
        assert all(math.isfinite(r[k]) for k in ("loss_cpu", "loss_dev", "loss_amp")), r
        assert r["dloss_dev"] < 1e-6  # the same device and seed: the same run
    assert rows[0]["dcodes_dev"] == 0.0 and "dcodes_dev" not in rows[2]  # pairnet has no codes
    table = lines[-1].splitlines()
    assert table[0].startswith("model") and len(table) == 5
