"""`triplet`: the siamese encoder trained on triplets (anchor, positive, negative) with the margin
loss max(d(a, p) − d(a, n) + m, 0) (FaceNet). Batches hold P classes x K images; every
anchor-positive pair of the batch takes a semi-hard negative from the same batch: farther than the
positive but within the margin (the closest such); when there is none, the farthest negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from explorer.models._metric import MetricModel
from explorer.models.base import register
from explorer.models.sampling import class_balanced_batches
from explorer.models.towers import make_tower


@dataclass
class TripletConfig:
    code_dim: int = 32
    tower: str = "conv"  # "conv" | "mlp"
    channels: tuple[int, ...] = (32, 64)
    hidden: int = 128
    margin: float = 0.2
    normalize: bool = True  # codes on the unit sphere (distances in [0, 2])
    per_class: int = 8  # K images of each class in a batch
    mining: str = "semihard"  # "semihard" | "hard" (hardest negative) | "all" (every valid triplet)


def triplet_loss(
    codes: torch.Tensor, labels: torch.Tensor, margin: float, mining: str = "semihard"
) -> tuple[torch.Tensor, dict[str, float]]:
    """In-batch triplet loss of codes (B, D) with labels (B,)."""
    d = torch.cdist(codes, codes)  # (B, B)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=codes.device)
    pos_mask = same & ~eye  # (a, p) pairs
    neg_mask = ~same
    a_idx, p_idx = pos_mask.nonzero(as_tuple=True)
    if len(a_idx) == 0 or not bool(neg_mask.any()):
        return codes.sum() * 0.0, {"active": 0.0}
    d_ap = d[a_idx, p_idx]  # (T,)
    d_an = d[a_idx]  # (T, B)
    valid = neg_mask[a_idx]  # (T, B)
    big = torch.finfo(d.dtype).max
    if mining == "all":
        losses = F.relu(d_ap[:, None] - d_an + margin)[valid]
        active = float((losses > 0).float().mean())
        return losses[losses > 0].mean() if bool((losses > 0).any()) else losses.sum() * 0, {"active": active}
    if mining == "hard":
        d_neg = torch.where(valid, d_an, torch.full_like(d_an, big)).min(1).values
    else:  # semi-hard: the closest negative beyond the positive; else the farthest negative
        semi = valid & (d_an > d_ap[:, None]) & (d_an < d_ap[:, None] + margin)
        closest_semi = torch.where(semi, d_an, torch.full_like(d_an, big)).min(1).values
        farthest = torch.where(valid, d_an, torch.full_like(d_an, -1.0)).max(1).values
        d_neg = torch.where(semi.any(1), closest_semi, farthest)
    losses = F.relu(d_ap - d_neg + margin)
    return losses.mean(), {"active": float((losses > 0).float().mean())}


@register
class Triplet(MetricModel):
    key = "triplet"
    description = "Siamese encoder trained with the triplet margin loss and in-batch semi-hard mining."
    Config = TripletConfig
    augment_keys = ("x",)
    defaults = {"epochs": 20, "batch_size": 128, "lr": 1e-3}

    def __init__(self, config, input_shape) -> None:
        super().__init__(config, input_shape)
        if config.mining not in ("semihard", "hard", "all"):
            raise ValueError(f"mining must be 'semihard', 'hard' or 'all', not {config.mining!r}")
        self.tower = make_tower(config.tower, self.input_shape, config.code_dim,
                                tuple(config.channels), config.hidden)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        z = self.tower(x)  # (B, code_dim)
        return F.normalize(z, dim=1) if self.config.normalize else z

    def num_batches(self, data, batch_size: int) -> int:
        return max(1, -(-int((data.labels >= 0).sum()) // batch_size))

    def batches(self, data, batch_size, rng):
        for idx in class_balanced_batches(data.labels, batch_size, rng, self.config.per_class):
            yield {"x": data.float_images(idx), "y": data.labels[idx]}

    def loss(self, batch):
        return triplet_loss(self.encode(batch["x"]), batch["y"], self.config.margin, self.config.mining)

    @torch.no_grad()
    def validate(self, data):
        auc, _, _ = self.pair_auc(data)
        rng = np.random.default_rng(54321)  # the same validation batches every epoch
        losses = []
        for k, idx in enumerate(class_balanced_batches(data.labels, 256, rng, self.config.per_class)):
            if k >= 8:
                break
            x = torch.from_numpy(data.float_images(idx)).to(self.device)
            y = torch.as_tensor(data.labels[idx], device=self.device)
            losses.append(float(triplet_loss(self.encode(x), y, self.config.margin, self.config.mining)[0]))
        return {"val_loss": float(np.mean(losses)) if losses else float("nan"), "auc": auc}
