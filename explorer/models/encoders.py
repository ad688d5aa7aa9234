"""Encoders: the pseudo-encoders ``pixels`` and ``pca``, and the constructors of
:class:`explorer.models.torch_encoder.TorchEncoder` for our checkpoints and models in memory. Each
is an :class:`explorer.core.encoder.Encoder`: float32 (N, C, H, W) in [0, 1] -> float32 (N, D).

:func:`load_encoder` turns what the user typed (``pixels``, ``pca``, ``pca:16`` or a file path)
into one of these.
"""

from __future__ import annotations

import os

import numpy as np

from explorer.core.errors import ExplorerError, ModelFileError
from explorer.core.imageset import ImageSet
from explorer.models.torch_encoder import TorchEncoder, check_shape

CHECKPOINT_EXTS = (".safetensors",)
TORCH_EXTS = (".pt", ".pth", ".ts", ".jit", ".ckpt", ".bin")
EXPORT_EXTS = (".pt2",)
ONNX_EXTS = (".onnx",)


class PixelEncoder:
    """Raw pixels: each image flattened to C*H*W values (the baseline every view compares with)."""

    name = "pixels"
    input_shape = None

    def encode(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, dtype=np.float32)
        return images.reshape(len(images), -1)


class PCAEncoder:
    """Principal components of the pixels, fitted on the data it is given (sklearn PCA).

    File-backed sets are fitted on an even sample of at most FIT_SAMPLE items at the working
    resolution (the components of 100,000 photos hardly differ from those of 20,000)."""

    FIT_SAMPLE = 20_000

    def __init__(self, data: ImageSet, n_components: int = 32, seed: int = 0) -> None:
        if data is None or not data.has_images:
            raise ExplorerError("The 'pca' encoder is fitted on a data set of images; open one first.")
        n = max(1, min(int(n_components), data.count, int(np.prod(data.shape))))
        self.name = "pca" if n == 32 else f"pca:{n}"
        self.input_shape = data.shape
        self.code_dim = n
        fitted = _cached_pca(data, n, seed) if data.file_backed else None
        if fitted is None:
            fitted = self._fit(data, n, seed)
            if data.file_backed:
                _save_pca(data, n, seed, *fitted)
        self.mean, self.components = fitted

    def _fit(self, data: ImageSet, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.decomposition import PCA

        if data.file_backed and data.count > self.FIT_SAMPLE:
            pick = np.unique(np.linspace(0, data.count - 1, self.FIT_SAMPLE).astype(np.int64))
            x = data.float_images(pick).reshape(len(pick), -1)
        else:
            x = data.float_images().reshape(data.count, -1)
        pca = PCA(n_components=min(n, x.shape[0], x.shape[1]), random_state=seed).fit(x)
        return pca.mean_.astype(np.float32), pca.components_.astype(np.float32)

    def encode(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, dtype=np.float32)
        check_shape(self.name, self.input_shape, images)
        return ((images.reshape(len(images), -1) - self.mean) @ self.components.T).astype(np.float32)


def _pca_file(data: ImageSet, n: int, seed: int) -> str:
    """Where the components fitted on a file-backed set are kept (keyed by its fingerprint)."""
    import hashlib

    from explorer.core.paths import cache_dir

    key = hashlib.blake2b(
        f"{data.fingerprint()}|{data.shape}|{n}|{seed}".encode(), digest_size=16
    ).hexdigest()
    return os.path.join(cache_dir("pca"), key + ".npz")


def _cached_pca(data: ImageSet, n: int, seed: int):
    try:
        with np.load(_pca_file(data, n, seed), allow_pickle=False) as f:
            mean, comps = f["mean"], f["components"]
    except (OSError, ValueError, KeyError):
        return None
    d = int(np.prod(data.shape))
    if mean.shape != (d,) or comps.ndim != 2 or comps.shape[1] != d or mean.dtype != np.float32:
        return None
    return mean, comps.astype(np.float32, copy=False)


def _save_pca(data: ImageSet, n: int, seed: int, mean: np.ndarray, comps: np.ndarray) -> None:
    from explorer.core.atomic import atomic_write

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, mean=mean, components=comps)

    try:
        atomic_write(_pca_file(data, n, seed), write)
    except ExplorerError:  # a cache that cannot be written: fitted again next time
        pass


class LSAEncoder:
    """Latent semantic analysis of word counts: tf-idf then TruncatedSVD (scikit-learn), fitted on
    the document set it is given; codes are L2-normalised (cosine geometry, as LSA is used).

    Input: word counts (N, 1, 1, V) of :mod:`explorer.data.documents` -> (N, n_components)."""

    def __init__(self, data: ImageSet, n_components: int = 32, seed: int = 0) -> None:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfTransformer

        if data is None or not data.has_images or not data.format.startswith("documents"):
            raise ExplorerError("The 'lsa' encoder is fitted on documents; open a folder of .txt files.")
        from explorer.data.documents import word_counts

        counts = word_counts(data.float_images())
        self.tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
        n = max(1, min(int(n_components), counts.shape[0] - 1, counts.shape[1] - 1))
        self.svd = TruncatedSVD(n_components=n, random_state=seed).fit(self.tfidf.transform(counts))
        self.name = "lsa" if n == 32 else f"lsa:{n}"
        self.input_shape = data.shape
        self.code_dim = n

    def encode(self, images: np.ndarray) -> np.ndarray:
        from explorer.data.documents import word_counts

        counts = word_counts(images)
        z = self.svd.transform(self.tfidf.transform(counts)).astype(np.float32)
        return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)


def load_encoder(spec: str, data: ImageSet | None = None, device: str = "cpu", trust: bool | str = False):
    """An Encoder from what the user typed.

    spec:  ``pixels``; ``pca`` or ``pca:N`` (fitted on ``data``); or a file:
           ``.safetensors`` (our checkpoints), ``.pt``/``.pth``/``.ts`` (TorchScript, or a
           weights-only torch.save of one of our checkpoints), ``.pt2`` (torch.export), ``.onnx``.
    trust: the user trusts this file: True (``--trust-model``) or the SHA-256 the GUI's trust dialog
           asked about (see :func:`explorer.models.trust.check`). Program formats
           (TorchScript, .pt2, any pickled torch file) open only when trusted: now, before (its
           hash is remembered), or by ``EXPLORER_TRUST_MODELS=1``; see :mod:`explorer.models.trust`.
           ONNX and .safetensors never need it.
    A file that is missing, damaged, not what it claims, or would need unpickling of Python
    objects raises ModelFileError with a sentence saying why; an untrusted program format raises
    :class:`explorer.models.trust.UntrustedModelError` (a ModelFileError) before anything of it
    is read.
    """
    spec = os.fspath(spec).strip()
    low = spec.lower()
    if low == "pixels":
        return PixelEncoder()
    if low == "lsa" or low.startswith("lsa:"):
        try:
            n = int(low.split(":", 1)[1]) if ":" in low else 32
        except ValueError:
            raise ExplorerError(f"'{spec}': write lsa:N with a whole number N, e.g. lsa:16.") from None
        return LSAEncoder(data, n)
    if low == "pca" or low.startswith("pca:"):
        n = 32
        if ":" in low:
            try:
                n = int(low.split(":", 1)[1])
            except ValueError:
                raise ExplorerError(f"'{spec}': write pca:N with a whole number N, e.g. pca:16.") from None
        return PCAEncoder(data, n)
    if not os.path.exists(spec):
        raise ModelFileError(
            f"There is no model file at {spec}; give pixels, pca, or a .safetensors, .pt, .pt2 or .onnx file."
        )
    if os.path.isdir(spec):
        raise ModelFileError(f"{spec} is a folder; give a model file (.safetensors, .pt, .pt2, .onnx).")
    if not os.path.isfile(spec):  # a FIFO or device would block or never end
        raise ModelFileError(f"{os.path.basename(spec)} is not a regular file, so explorer does not open it.")
    ext = os.path.splitext(low)[1]
    if ext in CHECKPOINT_EXTS:
        return checkpoint_encoder(spec, device)
    from explorer.models import external
    from explorer.models import trust as gate

    if ext in TORCH_EXTS or ext in EXPORT_EXTS:
        gate.check(spec, trust=trust)  # first line: the user's say-so; the archive scan is the second
    if ext in TORCH_EXTS + EXPORT_EXTS + ONNX_EXTS:
        from explorer.models import isolated

        if isolated.enabled():  # in a child process with a time and a memory limit
            if ext not in ONNX_EXTS:
                from explorer.models.safe_load import check_archive

                check_archive(spec)  # refused here, before a process starts
            kind = "onnx" if ext in ONNX_EXTS else "export" if ext in EXPORT_EXTS else "torch"
            return isolated.IsolatedEncoder(spec, kind, device)
    if ext in TORCH_EXTS:
        return external.load_torch_file(spec, device)
    if ext in EXPORT_EXTS:
        return external.load_exported(spec, device)
    if ext in ONNX_EXTS:
        return external.load_onnx(spec)
    raise ModelFileError(
        f"{os.path.basename(spec)}: unknown model format '{ext}'; use .safetensors, .pt/.pth "
        "(TorchScript), .pt2 (torch.export) or .onnx."
    )


def checkpoint_encoder(path: str, device: str = "cpu") -> TorchEncoder:
    """A TorchEncoder for one of our .safetensors checkpoints."""
    from explorer.models.checkpoint import load

    ck = load(path, device=device)
    return TorchEncoder(
        ck.model,
        name=ck.name,
        input_shape=ck.input_shape,
        normalisation=None,  # our models normalise inside encode() if they need to
        device=device,
        class_names=ck.class_names,
        summary=ck.summary,
        source=path,
        preprocess=ck.preprocess,
    )


def model_encoder(model, name: str | None = None, class_names=None, summary=None) -> TorchEncoder:
    """A TorchEncoder for a TrainableModel in memory (e.g. TrainResult.model), moved to the CPU."""
    model = model.cpu().eval()
    return TorchEncoder(
        model,
        name=name or model.key,
        input_shape=model.input_shape,
        class_names=class_names,
        summary=summary,
        preprocess=getattr(model, "preprocess", None),
    )
