"""t-SNE (openTSNE) as a step generator: the layout forms in short optimisation steps.

The settings are openTSNE's defaults (PCA initialisation, 250 iterations of early exaggeration
12 at momentum 0.8, then 500 iterations, learning rate N / exaggeration, FFT or Barnes-Hut
gradients chosen automatically) on the free cores. The optimisation is openTSNE's own two
``optimize`` calls, exactly as ``TSNE.fit`` makes them, run in a helper thread; a callback every
``chunk`` iterations hands out a copy of the layout. (Calling ``optimize`` once per chunk instead
costs an extra gradient evaluation per call, 4% at 25 iterations a chunk.) So the layout is the
one openTSNE's default gives, and streaming costs one (N, 2) copy per chunk.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

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


def tsne_job(codes: np.ndarray, seed: int = 0, **params) -> Iterator[Progress]:
    """(N, D) codes -> yields Progress(payload=(N, 2) float32 layout), returns the final layout.

    ``params``: those of :func:`tsne_embedding_job`.
    """
    embedding = yield from tsne_embedding_job(codes, seed=seed, **params)
    return np.array(embedding, dtype=np.float32)


def tsne_embedding_job(
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
    """(N, D) codes -> yields Progress(payload=(N, 2) float32 layout), returns openTSNE's
    ``TSNEEmbedding`` (an (N, 2) float64 array that can place new points), or a zero layout
    for fewer than 4 points.

    ``initialization`` (N, 2) warm-starts from a previous layout (a live frame): the early
    exaggeration phase is skipped when ``early_iter`` is 0.
    """
    from openTSNE import TSNE
    from openTSNE.tsne import OptimizationInterrupt

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
    frames: queue.Queue = queue.Queue(maxsize=8)
    stop = threading.Event()
    done = threading.Event()
    outcome: dict = {}
    where = {"offset": 0, "message": phases[0][0]}

    def on_chunk(iteration: int, error: float, current: np.ndarray) -> bool:
        if stop.is_set():
            return True  # ends the optimisation (openTSNE raises OptimizationInterrupt)
        try:
            frames.put_nowait((where["offset"] + iteration, where["message"], np.array(current, np.float32)))
        except queue.Full:  # the consumer is slow: skip a frame rather than wait
            pass
        return False

    def optimise() -> None:  # helper thread: openTSNE's own two calls, as in TSNE.fit
        try:
            for message, iters, exaggeration, momentum in phases:
                where["message"] = message
                if iters > 0:
                    embedding.optimize(
                        n_iter=iters,
                        exaggeration=exaggeration,
                        momentum=momentum,
                        inplace=True,
                        propagate_exception=True,
                        callbacks=[on_chunk],
                        callbacks_every_iters=chunk,
                    )
                where["offset"] += iters
        except OptimizationInterrupt:
            pass
        except BaseException as err:  # handed to the generator below
            outcome["error"] = err
        finally:
            done.set()

    thread = threading.Thread(target=optimise, name="tsne-optimise", daemon=True)
    thread.start()
    step, message = 0, phases[0][0]
    try:
        while not (done.is_set() and frames.empty()):
            try:
                step, message, layout = frames.get(timeout=0.1)
            except queue.Empty:
                yield Progress(step=step, total=total, message=message)  # a point to cancel at
                continue
            yield Progress(step=step, total=total, message=message, payload=layout)
    finally:
        stop.set()  # a closed job ends the optimisation at its next chunk
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    yield Progress(step=total, total=total, message="t-SNE: done", payload=np.array(embedding, np.float32))
    return embedding


def tsne_warm_job(
    codes: np.ndarray,
    previous: np.ndarray,
    seed: int = 0,
    perplexity: float = 30.0,
    n_iter: int = 100,
    chunk: int = 25,
) -> Iterator[Progress]:
    """A short t-SNE run on new codes starting from ``previous`` (N, 2): for live frames, so the
    picture keeps its arrangement and points glide to their new places."""
    return (
        yield from tsne_job(
            codes,
            seed=seed,
            perplexity=perplexity,
            early_iter=0,
            n_iter=n_iter,
            chunk=chunk,
            initialization=previous,
        )
    )
