"""What running an external model in a child process (explorer/models/isolated.py: a time and a
memory limit) costs against running it in this process: the time to open it, and encode
throughput, for an ONNX file and a TorchScript file of one small conv net on MNIST-sized images."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import warnings

import numpy as np

from explorer.bench.plan import Plan
from explorer.bench.table import Row


def _files(folder: str) -> dict[str, str]:
    import torch
    from torch import nn

    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * 6 * 6, 64),
    ).eval()
    x = torch.zeros(2, 1, 28, 28)
    paths = {"ONNX": os.path.join(folder, "net.onnx"), "TorchScript": os.path.join(folder, "net.pt")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (x,),
            paths["ONNX"],
            dynamo=False,
            input_names=["input"],
            dynamic_axes={"input": {0: "batch"}},
        )
        torch.jit.save(torch.jit.trace(net, x), paths["TorchScript"])
    return paths


def _with_isolation(on: bool):
    class Env:
        def __enter__(self):
            self.old = os.environ.get("EXPLORER_ISOLATE_MODELS")
            os.environ["EXPLORER_ISOLATE_MODELS"] = "1" if on else "0"

        def __exit__(self, *exc):
            if self.old is None:
                os.environ.pop("EXPLORER_ISOLATE_MODELS", None)
            else:
                os.environ["EXPLORER_ISOLATE_MODELS"] = self.old

    return Env()


def isolation_rows(plan: Plan) -> list[Row]:
    from explorer.models import load_encoder

    rows = []
    images = np.random.default_rng(0).random((plan.encode_n, 1, 28, 28), dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        for kind, path in _files(tmp).items():
            load = {True: [], False: []}
            rate = {True: [], False: []}
            for _ in range(max(1, plan.encode_repeats)):
                for isolated in (True, False):
                    with _with_isolation(isolated):
                        t0 = time.perf_counter()
                        enc = load_encoder(path, trust=True)
                        enc.encode(images[:8])  # the first batch: lazy set-up belongs to opening
                        load[isolated].append(time.perf_counter() - t0)
                        t0 = time.perf_counter()
                        for s in range(0, len(images), 512):
                            enc.encode(images[s : s + 512])
                        rate[isolated].append(len(images) / (time.perf_counter() - t0))
                        getattr(enc, "close", lambda: None)()
            ours_l, ref_l = statistics.median(load[True]), statistics.median(load[False])
            ours_r, ref_r = statistics.median(rate[True]), statistics.median(rate[False])
            note = (
                f"a conv net on {len(images):,} images (1, 28, 28) in batches of 512; ours: in a child "
                f"process with the time and memory limits, reference: in this process; "
                f"{plan.encode_repeats} alternations, medians"
            )
            rows.append(
                Row(
                    f"external {kind} model: open (child process vs in-process)",
                    ours_l,
                    ref_l,
                    "s",
                    "(none)",
                    None,
                    True,
                    note,
                )
            )
            rows.append(
                Row(
                    f"external {kind} model: encode (child process vs in-process)",
                    ours_r,
                    ref_r,
                    "img/s",
                    "(none)",
                    None,
                    False,
                    note,
                )
            )
    return rows
