"""The child-process rows: both kinds of external model, ours (child) beside the reference (in-process)."""

from dataclasses import replace

import pytest

from explorer.bench.plan import TINY

pytest.importorskip("onnxruntime")


def test_rows_measure_both_ways(monkeypatch, tmp_path):
    from explorer.bench.isolation_rows import isolation_rows

    monkeypatch.setenv("EXPLORER_CONFIG_DIR", str(tmp_path))
    rows = isolation_rows(replace(TINY, encode_n=64, encode_repeats=1))
    assert [r.measure.split(":")[0] for r in rows] == ["external ONNX model"] * 2 + [
        "external TorchScript model"
    ] * 2
    assert all(r.ours > 0 and r.reference > 0 for r in rows)
