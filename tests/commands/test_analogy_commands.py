import json

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.cli import main
from explorer.models.checkpoint import save
from explorer.models.gae import GaeConfig, GatedAutoencoder


@pytest.fixture(scope="module")
def gae_file(tmp_path_factory):
    torch.manual_seed(0)
    m = GatedAutoencoder(GaeConfig(factors=32, mapping=8, whiten=0), (1, 13, 13))
    with torch.no_grad():
        m.W_in.normal_(0, 1.0)
        m.W_out.normal_(0, 0.1)
    path = tmp_path_factory.mktemp("m") / "gae.safetensors"
    save(path, m.eval(), summary={"data": "shifts"})
    return str(path), m


def last_json(capsys):
    out = capsys.readouterr().out.strip().splitlines()
    return json.loads(out[-1])


def test_evaluate_analogy_on_fresh_shift_quadruples(gae_file, capsys):
    path, _ = gae_file
    assert main(["evaluate", "analogy", "--model", path, "--data", "sample:shifts", "--count", "300"]) == 0
    res = last_json(capsys)
    for key in ("nmse", "nmse_copy", "nmse_mean", "nmse_oracle", "knn5_mappings", "knn5_pixels"):
        assert key in res
    assert res["nmse_mean"] == pytest.approx(1.0)
    assert 1.5 < res["nmse_copy"] < 2.2  # unrelated random dots
    assert 0.15 < res["nmse_oracle"] < 0.35  # only the unseen border is wrong
    assert res["count"] == 300 and "fresh" in res["data"]


def test_evaluate_analogy_on_a_folder_of_sequences(gae_file, tmp_path, capsys):
    from explorer.data.sequences import render_sequences, write_sequence_folder

    path, _ = gae_file
    frames, _ = render_sequences(4, np.random.default_rng(0), frames=5, size=13)
    write_sequence_folder(str(tmp_path / "seqs"), frames)
    assert (
        main(["evaluate", "analogy", "--model", path, "--data", str(tmp_path / "seqs"), "--count", "40"]) == 0
    )
    res = last_json(capsys)
    assert res["count"] == 40 and "nmse_oracle" not in res
    assert np.isfinite(res["nmse"]) and res["nmse_mean"] == pytest.approx(1.0)


def test_analogy_writes_the_engines_output_and_notes_resizing(gae_file, tmp_path, capsys):
    from explorer.relational.engine import analogy

    path, model = gae_file
    rng = np.random.default_rng(1)
    arrays = {}
    for name, size in (("a", 13), ("b", 13), ("c", 26)):
        arrays[name] = (rng.random((size, size)) * 255).astype(np.uint8)
        Image.fromarray(arrays[name]).save(tmp_path / f"{name}.png")
    out = tmp_path / "d.png"
    code = main(
        [
            "analogy",
            "--model",
            path,
            "--x",
            str(tmp_path / "a.png"),
            "--y",
            str(tmp_path / "b.png"),
            "--apply",
            str(tmp_path / "c.png"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "c.png is 26x26; resized to the model's 13x13" in err
    got = np.asarray(Image.open(out), dtype=np.float32) / 255
    c13 = (
        np.asarray(Image.fromarray(arrays["c"]).resize((13, 13), Image.Resampling.BILINEAR), np.float32) / 255
    )
    f = lambda a: (a.astype(np.float32) / 255)[None, None] if a.dtype == np.uint8 else a[None, None]  # noqa: E731
    want = np.clip(analogy(model, f(arrays["a"]), f(arrays["b"]), c13[None, None])[0, 0], 0, 1)
    assert got.shape == (13, 13)
    assert np.abs(got - want).max() <= 1 / 255 + 1e-6


def test_user_mistakes_are_one_line_errors(gae_file, tmp_path, capsys):
    path, _ = gae_file
    code = main(
        [
            "analogy",
            "--model",
            path,
            "--x",
            str(tmp_path / "none.png"),
            "--y",
            "b",
            "--apply",
            "c",
            "--out",
            str(tmp_path / "d.png"),
        ]
    )
    assert code == 2
    assert "There is no image file" in capsys.readouterr().err
    not_model = tmp_path / "x.safetensors"
    not_model.write_bytes(b"junk")
    assert main(["evaluate", "analogy", "--model", str(not_model), "--data", "sample:shifts"]) == 2
    assert "not a valid .safetensors" in capsys.readouterr().err
