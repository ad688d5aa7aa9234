"""Encoders: pixels, pca, our checkpoints, TorchScript, .pt2, ONNX; pickles that would run code."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from explorer.core.errors import ExplorerError, ModelFileError
from explorer.core.imageset import ImageSet
from explorer.models import load_encoder
from explorer.models.base import build_model
from explorer.models.checkpoint import save

RNG = np.random.default_rng(0)
IMAGES = RNG.random((7, 1, 8, 8), dtype=np.float32)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 5)).eval()


def reference(net):
    with torch.no_grad():
        return net(torch.from_numpy(IMAGES)).numpy()


def test_pixels_and_pca():
    data = ImageSet(images=RNG.random((60, 1, 8, 8), dtype=np.float32))
    assert load_encoder("pixels").encode(IMAGES).shape == (7, 64)
    pca = load_encoder("pca", data)
    codes = pca.encode(data.float_images())
    assert codes.shape == (60, 32) and codes.dtype == np.float32
    assert np.allclose(codes.mean(0), 0, atol=1e-5)  # centred on the data it was fitted on
    assert load_encoder("pca:5", data).encode(IMAGES).shape == (7, 5)
    with pytest.raises(ExplorerError, match="fitted on a data set"):
        load_encoder("pca")


def test_checkpoint_encoder_and_wrong_shape(tmp_path):
    model = build_model("ae", (1, 8, 8), code_dim=3).eval()
    save(tmp_path / "a.safetensors", model, class_names=["x"])
    enc = load_encoder(str(tmp_path / "a.safetensors"))
    assert enc.input_shape == (1, 8, 8) and enc.class_names == ["x"]
    with torch.no_grad():
        assert np.allclose(enc.encode(IMAGES), model.encode(torch.from_numpy(IMAGES)).numpy(), atol=1e-6)
    with pytest.raises(ModelFileError, match="made for 1-channel 8x8 images, but these are 1-channel 28x28"):
        enc.encode(np.zeros((2, 1, 28, 28), np.float32))


def test_torchscript(tmp_path, net):
    with warnings.catch_warnings():  # torch.jit is deprecated; people still have such files
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.trace(net, torch.zeros(1, 1, 8, 8)), str(tmp_path / "ts.pt"))
    enc = load_encoder(str(tmp_path / "ts.pt"), trust=True)
    assert np.allclose(enc.encode(IMAGES), reference(net), atol=1e-6)


@pytest.mark.parametrize("dynamic", [True, False])
def test_torch_export(tmp_path, net, dynamic):
    shapes = {"input": {0: torch.export.Dim("batch")}} if dynamic else None
    program = torch.export.export(net, (torch.zeros(4, 1, 8, 8),), dynamic_shapes=shapes)
    torch.export.save(program, str(tmp_path / "m.pt2"))
    enc = load_encoder(str(tmp_path / "m.pt2"), trust=True)
    assert enc.input_shape == (1, 8, 8) and enc.fixed_batch == (None if dynamic else 4)
    assert np.allclose(enc.encode(IMAGES), reference(net), atol=1e-6)  # 7 items: padded if fixed
    with pytest.raises(ModelFileError, match="made for 1-channel 8x8"):
        enc.encode(np.zeros((1, 1, 9, 9), np.float32))


def test_onnx(tmp_path, net):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    w = net[1].weight.detach().numpy()
    b = net[1].bias.detach().numpy()
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["x"], ["f"], axis=1),
            helper.make_node("Gemm", ["f", "w", "b"], ["y"], transB=1),
        ],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 5])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "m.onnx"))
    enc = load_encoder(str(tmp_path / "m.onnx"))
    assert enc.input_shape == (1, 8, 8)
    assert np.allclose(enc.encode(IMAGES), reference(net), atol=1e-5)
    (tmp_path / "bad.onnx").write_bytes(b"not onnx")
    with pytest.raises(ModelFileError, match="not an ONNX model"):
        load_encoder(str(tmp_path / "bad.onnx"))


class MakesMarker:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("how", ["torch.save", "pickle"])
def test_a_pickle_that_would_run_code_is_refused(tmp_path, how):
    marker = tmp_path / "MARKER"
    path = tmp_path / "evil.pt"
    if how == "torch.save":
        torch.save({"weights": MakesMarker(str(marker))}, str(path))
    else:
        path.write_bytes(pickle.dumps({"weights": MakesMarker(str(marker))}, protocol=2))
    assert not marker.exists()
    with pytest.raises(ModelFileError, match="(would run Python code|old-style pickle)"):
        load_encoder(str(path), trust=True)  # the scanner, behind the trust gate
    assert not marker.exists()
    pickle.loads(pickle.dumps(MakesMarker(str(marker)))).close()  # live: plain pickle runs it
    assert marker.exists()


def test_weights_alone_are_refused_and_ours_rebuild(tmp_path, net):
    torch.save(net.state_dict(), str(tmp_path / "sd.pt"))
    with pytest.raises(ModelFileError, match="only weights .* no architecture"):
        load_encoder(str(tmp_path / "sd.pt"), trust=True)
    model = build_model("ae", (1, 8, 8), code_dim=3).eval()
    blob = {
        "architecture": "ae",
        "config": model.config_dict(),
        "input_shape": [1, 8, 8],
        "state_dict": model.state_dict(),
    }
    torch.save(blob, str(tmp_path / "ours.pt"))
    enc = load_encoder(str(tmp_path / "ours.pt"), trust=True)
    with torch.no_grad():
        assert np.allclose(enc.encode(IMAGES), model.encode(torch.from_numpy(IMAGES)).numpy(), atol=1e-6)


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(ModelFileError, match="no model file"):
        load_encoder(str(tmp_path / "nope.pt"))
    (tmp_path / "m.h5").write_bytes(b"x")
    with pytest.raises(ModelFileError, match="unknown model format '.h5'"):
        load_encoder(str(tmp_path / "m.h5"))


def test_importing_models_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, explorer.models; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
