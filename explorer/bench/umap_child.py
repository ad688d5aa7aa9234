"""One UMAP run in a fresh process, for the bench's "second start" row.

    python -m explorer.bench.umap_child ours|reference CODES.npy [SEED]

``reference`` is umap-learn's default (``umap.UMAP(random_state=SEED).fit_transform``);
``ours`` is the projection engine's UMAP job driven to its end. The parent times the whole
process (interpreter start and imports included); this prints one JSON line with the layout's
shape and the in-process seconds.
"""

from __future__ import annotations

import json
import sys
import time


def find_projection_job(method: str):
    """``job(codes, seed=...)`` -> the projection engine's generator for ``method`` ('tsne' or
    'umap'), or None while the engine does not offer it."""
    try:
        from explorer.projection import METHODS, project_job
    except ImportError:
        return None
    if method not in METHODS:
        return None
    return lambda codes, seed=0: project_job(codes, method, seed=seed)


def main(argv: list[str]) -> int:
    started = time.perf_counter()
    mode, path = argv[0], argv[1]
    seed = int(argv[2]) if len(argv) > 2 else 0
    import numpy as np

    codes = np.load(path)
    if mode == "reference":
        import umap

        layout = umap.UMAP(random_state=seed).fit_transform(codes)
    else:
        job = find_projection_job("umap")
        if job is None:
            print(json.dumps({"missing": "explorer.projection offers no umap method yet"}))
            return 3
        from explorer.core.progress import run_to_end

        layout = run_to_end(job(codes, seed=seed))
    layout = np.asarray(layout)
    print(
        json.dumps(
            {
                "shape": list(layout.shape),
                "seconds": time.perf_counter() - started,
                "finite": bool(np.isfinite(layout).all()),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
