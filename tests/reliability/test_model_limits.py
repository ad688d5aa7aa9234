"""External models in a child process: a time and a memory limit, one sentence, the app goes on."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from explorer.cli import main  # noqa: E402
from explorer.core.errors import ModelFileError  # noqa: E402
from explorer.models import isolated, load_encoder  # noqa: E402

from . import _programs  # noqa: E402

X = np.random.default_rng(0).random((5, 1, 4, 4), dtype=np.float32)


@pytest.fixture(autouse=True)
def isolation_on(monkeypatch, tmp_path):
    monkeypatch.setenv("EXPLORER_ISOLATE_MODELS", "1")
    monkeypatch.setenv("EXPLORER_MODEL_TIMEOUT_S", "4")
    monkeypatch.setenv("EXPLORER_MODEL_MEMORY_MB", "1024")
    monkeypatch.setenv("EXPLORER_CONFIG_DIR", str(tmp_path / "config"))


def _one_sentence(text: str) -> None:
    text = text.strip()
    assert len(text.splitlines()) == 1 and "Traceback" not in text and text.endswith("."), text


def test_an_onnx_graph_that_never_ends_is_stopped(tmp_path):
    path = tmp_path / "loop.onnx"
    path.write_bytes(_programs.onnx_looping())
    enc = load_encoder(str(path))
    assert isinstance(enc, isolated.IsolatedEncoder)
    t0 = time.perf_counter()
    with pytest.raises(ModelFileError, match="longer than 4 s .* EXPLORER_MODEL_TIMEOUT_S") as err:
        enc.encode(X)
    assert time.perf_counter() - t0 < 15
    _one_sentence(str(err.value))
    with pytest.raises(ModelFileError, match="stopped earlier"):
        enc.encode(X)


def test_an_onnx_graph_that_allocates_gigabytes_is_stopped(tmp_path):
    path = tmp_path / "big.onnx"
    path.write_bytes(_programs.onnx_allocating(16))
    with pytest.raises(ModelFileError, match="1024 MB|EXPLORER_MODEL_MEMORY_MB") as err:
        load_encoder(str(path)).encode(X)
    _one_sentence(str(err.value))


def test_the_command_line_says_so_and_exits_2(tmp_path, capsys):
    path = tmp_path / "loop.onnx"
    path.write_bytes(_programs.onnx_looping())
    data = tmp_path / "d.npz"
    np.savez(data, images=np.zeros((3, 4, 4), np.uint8))
    assert main(["encode", "--model", str(path), "--data", str(data), "--out", str(tmp_path / "c.npy")]) == 2
    _one_sentence(capsys.readouterr().err.strip().splitlines()[-1])


def test_sound_models_encode_the_same_in_the_child(tmp_path, monkeypatch):
    net = _programs._net()
    x = torch.zeros(2, 1, 4, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(net), str(tmp_path / "t.pt"))
        torch.onnx.export(
            net,
            (x,),
            str(tmp_path / "m.onnx"),
            dynamo=False,
            input_names=["input"],
            dynamic_axes={"input": {0: "batch"}},
        )
    (tmp_path / "m.pt2").write_bytes(_programs.pt2_bytes(dynamic=False))  # fixed batch 2: padded
    monkeypatch.setenv("EXPLORER_MODEL_TIMEOUT_S", "120")
    with torch.no_grad():
        want = net(torch.from_numpy(X)).numpy()
    for name in ("m.onnx", "t.pt", "m.pt2"):
        enc = load_encoder(str(tmp_path / name), trust=True)
        assert isinstance(enc, isolated.IsolatedEncoder) and enc.input_shape in (None, (1, 4, 4))
        assert np.allclose(enc.encode(X), want, atol=1e-5), name
        enc.close()
