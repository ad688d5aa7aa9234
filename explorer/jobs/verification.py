"""Whole-set verification for the panel: who scores pairs, and the job that runs in the worker."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from explorer.core.errors import ExplorerError
from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress
from explorer.core.view_state import VERIFICATION_SCORES
from explorer.verification import evaluate_codes, evaluate_scorer, is_pair_scorer
from explorer.verification import norm as norms

GUI_SCORER_PAIRS = 50_000  # a pair classifier runs a network per pair: the panel samples this many
HIST_BINS = 60
# the panel's score choices (core/view_state.VerificationState.score): raw, or AS-norm against the
# open data set itself (transductive) or against its unlabelled items (not in any measured pair)
SCORES = VERIFICATION_SCORES
UNLABELLED = "the open data set's unlabelled items (in no measured pair)"


def unlabelled_cohort(labels) -> np.ndarray | None:
    """Indices of the unlabelled items that can be a cohort (at least two), or None."""
    if labels is None:
        return None
    idx = np.flatnonzero(np.asarray(labels) < 0)
    return idx if len(idx) >= 2 and len(idx) < len(labels) else None


def cohort_of(score: str, codes: np.ndarray, labels) -> np.ndarray | None:
    """The cohort codes of a score choice: None for the open data set itself (``gallery``)."""
    if score == "unlabelled":
        idx = unlabelled_cohort(labels)
        if idx is None:
            raise ValueError("AS-norm against unlabelled items needs at least two of them")
        return np.asarray(codes)[idx]
    return None


def norm_options(score: str, codes: np.ndarray, labels, top_k: int) -> dict:
    """evaluate_codes' keyword arguments for a score choice of the panel."""
    if score == "raw":
        return {}
    about = UNLABELLED if score == "unlabelled" else ""
    cohort = cohort_of(score, codes, labels)
    return {"norm": "as-norm", "cohort": cohort, "top_k": top_k, "cohort_about": about}


def score_unit(score: str, metric: str) -> str:
    """The unit of a shown score: what the number is."""
    if metric == "pair":
        return "logit"
    if score != "raw":
        return "AS-norm z"
    return f"−{'cosine' if metric == 'cosine' else 'L2'} distance"


def normalised_pair(raw: float, sides, codes, labels, result, score: str, metric: str) -> float:
    """AS-norm of one pair's ``raw`` score as the evaluation ``result`` normalised its pairs.
    ``sides``: (index in the data set or None, code (D,)) of A and B; an item of the data set has
    its statistics in ``result.stats``, an image from outside is scored against the same cohort."""
    stats = result.stats
    cohort = cohort_of(score, codes, labels)
    cohort = np.asarray(codes) if cohort is None else cohort
    own = [
        (float(stats.mean[i]), float(stats.std[i]))
        if i is not None
        else norms.item_stats(code, cohort, stats, metric)
        for i, code in sides
    ]
    return norms.pair_norm(raw, own[0], own[1])


class _ModuleScorer:
    """A pair classifier inside a TorchEncoder (how load_encoder wraps a pairnet file)."""

    def __init__(self, enc) -> None:
        self.module = enc.module
        self.name = getattr(enc, "name", "pair model")
        self.input_shape = getattr(enc, "input_shape", None)

    def score_pairs(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.asarray(self.module.score_pairs(a, b), dtype=np.float64)


def pair_scorer_of(enc):
    """The pair scorer behind ``enc`` (itself, or the pair classifier it wraps), or None."""
    if is_pair_scorer(enc):
        return enc
    module = getattr(enc, "module", None)
    if module is not None and callable(getattr(module, "score_pairs", None)):
        return _ModuleScorer(enc)
    return None


@dataclass(frozen=True)
class Evaluation:
    """A model's verification result plus what the plots need, made in the worker."""

    result: object  # VerificationResult
    genuine_sorted: np.ndarray  # sorted genuine scores (FAR/TAR at any threshold by searchsorted)
    impostor_sorted: np.ndarray
    bins: np.ndarray  # histogram edges
    genuine_hist: np.ndarray  # densities
    impostor_hist: np.ndarray

    def rates(self, threshold: float) -> tuple[float, float]:
        """(FAR, TAR) when pairs scoring >= threshold are accepted."""
        g, i = self.genuine_sorted, self.impostor_sorted
        tar = 1.0 - np.searchsorted(g, threshold, side="left") / len(g)
        far = 1.0 - np.searchsorted(i, threshold, side="left") / len(i)
        return float(far), float(tar)


def evaluation_job(jobs: list[tuple], data: ImageSet, scorer_max_pairs: int = GUI_SCORER_PAIRS):
    """Evaluate each (key, kind, model-or-codes, metric[, evaluate_codes' norm options]); returns
    {key: Evaluation, or the sentence saying why that model could not be evaluated}."""
    out = {}
    for n, (key, kind, what, metric, *norm) in enumerate(jobs):
        if kind == "scorer":
            gen = evaluate_scorer(what, data, seed=0, max_pairs=scorer_max_pairs)
        else:
            gen = evaluate_codes(what, data.labels, metric, seed=0, **(norm[0] if norm else {}))
        while True:
            try:
                rec = next(gen)
            except StopIteration as stop:
                res = stop.value
                break
            except ValueError as err:  # one class only, no genuine pairs, scores not finite, ...
                res = f"Cannot measure verification of {key[1]} on this data set: {err}."
                break
            except ExplorerError as err:  # a model that cannot take these images
                res = str(err)
                break
            frac = (n + rec.fraction) / len(jobs)
            yield Progress(step=int(frac * 1000), total=1000, message=f"{key[1]}: {rec.message}")
        if isinstance(res, str):
            out[key] = res
            continue
        s, same = res.scores, res.pairs.same
        lo, hi = float(s.min()), float(s.max())
        if not hi > lo:
            lo, hi = lo - 0.5, hi + 0.5
        bins = np.linspace(lo, hi, HIST_BINS + 1)
        gh, _ = np.histogram(s[same], bins, density=True)
        ih, _ = np.histogram(s[~same], bins, density=True)
        out[key] = Evaluation(res, np.sort(s[same]), np.sort(s[~same]), bins, gh, ih)
    return out


def find_item(data: ImageSet | None, path: str | None, image: np.ndarray, pixel_codes=None) -> int | None:
    """The item of ``data`` a dropped file is, or None: by its path (a file of a folder data set),
    else by its pixels (``image``: float32 (C, H, W) in [0, 1], already brought to the data set's
    shape) equal to an item's, looked up in the pixel codes when given (N, C*H*W), else in the
    images of an in-memory set. Equal means within half a grey level: the same file read twice."""
    if data is None or not data.has_images:
        return None
    if path and data.paths is not None:
        real = os.path.realpath(path)
        for i, p in enumerate(data.paths):
            if p == path or (os.path.isabs(p) and os.path.realpath(p) == real):
                return i
    flat = np.asarray(image, np.float32).reshape(-1)
    if pixel_codes is not None and np.shape(pixel_codes)[1:] == flat.shape:
        d = np.abs(np.asarray(pixel_codes, np.float32) - flat).max(1)
    elif not data.file_backed and int(np.prod(data.shape)) == flat.size:
        imgs = np.asarray(data.images).reshape(data.count, -1)
        target = np.round(flat * 255) if imgs.dtype == np.uint8 else flat
        d = np.abs(imgs.astype(np.float32) - target).max(1) / (255.0 if imgs.dtype == np.uint8 else 1.0)
    else:
        return None
    best = int(np.argmin(d)) if len(d) else -1
    return best if best >= 0 and d[best] <= 0.5 / 255 else None
