"""What the metric models (siamese, triplet) share: pair distances and validation by pair AUC."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from explorer.core.arrays import sorted_unique
from explorer.core.imageset import ImageSet
from explorer.models.base import TrainableModel
from explorer.models.sampling import balanced_pairs, class_held_out_split

VAL_PAIRS = 2000


def pair_distance(a: torch.Tensor, b: torch.Tensor, kind: str = "euclidean") -> torch.Tensor:
    """(B, D), (B, D) -> (B,) distances: Euclidean, or cosine distance 1 - cos(a, b)."""
    if kind == "cosine":
        return 1 - F.cosine_similarity(a, b, dim=1, eps=1e-8)
    return (a - b).pow(2).sum(1).add(1e-12).sqrt()


def contrastive_loss(d: torch.Tensor, same: torch.Tensor, margin: float) -> torch.Tensor:
    """mean of y·d² + (1 − y)·max(m − d, 0)², y = 1 for a pair of the same class."""
    return (same * d.pow(2) + (1 - same) * F.relu(margin - d).pow(2)).mean()


class MetricModel(TrainableModel):
    needs_labels = True
    # the validation figure the engine keeps the best epoch by (higher is better; see keep_best)
    selection_metric = "auc"
    defaults = {"epochs": 20, "batch_size": 128, "lr": 1e-3}

    @classmethod
    def validation_split(cls, data: ImageSet, fraction: float, seed: int, options: dict):
        """Whole classes held out (config ``val_by_class``, when the data has 8 or more classes),
        so the validation AUC is that of identities the model never saw; else None."""
        default = getattr(cls.Config, "val_by_class", False)
        if not options.get("val_by_class", default) or data.labels is None:
            return None
        return class_held_out_split(data.labels, fraction, seed)

    def encode_gallery(self, x: torch.Tensor) -> torch.Tensor:
        """Codes of gallery items; the same as encode() unless the towers are untied."""
        return self.encode(x)

    def distance_kind(self) -> str:
        return getattr(self.config, "distance", "euclidean")

    def val_pairs(self, data: ImageSet):
        """The same balanced validation pairs every epoch (seeded), or None without two classes."""
        if data.labels is None or len(np.unique(data.labels[data.labels >= 0])) < 2:
            return None
        n = min(VAL_PAIRS, 2 * data.count)
        return balanced_pairs(data.labels, n, np.random.default_rng(12345))

    @torch.no_grad()
    def pair_scores(self, data: ImageSet, i: np.ndarray, j: np.ndarray) -> torch.Tensor:
        """(n,) distances of the pairs (i, j) of ``data``."""
        items = sorted_unique(np.concatenate([i, j]))
        pos = {int(v): k for k, v in enumerate(items)}
        q, g = [], []
        for start in range(0, len(items), 512):
            x = torch.from_numpy(data.float_images(items[start : start + 512])).to(self.device)
            q.append(self.encode(x))
            g.append(self.encode_gallery(x))
        q, g = torch.cat(q), torch.cat(g)
        ii = torch.as_tensor([pos[int(v)] for v in i], device=q.device)
        jj = torch.as_tensor([pos[int(v)] for v in j], device=q.device)
        return pair_distance(q[ii], g[jj], self.distance_kind())

    @torch.no_grad()
    def pair_auc(self, data: ImageSet) -> tuple[float, torch.Tensor | None, np.ndarray | None]:
        """Verification AUC on the validation pairs (score = −distance), with their distances."""
        from sklearn.metrics import roc_auc_score

        pairs = self.val_pairs(data)
        if pairs is None:
            return float("nan"), None, None
        i, j, same = pairs
        d = self.pair_scores(data, i, j)
        if len(np.unique(same)) < 2:
            return float("nan"), d, same
        return float(roc_auc_score(same, -d.cpu().numpy())), d, same
