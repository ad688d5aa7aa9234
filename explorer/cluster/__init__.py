"""Optional: the same jobs on a Ray cluster (``--engine ray``). Imported only when asked for.

- :mod:`explorer.cluster.encode`: encode a data set with Ray Data (one actor per worker loads the
  model once; workers decode and preprocess), written as Parquet shards (explorer.data.shards);
- :mod:`explorer.cluster.place`: place the points of a landmark layout in parallel Ray tasks.

Ray is the ``cluster`` extra (``pip install 'relate-explorer[cluster]'``); without it,
:func:`require_ray` says so in one sentence.
"""

from __future__ import annotations

from explorer.core.errors import ExplorerError

INSTALL = "pip install 'relate-explorer[cluster]'"


def require_ray():
    """The ``ray`` module, or an ExplorerError saying what to install."""
    try:
        import ray
        import ray.data  # Ray Data is what the engine runs on
    except ImportError:
        raise ExplorerError(f"--engine ray needs Ray, which is not installed here: {INSTALL}.") from None
    return ray


def connect(address: str | None, num_cpus: int | None = None):
    """Join the cluster at ``address`` (``auto``, ``ray://host:port``, ``host:port``) or, with None,
    start Ray inside this process. Returns (ray, started_here): who started it shuts it down."""
    ray = require_ray()
    if ray.is_initialized():
        return ray, False
    kwargs = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:  # "local": a new Ray of our own, never one another program left running here
            ray.init(address="local", num_cpus=num_cpus, **kwargs)
    except ConnectionError as err:
        raise ExplorerError(
            f"Could not reach a Ray cluster at {address}: {err}. Start one with "
            "`ray start --head` (see the README) or leave out --address."
        ) from None
    except Exception as err:  # Ray raises RuntimeError/ValueError for bad addresses
        if address:
            first = str(err).splitlines()[0][:200]
            raise ExplorerError(f"Could not join the Ray cluster at {address} ({first}).") from None
        raise
    return ray, True
