"""t-SNE (openTSNE) as a step generator: the layout forms in short optimisation steps.

The settings are openTSNE's defaults (PCA initialisation, 250 iterations of early exaggeration
12 at momentum 0.8, then 500 iterations, learning rate N / exaggeration, FFT or Barnes-Hut
gradients chosen automatically), run in chunks of ``chunk`` iterations on all cores. openTSNE
keeps the optimiser's gains and momentum on the embedding between ``optimize`` calls, so the
chunked run is the same optimisation as one call, and each yield costs one (N, 2) copy.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Iterator

import numpy as np

from explorer.core.progress import Progress

EARLY_ITER = 250
MAIN_ITER = 500


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def free_cores() -> int:
    """Cores not already busy (1-minute load average), at least 1.

    openTSNE's worker threads meet at a barrier every iteration; on a machine whose cores are
    taken by other work, a second thread mostly waits and doubles the CPU time (measured: 37 s
    vs 19 s of CPU for 5,000 points at load 11 on 2 cores), so threads go only to idle cores.
    """
    cores = _cores()
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):
        return cores
    return int(max(1, min(cores, round(cores - busy + 1))))


def effective_perplexity(n: int, perplexity: float) -> float:
    """openTSNE needs 3 * perplexity < N; small sets get the largest perplexity that fits."""
    return float(max(1.0, min(perplexity, (n - 1) / 3.0 - 1e-3)))


@contextmanager
def _quiet_opentsne():
    """openTSNE logs a warning when it is given a wide initial layout, which a warm start is."""
    logger = logging.getLogger("openTSNE")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def tsne_job(
    codes: np.ndarray,
    seed: int = 0,
    perplexity: float = 30.0,
    early_iter: int = EARLY_ITER,
    n_iter: int = MAIN_ITER,
    chunk: int = 25,
    initialization: np.ndarray | None = None,
    n_jobs: int | None = None,
    negative_gradient_method: str = "auto",
) -> Iterator[Progress]:
    """(N, D) codes -> yields Progress(payload=(N, 2) float32 layout), returns the final layout.

    ``initialization`` (N, 2) warm-starts from a previous layout (a live frame): the early
    exaggeration phase is skipped when ``early_iter`` is 0.
    """
    from openTSNE import TSNE

    x = np.ascontiguousarray(codes, dtype=np.float32)
    n = len(x)
    if n < 4:
        layout = np.zeros((n, 2), dtype=np.float32)
        yield Progress(step=1, total=1, message="t-SNE: too few points", payload=layout.copy())
        return layout
    total = early_iter + n_iter
    yield Progress(step=0, total=total, message="t-SNE: nearest neighbours")
    tsne = TSNE(
        perplexity=effective_perplexity(n, perplexity),
        n_jobs=n_jobs or free_cores(),
        random_state=seed,
        negative_gradient_method=negative_gradient_method,
        initialization="pca" if initialization is None else np.asarray(initialization, np.float64),
    )
    with _quiet_opentsne():
        embedding = tsne.prepare_initial(x)
    yield Progress(step=0, total=total, message="t-SNE: start", payload=np.array(embedding, np.float32))
    phases = [
        ("t-SNE: early exaggeration", early_iter, tsne.early_exaggeration, tsne.initial_momentum),
        ("t-SNE: optimising", n_iter, tsne.exaggeration, tsne.final_momentum),
    ]
    step = 0
    for message, iters, exaggeration, momentum in phases:
        done = 0
        while done < iters:
            k = min(chunk, iters - done)
            embedding.optimize(
                n_iter=k, exaggeration=exaggeration, momentum=momentum, inplace=True,
                propagate_exception=True,
            )
            done += k
            step += k
            yield Progress(step=step, total=total, message=message, payload=np.array(embedding, np.float32))
    return np.array(embedding, dtype=np.float32)


def tsne_warm_job(
    codes: np.ndarray, previous: np.ndarray, seed: int = 0, perplexity: float = 30.0, n_iter: int = 100,
    chunk: int = 25,
) -> Iterator[Progress]:
    """A short t-SNE run on new codes starting from ``previous`` (N, 2): for live frames, so the
    picture keeps its arrangement and points glide to their new places."""
    return (yield from tsne_job(
        codes, seed=seed, perplexity=perplexity, early_iter=0, n_iter=n_iter, chunk=chunk,
        initialization=previous,
    ))
