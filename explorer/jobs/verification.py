"""Whole-set verification for the panel: who scores pairs, and the job that runs in the worker."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.core.errors import ExplorerError
from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress
from explorer.verification import evaluate_codes, evaluate_scorer, is_pair_scorer

GUI_SCORER_PAIRS = 50_000  # a pair classifier runs a network per pair: the panel samples this many
HIST_BINS = 60


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
    """Evaluate each (key, kind, model-or-codes, metric); returns {key: Evaluation, or the
    sentence saying why that model could not be evaluated}."""
    out = {}
    for n, (key, kind, what, metric) in enumerate(jobs):
        if kind == "scorer":
            gen = evaluate_scorer(what, data, seed=0, max_pairs=scorer_max_pairs)
        else:
            gen = evaluate_codes(what, data.labels, metric, seed=0)
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
