"""`explorer info DATA`: the issue's cases, through the real command line."""

import gzip
import json
import struct
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from explorer.cli import main


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "explorer", *args], capture_output=True, text=True, timeout=120
    )


def last_json(text):
    return json.loads(text.strip().splitlines()[-1])


def idx_bytes(array, code):
    return (
        struct.pack(">BBBB", 0, 0, code, array.ndim)
        + struct.pack(f">{array.ndim}I", *array.shape)
        + array.tobytes()
    )


def test_pgm_tree_and_missing_path_via_subprocess(tmp_path):
    rng = np.random.default_rng(0)
    for c in range(40):
        d = tmp_path / "tree" / f"person{c:02d}"
        d.mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 256, (14, 11), dtype=np.uint8)).save(d / f"{i}.pgm")
    done = run_cli("info", str(tmp_path / "tree"))
    assert done.returncode == 0, done.stderr
    facts = last_json(done.stdout)
    assert facts["count"] == 400 and facts["classes"] == 40 and facts["shape"] == [1, 14, 11]
    assert facts["format"] == "folder-classes" and facts["skipped"] == 0

    missing = run_cli("info", str(tmp_path / "no" / "such" / "folder"))
    assert missing.returncode != 0
    assert missing.stdout == ""
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not exist" in lines[0]
    assert "Traceback" not in missing.stderr


def test_gzipped_idx_with_labels_beside(tmp_path, capsys):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (60, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 60).astype(np.uint8)
    labels[:10] = np.arange(10)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images, 0x08)))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels, 0x08)))
    assert main(["info", str(tmp_path / "t10k-images-idx3-ubyte.gz")]) == 0
    facts = last_json(capsys.readouterr().out)
    assert facts["count"] == 60 and facts["classes"] == 10 and facts["shape"] == [1, 28, 28]
    assert facts["format"] == "idx" and facts["class_names"] == [str(i) for i in range(10)]


def test_truncated_png_and_text_file_are_skipped(tmp_path, capsys):
    rng = np.random.default_rng(2)
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(tmp_path / f"ok{i}.png")
    bad = tmp_path / "cut.png"
    Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(bad)
    bad.write_bytes(bad.read_bytes()[:60])
    (tmp_path / "readme.txt").write_text("hello")
    assert main(["info", str(tmp_path)]) == 0
    facts = last_json(capsys.readouterr().out)
    assert facts["skipped"] == 2 and facts["count"] == 6
    assert sorted(s.split(": ")[0] for s in facts["skipped_files"]) == [
        str(bad),
        str(tmp_path / "readme.txt"),
    ]


@pytest.mark.parametrize("name, count, shape", [("digits", 1797, [1, 8, 8]), ("shifts", 10000, [1, 13, 13])])
def test_sample_sets(name, count, shape, capsys):
    assert main(["info", f"sample:{name}"]) == 0
    facts = last_json(capsys.readouterr().out)
    assert facts["count"] == count and facts["shape"] == shape and facts["format"] == f"sample:{name}"


def test_bad_file_is_one_line_error(tmp_path, capsys):
    p = tmp_path / "x-images-idx3-ubyte"
    p.write_bytes(b"\x07\x07\x07\x07")
    assert main(["info", str(p)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"explorer: {p} is not an MNIST IDX file (bad magic number)."
