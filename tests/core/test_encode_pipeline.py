"""Encoding photos of any size through models with their own input, streamed into a resumable cache."""

import warnings

import numpy as np
import pytest
import torch

from explorer.core.codes_store import cached_codes, codes_key, encode_job
from explorer.core.encoder import encode_dataset
from explorer.core.progress import run_to_end
from explorer.data import load_data
from explorer.models import load_encoder
from tests.data.test_files import photos


def channel_means_onnx(path, size=224):
    """An ONNX graph taking (N, 3, size, size) that returns the mean of each channel: (N, 3)."""
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["x"], ["p"]),
            helper.make_node("Flatten", ["p"], ["y"], axis=1),
        ],
        "means",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


class Means(torch.nn.Module):
    def forward(self, x):
        if x.shape[-1] != 224 or x.shape[-2] != 224:
            raise ValueError("224x224 only")
        return x.mean(dim=(2, 3))


@pytest.mark.parametrize("file_backed", [True, False])
def test_mixed_size_photos_encode_through_a_224_onnx_model(tmp_path, file_backed):
    folder = photos(tmp_path / "p", sizes=((640, 480), (300, 500), (256, 256)), per_class=3)
    data = load_data(str(folder), file_backed=file_backed)
    enc = load_encoder(channel_means_onnx(tmp_path / "m.onnx"))
    assert enc.input_shape == (3, 224, 224) and enc.preprocess_source == "default"
    codes = run_to_end(encode_dataset(enc, data, batch_size=4))
    assert codes.shape == (6, 3)
    # class c has channel c saturated: the codes say so
    assert codes[:3, 0].min() > 0.9 and codes[3:, 1].min() > 0.9
    assert np.allclose(codes[:3, 1:].mean(), 0.5, atol=0.1)


def test_torchscript_model_gets_its_input_from_the_files(tmp_path):
    folder = photos(tmp_path / "p", sizes=((640, 480), (200, 320)), per_class=2)
    data = load_data(str(folder), file_backed=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(Means()), str(tmp_path / "m.pt"))
    (tmp_path / "m.pt.json").write_text('{"input_shape": [3, 224, 224], "preset": "imagenet"}')
    from explorer.models import external

    enc = external.load_torch_file(str(tmp_path / "m.pt"))
    assert enc.preprocess.preset == "imagenet" and enc.normalisation["mean"][0] == pytest.approx(0.485)
    codes = run_to_end(encode_dataset(enc, data, batch_size=3))
    # the files resized as ImageNet models expect, then ImageNet mean/std applied by the encoder
    x = data.encoder_input(slice(0, 4), enc.preprocess)
    assert x.shape == (4, 3, 224, 224)
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    assert np.allclose(codes, (x.mean(axis=(2, 3)) - mean) / std, atol=1e-4)
    assert codes[:2, 0].min() > (0.85 - 0.485) / 0.229  # the saturated class channel


def test_encoding_resumes_after_cancel_and_is_cached(tmp_path):
    folder = photos(tmp_path / "p", per_class=10)
    data = load_data(str(folder), file_backed=True, working=(8, 8))
    enc = load_encoder(channel_means_onnx(tmp_path / "m.onnx", size=32))
    full = run_to_end(encode_dataset(enc, data, batch_size=4))
    key = codes_key(data, enc)
    assert key and cached_codes(key) is None
    job = encode_job(enc, data, batch_size=4)
    next(job)  # one batch of 4 is written, then the user cancels
    job.close()
    assert cached_codes(key) is None  # not whole: not trusted as finished
    messages = []
    job = encode_job(enc, data, batch_size=4)
    while True:
        try:
            messages.append(next(job).message)
        except StopIteration as stop:
            codes = stop.value
            break
    assert messages[0].startswith("resuming") and "item 4" in messages[0]
    assert np.allclose(codes, full, atol=1e-6)
    again = encode_job(enc, data, batch_size=4)
    assert "from the cache" in next(again).message
    assert np.allclose(run_to_end(again), full, atol=1e-6)
    # a different data set (a subset) has a different key
    assert codes_key(data.subset(np.arange(5)), enc) != key


def test_preset_choice_is_remembered_per_model_file(tmp_path):
    from explorer.core.preprocess import preset
    from explorer.models.preprocessing import remember

    path = channel_means_onnx(tmp_path / "m.onnx")
    remember(path, preset("clip", (3, 224, 224)))
    enc = load_encoder(path)
    assert enc.preprocess.preset == "clip" and enc.preprocess_source == "remembered"
    assert enc.normalisation["std"][0] == pytest.approx(0.26862954)


def test_encoding_goes_on_without_its_prefetch_thread_when_none_may_start(monkeypatch):
    """At interpreter exit concurrent.futures refuses new work; an encode still running in a worker
    then reads its batches itself instead of dying with a traceback."""
    from concurrent.futures import ThreadPoolExecutor

    from explorer.core.encoder import encode_batches
    from explorer.core.imageset import ImageSet
    from explorer.models.encoders import PixelEncoder

    def refuse(self, fn, *args, **kwargs):
        raise RuntimeError("cannot schedule new futures after interpreter shutdown")

    monkeypatch.setattr(ThreadPoolExecutor, "submit", refuse)
    data = ImageSet(np.arange(5 * 4, dtype=np.uint8).reshape(5, 1, 2, 2), name="tiny")
    enc = PixelEncoder()
    out = list(encode_batches(enc, data, batch_size=2))
    assert [(a, b) for a, b, _ in out] == [(0, 2), (2, 4), (4, 5)]
    np.testing.assert_allclose(np.concatenate([c for _, _, c in out]), data.float_images().reshape(5, -1))
