"""One entry point for every method, and live frames aligned with the previous one."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from explorer.core.errors import ExplorerError
from explorer.core.progress import Progress, run_to_end
from explorer.projection.pca import align_to, pca_layout

METHODS = ("pca", "tsne", "umap")
LABELS = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}


def _check(codes: np.ndarray) -> np.ndarray:
    x = np.asarray(codes)
    if x.ndim != 2:
        raise ExplorerError(f"Codes must be a 2-D array (items x dimensions); got shape {x.shape}.")
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        raise ExplorerError(
            "The codes contain NaN or infinite values; re-encode the data with a working model."
        )
    return x


def _pca_job(codes: np.ndarray, seed: int = 0, **_) -> Iterator[Progress]:
    layout = pca_layout(codes, seed)
    yield Progress(step=1, total=1, message="PCA", payload=layout.copy())
    return layout


def project_job(codes: np.ndarray, method: str, seed: int = 0, **params) -> Iterator[Progress]:
    """(N, D) codes -> yields Progress(payload=(N, 2) float32 partial layout), returns the layout.

    method: "pca" | "tsne" | "umap". params: ``perplexity`` (t-SNE), ``n_neighbors`` and
    ``min_dist`` (UMAP); unknown or None params are ignored. Above ``LANDMARK_ABOVE`` points
    t-SNE and UMAP take the landmark path (:mod:`explorer.projection.landmark_layout`), which
    also takes ``labels`` (to stratify the landmarks), ``landmarks``, ``refine``,
    ``refine_steps`` and ``threshold``; at or below it the full fit runs as always.
    """
    x = _check(codes)
    params = {k: v for k, v in params.items() if v is not None}
    if method == "pca":
        return (yield from _pca_job(x, seed))
    big = {"labels", "landmarks", "refine", "refine_steps", "threshold", "search"}
    if method in ("tsne", "umap"):
        from explorer.projection.landmark_layout import LANDMARK_ABOVE, landmark_job

        if len(x) > params.get("threshold", LANDMARK_ABOVE):
            allowed = big | {"perplexity", "n_neighbors", "min_dist"}
            return (
                yield from landmark_job(
                    x, method, seed=seed, **{k: v for k, v in params.items() if k in allowed}
                )
            )
    if method == "tsne":
        from explorer.projection.tsne import tsne_job

        allowed = {"perplexity", "early_iter", "n_iter", "chunk", "initialization", "n_jobs"}
        return (yield from tsne_job(x, seed=seed, **{k: v for k, v in params.items() if k in allowed}))
    if method == "umap":
        from explorer.projection.umap_layout import umap_job

        allowed = {"n_neighbors", "min_dist", "n_epochs", "every", "preview"}
        return (yield from umap_job(x, seed=seed, **{k: v for k, v in params.items() if k in allowed}))
    raise ExplorerError(f"Unknown projection method {method!r}; use one of {', '.join(METHODS)}.")


def project(codes: np.ndarray, method: str, seed: int = 0, **params) -> np.ndarray:
    """The final layout of :func:`project_job`, without progress."""
    return run_to_end(project_job(codes, method, seed=seed, **params))


def live_frame_job(
    codes: np.ndarray, method: str, previous: np.ndarray | None = None, seed: int = 0, **params
) -> Iterator[Progress]:
    """A new frame of a live (training) scatter that continues ``previous`` (N, 2).

    PCA is recomputed and Procrustes-aligned with the previous frame; t-SNE runs a short
    optimisation warm-started from the previous layout (after a full run for the first frame);
    UMAP is recomputed from scratch and aligned. Points keep their places where the codes did
    not change, so the picture glides instead of jumping.
    """
    x = _check(codes)
    have_prev = previous is not None and np.shape(previous) == (len(x), 2) and np.isfinite(previous).all()
    if method == "tsne" and have_prev:
        from explorer.projection.tsne import tsne_warm_job

        perplexity = params.get("perplexity") or 30.0
        return (yield from tsne_warm_job(x, np.asarray(previous), seed=seed, perplexity=perplexity))
    gen = project_job(x, method, seed=seed, **params)
    if not have_prev:
        return (yield from gen)
    while True:  # align every partial layout as it passes through
        try:
            rec = next(gen)
        except StopIteration as stop:
            return align_to(stop.value, previous)
        if rec.payload is not None:
            rec = Progress(
                rec.step, rec.total, rec.message, rec.loss, rec.metrics, align_to(rec.payload, previous)
            )
        yield rec
