"""A ResNet-18-sized encoder in plain torch (no torchvision), random weights, for the encode rows.

Same layout as ResNet-18 (7x7 stem, 4 stages of 2 basic blocks, 64-512 channels, global average
pool): 11.2 M parameters, 1.8 GFLOPs at 224x224. Exported once to ONNX and TorchScript in the
cache so the rows time the files a user would open.
"""

from __future__ import annotations

import os
import warnings

from explorer.core.paths import cache_dir


def _net():
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.skip = (
                None
                if stride == 1 and cin == cout
                else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            )

        def forward(self, x):  # (B, cin, H, W) -> (B, cout, H/stride, W/stride)
            y = torch.relu(self.b1(self.c1(x)))
            y = self.b2(self.c2(y))
            return torch.relu(y + (x if self.skip is None else self.skip(x)))

    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [Block(cin, cout, stride), Block(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]  # (B, 512)
    torch.manual_seed(0)
    return nn.Sequential(*layers).eval()


def resnet_files() -> tuple[str, str]:
    """(ONNX path, TorchScript path) of the 224x224 network, made on first call."""
    import torch

    folder = cache_dir("bench", "resnet18-224")
    onnx_path, ts_path = os.path.join(folder, "resnet18.onnx"), os.path.join(folder, "resnet18.pt")
    if os.path.exists(onnx_path) and os.path.exists(ts_path):
        return onnx_path, ts_path
    net = _net()
    x = torch.zeros(1, 3, 224, 224)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (x,),
            onnx_path + ".tmp",
            dynamo=False,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
        )
        os.replace(onnx_path + ".tmp", onnx_path)
        with torch.no_grad():
            traced = torch.jit.trace(net, x)
        torch.jit.save(traced, ts_path + ".tmp")
        os.replace(ts_path + ".tmp", ts_path)
    with open(ts_path + ".json", "w", encoding="utf-8") as f:
        f.write('{"input_shape": [3, 224, 224]}')
    return onnx_path, ts_path
