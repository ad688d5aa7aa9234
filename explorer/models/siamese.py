"""`siamese`: one encoder applied to both images of a pair (tied weights), trained with the
contrastive loss y·d² + (1−y)·max(m−d, 0)² (Hadsell, Chopra & LeCun 2006), y = 1 when the two
images are of the same class. Distance: Euclidean or cosine.

``untied=True`` gives two towers, f_Q for the first image of a pair (queries) and f_B for the
second (the gallery), for matching across two domains; ``encode`` is f_Q, ``encode_gallery`` f_B.

Pairs come from class labels (two items of one class, or of two) or, on a pair set such as
``sample:stereo`` (``pairs`` "partners", the default "auto" when the data has partners), from the
set's own pairs: an image x_i and its partner y_i match, x_i and another item's y_j do not. That is
the pseudo-siamese of matching across two domains (a street view against the overhead view, a left
camera against a right one), where f_Q sees only x's and f_B only y's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explorer.models._metric import VAL_PAIRS, MetricModel, contrastive_loss, pair_distance
from explorer.models.base import register
from explorer.models.sampling import balanced_pairs, partner_pairs
from explorer.models.towers import make_tower

PAIRS = ("auto", "labels", "partners")


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
    pairs: str = "auto"  # "labels" | "partners" (x_i with y_i vs y_j) | "auto": partners if the data has them


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
        if config.pairs not in PAIRS:
            raise ValueError(f"pairs must be one of {', '.join(PAIRS)}, not {config.pairs!r}")

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

    def uses_partners(self, data) -> bool:
        """Whether pairs come from the data's partners (x_i, y_i) rather than from its labels."""
        if self.config.pairs == "partners" and data.partners is None:
            raise ValueError("pairs=partners needs a pair set (images with partners), such as sample:stereo")
        return self.config.pairs == "partners" or (self.config.pairs == "auto" and data.partners is not None)

    def _n_pairs(self, data) -> int:
        items = data.count if self.uses_partners(data) else int((data.labels >= 0).sum())
        return max(2, int(round(self.config.pairs_per_item * items)))

    def num_batches(self, data, batch_size: int) -> int:
        return -(-self._n_pairs(data) // batch_size)

    def batches(self, data, batch_size, rng):
        if self.uses_partners(data):
            i, j, same = partner_pairs(data.count, self._n_pairs(data), rng, self.config.positive_fraction)
            second = data.float_partners
        else:
            i, j, same = balanced_pairs(data.labels, self._n_pairs(data), rng, self.config.positive_fraction)
            second = data.float_images
        for start in range(0, len(i), batch_size):
            sl = slice(start, start + batch_size)
            yield {"x1": data.float_images(i[sl]), "x2": second(j[sl]), "same": same[sl]}

    @torch.no_grad()
    def pair_auc(self, data):
        if data.partners is None or not self.uses_partners(data):
            return super().pair_auc(data)
        from sklearn.metrics import roc_auc_score

        i, j, same = partner_pairs(data.count, min(VAL_PAIRS, 2 * data.count), np.random.default_rng(12345))
        q = self.encode(torch.from_numpy(data.float_images(i)).to(self.device))
        g = self.encode_gallery(torch.from_numpy(data.float_partners(j)).to(self.device))
        d = pair_distance(q, g, self.config.distance)
        if len(np.unique(same)) < 2:
            return float("nan"), d, same
        return float(roc_auc_score(same, -d.cpu().numpy())), d, same

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
