"""`triplet`: an encoder trained on class-balanced batches (P classes x K images) with an in-batch
metric loss, for verification of identities never seen in training.

Codes lie on the unit sphere (``normalize``), so distances run from 0 to 2 and one margin fits any
data. Losses (``loss``):

* ``supcon`` (default): supervised contrastive loss (Khosla et al. 2020) at ``temperature``, with
  ``views`` augmented copies of each image and an instance loss (``instance_weight``: each view
  must find its own twin among all others), which keeps features that tell new identities apart.
* ``triplet``: max(d(a, p) − d(a, n) + m, 0) (FaceNet) over every anchor-positive pair of the
  batch, the negative mined by ``mining``: ``semihard`` (the closest negative farther than the
  positive but within the margin; else the farthest), ``distance`` (distance-weighted sampling, Wu
  et al. 2017: negatives drawn with probability inversely proportional to how often that distance
  occurs between random points on the sphere, so every distance is seen, not only the easy ones),
  ``hard`` (the closest negative) or ``all`` (every valid triplet with a loss).
* ``contrastive``: the seed's y·d² + (1 − y)·max(m − d, 0)² over every pair of the batch.
* ``multisim``: the multi-similarity loss (Wang et al. 2019) with its pair mining.

Each training class under each of the 8 symmetries of the square (turns by 90 degrees, mirrored)
is a class of its own (``class_symmetries``; ``splice`` adds the top of one class over the bottom
of another): with few training classes, more identities teach a metric that carries over.
Made-up classes of random pen strokes (``glyph_classes``, models/glyphs.py) can join every batch,
and a small decoder redrawing each image from its code (``recon_weight``) keeps more of what the
images hold. Training images are augmented (small shifts, turns, zooms and changes of light,
``augment``; slants ``shear``, stroke width ``thickness``, bends ``elastic`` as options), and
when the data has enough classes, validation holds out whole classes (``val_by_class``), so the
validation AUC measures what the user wants: verification of identities the model never saw.

What ``encode`` returns (``embedding``): by default the conv backbone's pooled features before the
head, whitened on the training images at the end of the run, within their classes
(models/whitening.py), and put back on the unit sphere; the head's code, which the losses train,
only with ``embedding="code"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from explorer.models._metric import MetricModel, contrastive_loss
from explorer.models._proxy import PROXY_LOSSES, Proxies, proxy_loss
from explorer.models.augment import Augment, augment_images
from explorer.models.base import register
from explorer.models.glyphs import glyph_images
from explorer.models.sampling import class_balanced_batches
from explorer.models.towers import make_tower
from explorer.models.whitening import Whitening
from explorer.models.virtual_classes import symmetry_count, virtual_class_batches, virtual_class_images

LOSSES = ("triplet", "contrastive", "supcon", "multisim", *PROXY_LOSSES)
MININGS = ("semihard", "distance", "hard", "all")
EMBEDDINGS = ("code", "features")
WHITEN_ITEMS = 4096  # training items the whitening is fitted on (a seeded subsample beyond that)
GLYPH_LABEL = 1 << 40  # labels of glyph classes start here


@dataclass
class TripletConfig:
    # defaults measured on unseen classes (train on sample:mnist digits 0-4, verify 5-9; README,
    # `explorer bench --only unseen`): supcon with two augmented views and the instance loss beat
    # triplet/semi-hard, and the 8 symmetries of each training class as classes of their own
    code_dim: int = 64
    tower: str = "conv"  # "conv" | "mlp"
    # three conv blocks (28 x 28 digits: 128 channels x 4 x 4 features): on unseen digits, with
    # the within-class whitening, AUC 0.926 / 0.911 / 0.917 / 0.913, EER 15.2 / 16.7 / 16.1 /
    # 16.7%, TAR@1e-2 0.43 / 0.41 / 0.42 / 0.42 at seeds 0-3 against two blocks' 0.911 / 0.913 /
    # 0.915 / 0.906, 17.0 / 16.8 / 16.6 / 17.6%, 0.37 / 0.38 / 0.39 / 0.36, at 1.5x the training
    # compute; four blocks (to 2 x 2) 0.910 / 0.904 (docs/performance.md)
    channels: tuple[int, ...] = (32, 64, 128)
    hidden: int = 128
    loss: str = "supcon"  # "supcon" | "triplet" | "contrastive" (every pair of the batch)
    margin: float = 0.2
    normalize: bool = True  # codes on the unit sphere (distances in [0, 2])
    per_class: int = 8  # K images of each class in a batch
    mining: str = "semihard"  # "semihard" | "distance" | "hard" | "all"
    temperature: float = 0.1  # of the supcon loss
    views: int = 2  # augmented views of each image in a batch (2: a view is a positive of the other)
    label_weight: float = 1.0  # weight of the class loss (0: learn from the instance loss alone)
    instance_weight: float = 1.0  # weight of an added instance loss (views of one image vs all others)
    # new training classes from old ones: each class turned by 90-degree steps (4) and mirrored
    # too (8) counts as a class of its own, so the metric learns from more identities. Off by
    # default: on unseen digits 8 gave AUC +0.003 / +0.006 over two seeds (within the 0.02 that
    # runs of one setting differ by) at ~3x the compute (batches of 128 items, not 40), and it
    # would teach a face model that a mirrored face is another person (README, unseen classes)
    class_symmetries: int = 1  # 1 | 2 (mirrored) | 4 (turned) | 8 (both)
    # and the top of class a over the bottom of class b as a class (a, b) (models/virtual_classes.py)
    splice: bool = False
    augment: float = 1.0  # strength of the augmentation (0 = off; 1 = shifts 10%, turns 12 deg, ...)
    elastic: float = 0.0  # elastic displacement in pixels at augment 1 (0 = none)
    shear: float = 0.0  # largest slant x += shear * y at augment 1 (0 = none)
    thickness: float = 0.0  # largest blend towards a 3x3 dilation / erosion at augment 1 (0 = none)
    val_by_class: bool = True  # hold out whole classes for validation (when there are 4 or more)
    # proxy losses (normsoftmax, arcface, proxyanchor): one proxy per training class
    classes: int = 0  # how many classes have proxies (set from the training data)
    learn_temperature: bool = True  # learn the proxy softmax's temperature (from ``temperature``)
    proxy_lr: float = 10.0  # the proxies' learning rate, times the model's
    lr_schedule: str = "constant"  # "constant" | "cosine" (to 0 over the run)
    # an added reconstruction loss: a small decoder must redraw each (augmented) image from its
    # code, so the code keeps what the images hold beyond what tells the training classes apart
    recon_weight: float = 0.0
    # made-up classes of random pen strokes added to every batch (models/glyphs.py): this many
    # glyph classes x ``per_class`` items, each batch new ones, for a metric of strokes in general.
    # Off by default: on unseen digits 11 gave AUC 0.887 / 0.848 at seeds 0 / 1 against 0.869 /
    # 0.859 without, at ~2.7x the compute (README, unseen classes)
    glyph_classes: int = 0
    # what encode() returns: "features" (the conv backbone's pooled features before the head,
    # whitened on the training images and put back on the sphere; the head serves only the loss,
    # as SimCLR evaluates) or "code" (the head's output, which the loss sees). On unseen digits the
    # same trained model verifies at AUC 0.901 / 0.902 / 0.900 with "features" against 0.869 /
    # 0.859 / 0.809 with "code" at seeds 0 / 1 / 2 (README, unseen classes). An MLP tower gives its
    # code. Validation during a run sees the whitening of the last fit (identity before the first)
    embedding: str = "features"
    whiten_shrink: float = 3.0  # of "features": eigenvalues + shrink x their mean (models/whitening.py)
    # of "features": the leading principal directions kept (0: all). The pooled features are
    # channels[-1] x 4 x 4 wide (2,048 by default); 256 verify unseen digits as well (two blocks:
    # AUC 0.901 at seed 0, as all 1,024; three: 0.926 against 0.924 with 512) at a fraction of
    # the codes' memory (10^6 codes: 1 GB)
    whiten_dim: int = 256
    # of "features": whitened within the training classes (by the spread of items around their
    # class's mean; models/whitening.py) rather than by the spread of all features. On unseen
    # digits the same trained models verify at AUC 0.911 / 0.913 / 0.915, EER 17.0 / 16.8 / 16.6%
    # against 0.899 / 0.901 / 0.901, 18.4 / 18.4 / 18.3% at seeds 0 / 1 / 2 (docs/performance.md)
    whiten_by_class: bool = True
    # of "features": each code the mean of the whitened features of the image and of it moved by
    # this many pixels up, down, left and right (0: the image alone). On unseen digits 1 adds
    # AUC 0.006 / 0.005 / 0.006 at seeds 0 / 1 / 2 (0.918 / 0.918 / 0.921) at 5x the encoding's
    # compute, so it is an option (docs/performance.md)
    encode_shifts: int = 0


def shifted(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """(B, C, H, W) images moved ``dy`` pixels down and ``dx`` right, zeros coming in."""
    h, w = x.shape[-2:]
    p = max(abs(dy), abs(dx))
    padded = F.pad(x, (p, p, p, p))
    return padded[..., p - dy : p - dy + h, p - dx : p - dx + w]


def distance_weighted_negatives(
    d_an: torch.Tensor, valid: torch.Tensor, dim: int, cutoff: float = 0.5, nonzero_cap: float = 1.4
) -> torch.Tensor:
    """One negative per row of ``d_an`` (T, B), drawn among ``valid`` (T, B) with weight 1 / q(d),
    where q(d) ∝ d^(n−2) (1 − d²/4)^((n−3)/2) is the density of distances between random points on
    the unit sphere in n = ``dim`` dimensions (Wu et al. 2017); distances below ``cutoff`` count
    as ``cutoff`` (no exploding weights) and negatives beyond ``nonzero_cap`` (no loss possible)
    are left out unless nothing else remains. Returns the (T,) chosen negatives' distances."""
    n = float(max(dim, 4))
    d = d_an.clamp_min(cutoff)
    log_q = (n - 2) * torch.log(d) + (n - 3) / 2 * torch.log((1 - d.pow(2) / 4).clamp_min(1e-8))
    log_w = -log_q
    near = valid & (d_an < nonzero_cap)
    use = torch.where(near.any(1, keepdim=True), near, valid)
    log_w = torch.where(use, log_w, torch.full_like(log_w, -math.inf))
    log_w = log_w - log_w.max(1, keepdim=True).values  # stable softmax-like weights
    pick = torch.multinomial(log_w.exp(), 1).squeeze(1)  # (T,)
    return d_an.gather(1, pick[:, None]).squeeze(1)


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
    elif mining == "distance":
        d_neg = distance_weighted_negatives(d_an, valid, codes.shape[1])
    else:  # semi-hard: the closest negative beyond the positive; else the farthest negative
        semi = valid & (d_an > d_ap[:, None]) & (d_an < d_ap[:, None] + margin)
        closest_semi = torch.where(semi, d_an, torch.full_like(d_an, big)).min(1).values
        farthest = torch.where(valid, d_an, torch.full_like(d_an, -1.0)).max(1).values
        d_neg = torch.where(semi.any(1), closest_semi, farthest)
    losses = F.relu(d_ap - d_neg + margin)
    return losses.mean(), {"active": float((losses > 0).float().mean())}


def batch_contrastive_loss(
    codes: torch.Tensor, labels: torch.Tensor, margin: float
) -> tuple[torch.Tensor, dict[str, float]]:
    """The contrastive loss over every pair (i < j) of a batch of codes (B, D) with labels (B,),
    positives and negatives weighted equally (each half of the loss)."""
    b = len(labels)
    i, j = torch.triu_indices(b, b, 1, device=codes.device)
    d = (codes[i] - codes[j]).pow(2).sum(1).add(1e-12).sqrt()
    same = (labels[i] == labels[j]).to(codes.dtype)
    pos, neg = same > 0.5, same < 0.5
    parts = []
    if bool(pos.any()):
        parts.append(contrastive_loss(d[pos], same[pos], margin))
    if bool(neg.any()):
        parts.append(contrastive_loss(d[neg], same[neg], margin))
    if not parts:
        return codes.sum() * 0.0, {"active": 0.0}
    return sum(parts) / len(parts), {
        "active": float((d[neg] < margin).float().mean()) if bool(neg.any()) else 0.0
    }


def supcon_loss(
    codes: torch.Tensor, labels: torch.Tensor, temperature: float
) -> tuple[torch.Tensor, dict[str, float]]:
    """Supervised contrastive loss (Khosla et al. 2020) of unit codes (B, D) with labels (B,):
    for each anchor, −mean over its positives of log softmax(cos / T) over every other item."""
    b = len(labels)
    sim = codes @ codes.T / temperature  # (B, B)
    eye = torch.eye(b, dtype=torch.bool, device=codes.device)
    sim = sim.masked_fill(eye, -math.inf)
    log_p = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    pos = (labels[:, None] == labels[None, :]) & ~eye
    n_pos = pos.sum(1)
    has = n_pos > 0
    if not bool(has.any()):
        return codes.sum() * 0.0, {"active": 0.0}
    per = -(log_p.masked_fill(~pos, 0.0).sum(1)[has] / n_pos[has])
    return per.mean(), {"active": float(has.float().mean())}


def multi_similarity_loss(
    codes: torch.Tensor,
    labels: torch.Tensor,
    alpha: float = 2.0,
    beta: float = 50.0,
    base: float = 0.5,
    eps: float = 0.1,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Multi-similarity loss (Wang et al. 2019) of unit codes (B, D) with labels (B,): each anchor's
    positives less similar than its most similar negative + ``eps`` and negatives more similar than
    its least similar positive − ``eps`` (the pair mining), then
    1/alpha log(1 + sum_p exp(−alpha (s_p − base))) + 1/beta log(1 + sum_n exp(beta (s_n − base)))."""
    b = len(labels)
    sim = codes @ codes.T  # (B, B)
    eye = torch.eye(b, dtype=torch.bool, device=codes.device)
    pos = (labels[:, None] == labels[None, :]) & ~eye
    neg = labels[:, None] != labels[None, :]
    has = pos.any(1) & neg.any(1)
    if not bool(has.any()):
        return codes.sum() * 0.0, {"active": 0.0}
    s = sim.detach()
    hardest_neg = torch.where(neg, s, torch.full_like(s, -2.0)).max(1, keepdim=True).values
    easiest_pos = torch.where(pos, s, torch.full_like(s, 2.0)).min(1, keepdim=True).values
    pos_kept = pos & (s - eps < hardest_neg)
    neg_kept = neg & (s + eps > easiest_pos)
    none = torch.full_like(sim, -1e4)  # finite, so empty rows have a zero (not NaN) gradient
    zero = torch.zeros(b, 1, device=codes.device, dtype=codes.dtype)  # the "1 +" inside each log
    pos_term = torch.logsumexp(torch.cat([zero, torch.where(pos_kept, -alpha * (sim - base), none)], 1), 1)
    neg_term = torch.logsumexp(torch.cat([zero, torch.where(neg_kept, beta * (sim - base), none)], 1), 1)
    per = pos_term / alpha + neg_term / beta
    active = float((pos_kept.any(1) | neg_kept.any(1))[has].float().mean())
    return per[has].mean(), {"active": active}


@register
class Triplet(MetricModel):
    key = "triplet"
    description = (
        "Encoder on the unit sphere trained on P x K class batches, augmented: supervised "
        "contrastive (default), triplet (semi-hard / distance-weighted) or contrastive loss."
    )
    Config = TripletConfig
    augment_keys = ("x",)
    defaults = {"epochs": 40, "batch_size": 128, "lr": 1e-3}

    def __init__(self, config, input_shape) -> None:
        super().__init__(config, input_shape)
        if config.mining not in MININGS:
            raise ValueError(f"mining must be one of {', '.join(MININGS)}, not {config.mining!r}")
        if config.loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, not {config.loss!r}")
        if config.embedding not in EMBEDDINGS:
            raise ValueError(f"embedding must be one of {', '.join(EMBEDDINGS)}, not {config.embedding!r}")
        self.tower = make_tower(
            config.tower, self.input_shape, config.code_dim, tuple(config.channels), config.hidden
        )
        self.whitening = None
        if config.embedding == "features" and config.tower != "mlp":  # an MLP has no pooled features
            self._split = [type(m) for m in self.tower].index(torch.nn.Flatten) + 1
            with torch.no_grad():
                dim = self.tower[: self._split](torch.zeros(1, *self.input_shape)).shape[1]
            self.whitening = Whitening(dim, config.whiten_shrink, config.whiten_dim)
        self.proxies = None
        if config.loss in PROXY_LOSSES:
            if config.classes < 2:
                raise ValueError(f"loss {config.loss} needs classes (the training classes) of 2 or more")
            n = (
                config.classes
                * max(1, int(config.class_symmetries))
                * (config.classes if config.splice else 1)
            )
            self.proxies = Proxies(n, config.code_dim, config.temperature, config.learn_temperature)
        self.decoder = None
        if config.recon_weight > 0:
            size = int(np.prod(self.input_shape))
            self.decoder = torch.nn.Sequential(
                torch.nn.Linear(config.code_dim, 256), torch.nn.ReLU(), torch.nn.Linear(256, size)
            )

    @classmethod
    def data_options(cls, data) -> dict:
        if data.labels is None or not (data.labels >= 0).any():
            return {}
        return {"classes": int(data.labels.max()) + 1}  # labels index class_names

    @classmethod
    def saved_config(cls, config: dict) -> dict:
        # files written before the embedding option encode with their head's code, and those
        # written before whiten_dim kept every direction, and before whiten_by_class whitened
        # by the spread of all features
        if "embedding" not in config:
            config = {**config, "embedding": "code"}
        if "whiten_dim" not in config:
            config = {**config, "whiten_dim": 0}
        return config if "whiten_by_class" in config else {**config, "whiten_by_class": False}

    def param_groups(self, lr: float) -> list[dict]:
        if self.proxies is None:
            return super().param_groups(lr)
        own = [p for n, p in self.named_parameters() if not n.startswith("proxies.") and p.requires_grad]
        return [
            {"params": own, "lr": lr},
            {
                "params": [p for p in self.proxies.parameters() if p.requires_grad],
                "lr": lr * self.config.proxy_lr,
            },
        ]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, code_dim): the head's codes, which the losses train."""
        z = self.tower(x)
        return F.normalize(z, dim=1) if self.config.normalize else z

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, code_dim) codes, or with embedding "features" the (B, K) whitened
        pooled features of the backbone (their K = ``whiten_dim`` leading directions of D =
        channels[-1] x 4 x 4 for the conv tower), averaged over small shifts with
        ``encode_shifts``."""
        if self.whitening is None:
            return self.embed(x)
        shift = int(self.config.encode_shifts)
        if shift <= 0:
            return self.whitening(self.tower[: self._split](x))
        moves = ((0, 0), (shift, 0), (-shift, 0), (0, shift), (0, -shift))
        moved = torch.cat([shifted(x, dy, dx) for dy, dx in moves])  # (5B, C, H, W)
        feats = self.whitening.transform(self.tower[: self._split](moved))
        return F.normalize(feats.view(len(moves), len(x), -1).sum(0), dim=1)

    @property
    def code_dim(self) -> int:
        return int(self.config.code_dim) if self.whitening is None else self.whitening.out_dim

    @torch.no_grad()
    def fit_data(self, data) -> None:
        """Fit the whitening of embedding "features" on (at most WHITEN_ITEMS of) the training
        images, in eval mode, within their classes (``whiten_by_class``, when they have labels);
        nothing for embedding "code"."""
        if self.whitening is None:
            return
        idx = np.arange(data.count)
        if len(idx) > WHITEN_ITEMS:
            idx = np.sort(np.random.default_rng(0).choice(idx, WHITEN_ITEMS, replace=False))
        was_training = self.training
        self.eval()
        feats = [
            self.tower[: self._split](torch.from_numpy(data.float_images(idx[s : s + 512])).to(self.device))
            for s in range(0, len(idx), 512)
        ]
        labels = None
        if self.config.whiten_by_class and data.labels is not None:
            labels = torch.as_tensor(np.asarray(data.labels)[idx], device=self.device)
        self.whitening.fit(torch.cat(feats), labels)
        self.train(was_training)

    def num_batches(self, data, batch_size: int) -> int:
        return max(1, -(-int((data.labels >= 0).sum()) // batch_size))

    def batches(self, data, batch_size, rng):
        g = int(self.config.glyph_classes)
        for batch in self._data_batches(data, batch_size, rng):
            if g > 0:
                k = max(2, int(self.config.per_class))
                x = glyph_images(g, k, data.shape, rng)
                y = GLYPH_LABEL + np.repeat(np.arange(g), k)  # above every data class's label
                batch = {"x": np.concatenate([batch["x"], x]), "y": np.concatenate([batch["y"], y])}
            yield batch

    def _data_batches(self, data, batch_size, rng):
        k = symmetry_count(self.config.class_symmetries, data.shape)
        if k <= 1 and not self.config.splice:
            for idx in class_balanced_batches(data.labels, batch_size, rng, self.config.per_class):
                yield {"x": data.float_images(idx), "y": data.labels[idx]}
            return
        # virtual classes: symmetries of each class, spliced pairs of classes
        for top, bottom, sym, label in virtual_class_batches(
            data.labels, batch_size, rng, self.config.per_class, k, self.config.splice
        ):
            yield {"x": virtual_class_images(data, top, bottom, sym, rng), "y": label}

    def batch_loss(self, codes, labels):
        if self.proxies is not None:  # glyph classes have no proxies: their items are left out
            real = labels < GLYPH_LABEL
            return proxy_loss(self.config.loss, self.proxies, codes[real], labels[real], self.config.margin)
        if self.config.loss == "supcon":
            return supcon_loss(codes, labels, self.config.temperature)
        if self.config.loss == "multisim":
            return multi_similarity_loss(codes, labels)
        if self.config.loss == "contrastive":
            return batch_contrastive_loss(codes, labels, self.config.margin)
        return triplet_loss(codes, labels, self.config.margin, self.config.mining)

    def loss(self, batch):
        x, y = batch["x"], batch["y"]
        views = max(1, int(self.config.views))
        if views > 1:
            x, y = x.repeat(views, 1, 1, 1), y.repeat(views)
        if self.training and self.config.augment > 0:
            x = augment_images(x, self.augmentation())
        codes = self.embed(x)
        if self.config.label_weight > 0:
            loss, extra = self.batch_loss(codes, y)
            loss = self.config.label_weight * loss
        else:
            loss, extra = codes.sum() * 0.0, {}
        if self.config.instance_weight > 0 and views > 1:
            ids = torch.arange(len(batch["x"]), device=x.device).repeat(views)
            inst, _ = supcon_loss(F.normalize(codes, dim=1), ids, self.config.temperature)
            loss = loss + self.config.instance_weight * inst
            extra = {**extra, "instance": float(inst.detach())}
        if self.decoder is not None:
            redrawn = torch.sigmoid(self.decoder(codes)).view_as(x)
            recon = F.mse_loss(redrawn, x)
            loss = loss + self.config.recon_weight * recon
            extra = {**extra, "recon": float(recon.detach())}
        return loss, extra

    def augmentation(self) -> Augment:
        s = float(self.config.augment)
        base = Augment()
        return Augment(
            base.shift * s,
            base.rotate * s,
            base.scale * s,
            base.brightness * s,
            base.contrast * s,
            float(self.config.elastic) * s,
            float(self.config.shear) * s,
            float(self.config.thickness) * s,
        )

    @torch.no_grad()
    def validate(self, data):
        auc, _, _ = self.pair_auc(data)
        rng = np.random.default_rng(54321)  # the same validation batches every epoch
        gen = torch.get_rng_state()  # distance-weighted mining draws: keep training's stream as it was
        losses = []
        for k, idx in enumerate(class_balanced_batches(data.labels, 256, rng, self.config.per_class)):
            if k >= 8:
                break
            x = torch.from_numpy(data.float_images(idx)).to(self.device)
            y = torch.as_tensor(data.labels[idx], device=self.device)
            codes = self.embed(x)
            if self.proxies is not None:  # classes held out for validation have no proxies
                losses.append(float(supcon_loss(codes, y, 0.1)[0]))
            else:
                losses.append(float(self.batch_loss(codes, y)[0]))
        torch.set_rng_state(gen)
        return {"val_loss": float(np.mean(losses)) if losses else float("nan"), "auc": auc}
