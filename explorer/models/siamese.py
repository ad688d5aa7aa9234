"""`siamese`: one encoder applied to both images of a pair (tied weights), trained with the
contrastive loss y·d² + (1−y)·max(m−d, 0)² (Hadsell, Chopra & LeCun 2006), y = 1 when the two
images are of the same class. Distance: Euclidean or cosine.

``untied=True`` gives two towers, f_Q for the first image of a pair (queries) and f_B for the
second (the gallery), for matching across two domains; ``encode`` is f_Q, ``encode_gallery`` f_B.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explorer.models._metric import MetricModel, contrastive_loss, pair_distance
from explorer.models.base import register
from explorer.models.sampling import balanced_pairs
from explorer.models.towers import make_tower


@dataclass
class SiameseConfig:
    code_dim: int = 32
    tower: str = "conv"  # "conv" | "mlp"
    channels: tuple[int, ...] = (32, 64)
    hidden: int = 128
    distance: str = "euclidean"  # "euclidean" | "cosine"
    margin: float = 1.0
    untied: bool = False
    pairs_per_item: float = 2.0  # pairs per training item and epoch
    positive_fraction: float = 0.5


@register
class Siamese(MetricModel):
    key = "siamese"
    description = "Siamese encoder with tied weights and the contrastive loss (same class: pull, else push)."
    Config = SiameseConfig
    augment_keys = ("x1", "x2")
    defaults = {"epochs": 20, "batch_size": 128, "lr": 1e-3}

    def __init__(self, config, input_shape) -> None:
        super().__init__(config, input_shape)
        if config.distance not in ("euclidean", "cosine"):
            raise ValueError(f"distance must be 'euclidean' or 'cosine', not {config.distance!r}")

        def make():
            return make_tower(
                config.tower, self.input_shape, config.code_dim, tuple(config.channels), config.hidden
            )

        self.tower_q = make()
        self.tower_b = make() if config.untied else None
        if self.tower_b is not None:
            # both towers start from the same weights and drift apart as the domains require;
            # from two random starts the conv towers sat on a plateau (codes a constant apart)
            self.tower_b.load_state_dict(self.tower_q.state_dict())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.tower_q(x)  # (B, code_dim)

    def encode_gallery(self, x: torch.Tensor) -> torch.Tensor:
        return self.tower_q(x) if self.tower_b is None else self.tower_b(x)

    def _n_pairs(self, data) -> int:
        return max(2, int(round(self.config.pairs_per_item * int((data.labels >= 0).sum()))))

    def num_batches(self, data, batch_size: int) -> int:
        return -(-self._n_pairs(data) // batch_size)

    def batches(self, data, batch_size, rng):
        i, j, same = balanced_pairs(data.labels, self._n_pairs(data), rng, self.config.positive_fraction)
        for start in range(0, len(i), batch_size):
            sl = slice(start, start + batch_size)
            yield {"x1": data.float_images(i[sl]), "x2": data.float_images(j[sl]), "same": same[sl]}

    def loss(self, batch):
        d = pair_distance(self.encode(batch["x1"]), self.encode_gallery(batch["x2"]), self.config.distance)
        same = batch["same"]
        loss = contrastive_loss(d, same, self.config.margin)
        with torch.no_grad():
            pos = float(d[same > 0.5].mean()) if bool((same > 0.5).any()) else float("nan")
            neg = float(d[same < 0.5].mean()) if bool((same < 0.5).any()) else float("nan")
        return loss, {"d_same": pos, "d_diff": neg}

    @torch.no_grad()
    def validate(self, data):
        auc, d, same = self.pair_auc(data)
        if d is None:
            return {"val_loss": float("nan"), "auc": auc}
        y = torch.as_tensor(np.asarray(same), device=d.device)
        return {"val_loss": float(contrastive_loss(d, y, self.config.margin)), "auc": auc}
