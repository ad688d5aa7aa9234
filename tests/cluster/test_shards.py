"""Shard folders without Ray: written whole or not at all, damaged shards redone, read in order."""

from __future__ import annotations

import os

import numpy as np
import pytest

from explorer.core.errors import DataError
from explorer.data import shards


def _write(folder, n=25, rows=10, dim=3):
    codes = np.arange(n * dim, dtype=np.float32).reshape(n, dim)
    info = {"count": n, "shard_rows": rows}
    shards.write_manifest(str(folder), info)
    for k, (a, b) in enumerate(shards.shard_ranges(n, rows)):
        shards.write_shard(str(folder), k, np.arange(a, b), codes[a:b], None, np.arange(a, b) % 2, None)
    return codes, shards.read_manifest(str(folder))


def test_shards_read_back_in_row_order(tmp_path):
    codes, info = _write(tmp_path)
    assert shards.shard_ranges(25, 10) == [(0, 10), (10, 20), (20, 25)]
    assert shards.finished_shards(str(tmp_path), info) == {0, 1, 2}
    np.testing.assert_array_equal(shards.read_shard_codes(str(tmp_path)), codes)


def test_a_damaged_or_short_shard_counts_as_unfinished(tmp_path):
    codes, info = _write(tmp_path)
    with open(tmp_path / shards.shard_name(1), "r+b") as f:
        f.truncate(40)
    shards.write_shard(str(tmp_path), 2, np.arange(20, 23), codes[20:23], None, None, None)  # 3 of 5 rows
    assert shards.finished_shards(str(tmp_path), info) == {0}


def test_an_unfinished_folder_says_how_to_finish_it(tmp_path):
    _write(tmp_path)
    os.remove(tmp_path / shards.shard_name(2))
    with pytest.raises(DataError, match="run the same `explorer encode` again"):
        shards.read_shard_codes(str(tmp_path))


def test_project_reads_a_shard_folder(tmp_path):
    from explorer.cli import main

    codes, _ = _write(tmp_path / "s" if os.makedirs(tmp_path / "s") is None else None, n=40, rows=16, dim=5)
    assert (
        main(
            ["project", "--codes", str(tmp_path / "s"), "--method", "pca", "--out", str(tmp_path / "xy.npy")]
        )
        == 0
    )
    assert np.load(tmp_path / "xy.npy").shape == (40, 2)
