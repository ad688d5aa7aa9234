import warnings

import pytest


@pytest.fixture(scope="session")
def sound_models(tmp_path_factory):
    """Sound model files of every kind, made once per session, as bytes:
    safetensors (a tiny 'ae' checkpoint), weights (.ckpt), sd (a plain state dict .pt),
    torchscript, pt2, onnx. The torch ones hold Flatten + Linear(16, 3) for (1, 4, 4) inputs."""
    torch = pytest.importorskip("torch")
    from explorer.models.base import build_model
    from explorer.models.checkpoint import save

    folder = tmp_path_factory.mktemp("sound_models")
    torch.manual_seed(0)
    save(folder / "ae.safetensors", build_model("ae", (1, 4, 4), 2, {"hidden": (8,)}), class_names=["a", "b"])
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3)).eval()
    x = torch.zeros(2, 1, 4, 4)
    torch.save({"state_dict": model.state_dict(), "epoch": 3}, folder / "w.ckpt")
    torch.save(model.state_dict(), folder / "sd.pt")
    with warnings.catch_warnings():  # torch.jit and the TorchScript ONNX exporter are deprecated upstream
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(model), folder / "ts.pt")
        torch.onnx.export(model, (x,), str(folder / "m.onnx"), dynamo=False)
    torch.export.save(torch.export.export(model, (x,)), folder / "m.pt2")
    names = {
        "safetensors": "ae.safetensors",
        "weights": "w.ckpt",
        "sd": "sd.pt",
        "torchscript": "ts.pt",
        "ts": "ts.pt",
        "pt2": "m.pt2",
        "onnx": "m.onnx",
    }
    return {k: (folder / v).read_bytes() for k, v in names.items()}
