"""The retrieval view's worker jobs: encoding a dropped query image, and the leave-one-out figures."""

from __future__ import annotations

import numpy as np

from explorer.core.errors import ExplorerError
from explorer.core.progress import Progress
from explorer.retrieval import leave_one_out

FULL_METRICS_MAX = 20_000  # above this many items, metrics use a seeded sample of queries
SAMPLED_QUERIES = 5_000


def encode_query_job(encoders: dict, image: np.ndarray):
    """Encode one external query image with each encoder; returns {name: (D,) code}."""
    out = {}
    for i, (name, enc) in enumerate(encoders.items()):
        out[name] = np.asarray(enc.encode(image[None]), dtype=np.float32).reshape(-1)
        yield Progress(step=i + 1, total=len(encoders), message=f"encoding the query with {name}")
    return out


def metrics_job(codes: np.ndarray, labels: np.ndarray, metric: str):
    """Leave-one-out figures; above FULL_METRICS_MAX items on a seeded sample of queries."""
    n = len(codes)
    kwargs = {}
    if n > FULL_METRICS_MAX:
        rng = np.random.default_rng(0)
        kwargs = {"full_map": False, "queries": np.sort(rng.choice(n, SAMPLED_QUERIES, replace=False))}
    try:
        return (yield from leave_one_out(codes, labels, metric=metric, **kwargs))
    except ValueError as err:  # e.g. no class with two items: say so in the panel
        raise ExplorerError(f"{str(err)[0].upper()}{str(err)[1:]}.") from None
