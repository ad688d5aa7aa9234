"""UMAP (umap-learn) as a step generator, with its numba compile paid once per machine.

umap-learn has no per-epoch callback, so the layout is watched from inside: the fit runs in a
helper thread, and a thin wrapper around umap's single-epoch function (installed once, active
only in threads that ask for it) hands out a copy of the layout every few epochs and stops the
fit when the job is closed. The first frame is the spectral initialisation, the last the
result of umap's own pipeline (``fuzzy_simplicial_set`` + ``simplicial_set_embedding``, as
``UMAP(random_state=seed).fit_transform`` runs it), with an exact neighbour search up to
20,000 points.

Compile cost: most of umap-learn's numba functions are compiled without ``cache=True``, so
every fresh process spent about a minute compiling them (72 s and 95 s measured on 2 busy
cores). :func:`prepare_numba` turns numba's on-disk cache on for them (in the package's
``__pycache__`` or, when that is read-only, a per-user cache dir) and
:func:`warm_up` runs UMAP once on a tiny random set, so the GUI can pay the compile in the
background at start and later fits, in this and every later process, start at once.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import warnings
from collections.abc import Iterator

import numpy as np

from explorer.core.progress import Progress

_watch = threading.local()  # .observer(epoch, layout) in a thread whose UMAP fit is watched
_prepared = False
_lock = threading.Lock()


class _Stopped(Exception):
    """Raised inside the UMAP thread to end a fit whose job was closed."""


def user_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "relate-explorer", "numba")


def ensure_numba_cache_dir() -> str | None:
    """Point NUMBA_CACHE_DIR at a writable per-user dir when umap's package dir is read-only.

    Returns the cache dir set (or already set), or None when numba's default (the package's
    ``__pycache__``) is writable. Call before numba compiles anything.
    """
    import importlib.util

    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    spec = importlib.util.find_spec("umap")
    folder = os.path.dirname(spec.origin) if spec and spec.origin else None
    pycache = os.path.join(folder, "__pycache__") if folder else None
    if pycache and (
        os.access(pycache, os.W_OK) or (not os.path.exists(pycache) and os.access(folder, os.W_OK))
    ):
        return None
    path = user_cache_dir()
    os.makedirs(path, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = path
    if "numba" in sys.modules:
        import numba

        numba.config.CACHE_DIR = path
    return path


def _enable_caching() -> int:
    """Turn numba's disk cache on for umap/pynndescent functions compiled without it.

    Two dispatchers made from one Python function with different options (umap's serial and
    parallel epoch) would share one cache entry, so only the serial one is cached.
    """
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    dispatchers: dict[int, list] = {}
    for name, module in list(sys.modules.items()):
        if module is None or not (name.startswith("umap.") or name.startswith("pynndescent.")):
            continue
        for obj in list(vars(module).values()):
            if isinstance(obj, Dispatcher):
                dispatchers.setdefault(id(obj.py_func), []).append(obj)
    enabled = 0
    for group in dispatchers.values():
        unique = {id(d): d for d in group}.values()
        serial = [d for d in unique if not d.targetoptions.get("parallel")]
        if len(unique) > 1:
            unique = serial[:1]
        for d in unique:
            if isinstance(d._cache, NullCache):
                try:
                    d.enable_caching()
                    enabled += 1
                except Exception:  # e.g. a function numba cannot locate on disk: stays uncached
                    pass
    return enabled


def _install_epoch_watch() -> None:
    from umap import layouts

    if getattr(layouts, "_explorer_watch", False):
        return
    original = layouts._get_optimize_layout_euclidean_single_epoch_fn

    def get_epoch_fn(parallel: bool = False):
        fn = original(parallel)
        observer = getattr(_watch, "observer", None)
        if observer is None:
            return fn

        def watched_epoch(head_embedding, *args):
            observer(int(args[15]), head_embedding)  # args[15] is the epoch number n
            return fn(head_embedding, *args)

        return watched_epoch

    layouts._get_optimize_layout_euclidean_single_epoch_fn = get_epoch_fn
    layouts._explorer_watch = True


def prepare_numba() -> None:
    """Cache dir, disk caching and the epoch watch; idempotent and thread-safe."""
    global _prepared
    with _lock:
        if _prepared:
            return
        ensure_numba_cache_dir()
        with warnings.catch_warnings():  # "Tensorflow not installed; ParametricUMAP ..."
            warnings.filterwarnings("ignore", category=ImportWarning)
            import umap  # noqa: F401

        _enable_caching()
        _install_epoch_watch()
        _prepared = True


EXACT_KNN_MAX = 20000


def _neighbours(x: np.ndarray, k: int, random_state) -> tuple[np.ndarray, np.ndarray]:
    """Each point's k nearest points (itself first) as (indices int64, distances float32).

    Up to EXACT_KNN_MAX points the search is exact (scikit-learn): as fast as umap's
    approximate search at that size, and unlike pynndescent's ``nn_descent`` (numba code that
    cannot be cached: it uses ctypes pointers) it costs no compile in a fresh process.
    """
    if len(x) <= EXACT_KNN_MAX:
        from sklearn.neighbors import NearestNeighbors

        dist, idx = NearestNeighbors(n_neighbors=k).fit(x).kneighbors(x)
        return idx.astype(np.int64), dist.astype(np.float32)
    from umap.umap_ import nearest_neighbors

    idx, dist, _ = nearest_neighbors(x, k, "euclidean", {}, False, random_state, n_jobs=1)
    return idx, dist


def _fit(x: np.ndarray, seed: int, n_neighbors: int, min_dist: float, n_epochs: int | None) -> np.ndarray:
    """What ``UMAP(n_neighbors, min_dist, n_epochs, random_state=seed).fit_transform(x)`` does
    for Euclidean codes, step by step through umap's functions, with our neighbour search."""
    import umap.distances as dist
    from sklearn.utils import check_random_state
    from umap.umap_ import (
        find_ab_params,
        fuzzy_simplicial_set,
        simplicial_set_embedding,
    )

    random_state = check_random_state(seed)
    k = max(2, min(n_neighbors, len(x) - 1))
    knn_indices, knn_dists = _neighbours(x, k, random_state)
    graph, _, _ = fuzzy_simplicial_set(
        x, k, random_state, "euclidean", knn_indices=knn_indices, knn_dists=knn_dists
    )
    a, b = find_ab_params(1.0, min_dist)
    layout, _ = simplicial_set_embedding(
        x,
        graph,
        2,
        1.0,
        a,
        b,
        1.0,
        5,
        n_epochs,
        "spectral",
        random_state,
        dist.named_distances["euclidean"],
        {},
        False,
        {},
        False,
        dist.named_distances_with_gradients["euclidean"],
        {},
        True,
        False,
        False,
        tqdm_kwds={"disable": True},
    )
    return layout


def default_epochs(n: int) -> int:
    return 500 if n <= 10000 else 200


def warm_up(n: int = 300, seed: int = 0) -> float:
    """Run UMAP once on a tiny random set so its numba functions are compiled (and cached on
    disk); returns the seconds it took. Safe to call from a background thread at start-up."""
    import time

    start = time.perf_counter()
    pts = np.random.default_rng(seed).normal(size=(n, 8)).astype(np.float32)
    for _ in umap_job(pts, seed=seed, n_epochs=11, preview=False):
        pass
    return time.perf_counter() - start


def umap_job(
    codes: np.ndarray,
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    n_epochs: int | None = None,
    every: int = 10,
    preview: bool = True,
) -> Iterator[Progress]:
    """(N, D) codes -> yields Progress (payload (N, 2) float32 when a layout is ready), returns
    the final layout. First a PCA preview (instant), then the spectral start, then every
    ``every`` epochs."""
    prepare_numba()

    x = np.ascontiguousarray(codes, dtype=np.float32)
    n = len(x)
    if n < 4:
        layout = np.zeros((n, 2), dtype=np.float32)
        yield Progress(step=1, total=1, message="UMAP: too few points", payload=layout.copy())
        return layout
    total = n_epochs or default_epochs(n)
    if preview:
        from explorer.projection.pca import pca_layout

        yield Progress(step=0, total=total, message="UMAP: PCA preview", payload=pca_layout(x, seed))

    frames: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()
    outcome: dict = {}

    def observe(epoch: int, layout: np.ndarray) -> None:
        if stop.is_set():
            raise _Stopped
        if epoch % every == 0:
            try:
                frames.put_nowait((epoch, layout.copy()))
            except queue.Full:  # the consumer is slow: skip a frame rather than wait
                pass

    def fit() -> None:
        _watch.observer = observe
        try:
            outcome["layout"] = _fit(x, seed, n_neighbors, min_dist, n_epochs)
        except _Stopped:
            pass
        except BaseException as err:  # handed to the generator's thread below
            outcome["error"] = err
        finally:
            _watch.observer = None
            done.set()

    done = threading.Event()
    thread = threading.Thread(target=fit, name="umap-fit", daemon=True)
    thread.start()
    step, message = 0, "UMAP: neighbours and graph"
    try:
        while not (done.is_set() and frames.empty()):
            try:
                epoch, layout = frames.get(timeout=0.1)
            except queue.Empty:
                yield Progress(step=step, total=total, message=message)  # a point to cancel at
                continue
            step, message = epoch, "UMAP: optimising"
            yield Progress(
                step=epoch, total=total, message="UMAP: optimising", payload=layout.astype(np.float32)
            )
    finally:
        stop.set()  # a closed job ends the fit at its next epoch
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    layout = np.asarray(outcome["layout"], dtype=np.float32)
    yield Progress(step=total, total=total, message="UMAP: done", payload=layout.copy())
    return layout
