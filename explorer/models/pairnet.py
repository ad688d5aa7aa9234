"""`pairnet`: a pair classifier with the two inputs merged at the onset.

The images a and b are stacked as channels, (B, 2C, H, W), and one small network says whether they
show the same identity (a logit; BCE against 1 = same). Unlike a Siamese model it never gives one
image a code of its own: it can only score pairs, so it is a *pair scorer*
(:class:`explorer.verification.PairScorer`), not an Encoder. It is made symmetric by construction:
the logit is the mean of f(a, b) and f(b, a).

Training pairs are balanced (``explorer.models.sampling.balanced_pairs``, as for ``siamese``): about
half genuine pairs and half impostors, drawn afresh every epoch. The network is the metric models'
tower (``towers.make_tower``) on 2C input channels with one output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from explorer.core.errors import ExplorerError
from explorer.core.imageset import ImageSet
from explorer.models._metric import VAL_PAIRS
from explorer.models.base import TrainableModel, register
from explorer.models.sampling import balanced_pairs
from explorer.models.towers import make_tower


@dataclass
class PairNetConfig:
    tower: str = "conv"  # "conv" | "mlp": the metric models' tower, on 2C input channels, 1 output
    channels: tuple[int, ...] = (16, 32)  # narrower than siamese's: it runs once per PAIR, not per image
    hidden: int = 128
    code_dim: int = 0  # unused: a pair classifier has no per-image code (accepted from --code-dim)
    pairs_per_item: float = 2.0  # training pairs per item and epoch
    positive_fraction: float = 0.5


@register
class PairNet(TrainableModel):
    key = "pairnet"
    description = (
        "Pair classifier: both images stacked as channels into one network that says match / mismatch (BCE)."
    )
    Config = PairNetConfig
    needs_labels = True
    has_codes = False  # no per-image code: nothing to draw in a scatter or to search with
    augment_keys = ("a", "b")
    defaults = {"epochs": 15, "batch_size": 128, "lr": 1e-3}

    def __init__(self, config: PairNetConfig, input_shape: tuple[int, int, int]) -> None:
        super().__init__(config, input_shape)
        c, h, w = self.input_shape
        # (B, 2C, H, W) -> (B, 1) logit of "same"
        self.net = make_tower(config.tower, (2 * c, h, w), 1, tuple(config.channels), config.hidden)

    @property
    def code_dim(self) -> int:
        return 0

    # ---- the model ------------------------------------------------------------------------
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) pairs -> (B,) logits of "same", symmetric in a and b."""
        ab = self.net(torch.cat([a, b], dim=1))
        ba = self.net(torch.cat([b, a], dim=1))
        return 0.5 * (ab + ba).squeeze(1)

    @torch.no_grad()
    def score_pairs(self, a, b, batch_size: int = 1024) -> np.ndarray:
        """float (N, C, H, W) images a, b in [0, 1] (numpy or tensors) -> (N,) float64 logits."""
        a = torch.as_tensor(np.asarray(a, dtype=np.float32))
        b = torch.as_tensor(np.asarray(b, dtype=np.float32))
        if a.shape != b.shape or tuple(a.shape[1:]) != self.input_shape:
            raise ExplorerError(
                f"pairnet takes two images of shape {list(self.input_shape)}; got {list(a.shape[1:])} "
                f"and {list(b.shape[1:])}."
            )
        was_training = self.training
        self.eval()
        out = [
            self(a[s : s + batch_size].to(self.device), b[s : s + batch_size].to(self.device)).cpu()
            for s in range(0, len(a), batch_size)
        ]
        self.train(was_training)
        return torch.cat(out).double().numpy() if out else np.zeros(0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise ExplorerError(
            "A 'pairnet' model compares two images at once and gives no code for one image; use it "
            "in the verification panel or with `explorer evaluate verification`."
        )

    # ---- what the engine calls ------------------------------------------------------------
    def _n_pairs(self, data: ImageSet) -> int:
        return max(2, int(round(self.config.pairs_per_item * int((data.labels >= 0).sum()))))

    def num_batches(self, data: ImageSet, batch_size: int) -> int:
        return -(-self._n_pairs(data) // batch_size)

    def batches(self, data: ImageSet, batch_size: int, rng: np.random.Generator) -> Iterator[dict]:
        i, j, same = balanced_pairs(data.labels, self._n_pairs(data), rng, self.config.positive_fraction)
        for s in range(0, len(i), batch_size):
            sl = slice(s, s + batch_size)
            yield {"a": data.float_images(i[sl]), "b": data.float_images(j[sl]), "same": same[sl]}

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        logits = self(batch["a"], batch["b"])
        loss = F.binary_cross_entropy_with_logits(logits, batch["same"])
        acc = float(((logits > 0).float() == batch["same"]).float().mean())
        return loss, {"pair_accuracy": acc}

    @torch.no_grad()
    def validate(self, data: ImageSet) -> dict[str, float]:
        """BCE, accuracy at logit 0 and ROC AUC on the same seeded balanced pairs every epoch."""
        from sklearn.metrics import roc_auc_score

        if data.labels is None or len(np.unique(data.labels[data.labels >= 0])) < 2:
            return {"val_loss": float("nan"), "auc": float("nan")}
        n = min(VAL_PAIRS, 2 * data.count)
        i, j, same = balanced_pairs(data.labels, n, np.random.default_rng(12345))
        logits = self.score_pairs(data.float_images(i), data.float_images(j))
        target = torch.from_numpy(same)
        val_loss = float(F.binary_cross_entropy_with_logits(torch.from_numpy(logits).float(), target))
        out = {"val_loss": val_loss, "pair_accuracy": float(((logits > 0) == (same > 0.5)).mean())}
        out["auc"] = float(roc_auc_score(same > 0.5, logits)) if 0 < same.sum() < len(same) else float("nan")
        return out


class PairNetScorer:
    """A loaded pairnet as a pair scorer (numpy in, numpy out), for the CLI and the panel."""

    def __init__(self, model: PairNet, name: str = "pairnet") -> None:
        self.model = model.eval()
        self.name = name
        self.input_shape = model.input_shape

    def score_pairs(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self.model.score_pairs(a, b)


def load_pair_scorer(path: str) -> PairNetScorer | None:
    """The pair scorer saved in checkpoint ``path``, or None if that file holds another model."""
    from explorer.models import checkpoint

    if checkpoint.read_metadata(path)["architecture"] != PairNet.key:
        return None
    ckpt = checkpoint.load(path)
    return PairNetScorer(ckpt.model, ckpt.name)
