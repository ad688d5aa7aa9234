"""The trust gate for model files that are programs.

TorchScript archives, ``torch.export`` programs (.pt2) and every other torch file (.pt/.pth/.ckpt:
pickles) can run code on this computer while they are opened or used: TorchScript runs
``__setstate__`` on load, ``torch.export.load`` hands shape strings to sympy and may unpickle
constants, and a pickle is a program by definition. No scanner can prove such a file harmless, so
explorer opens one only when the user has said they trust that very file:

- on the command line with ``--trust-model`` (the decision is remembered), or for scripts with the
  environment variable ``EXPLORER_TRUST_MODELS=1`` (trusts every file for that process, remembers
  nothing);
- in the GUI through the trust dialog (``explorer.ui.dialogs.trust``), which remembers it too.

Decisions are remembered by the file's content (SHA-256), in ``trusted_models.json`` in
``explorer.core.paths.config_dir()``: a JSON list of {"sha256", "name", "kind", "trusted_at"},
written atomically. Renaming a trusted file keeps it trusted; changing one byte does not.

ONNX (a protobuf graph run by onnxruntime, which runs no Python) and our ``.safetensors``
checkpoints (tensors plus JSON metadata) open without asking.

This module imports neither Qt nor torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import zipfile
from dataclasses import dataclass

from explorer.core.errors import ModelFileError

ENV = "EXPLORER_TRUST_MODELS"
STORE = "trusted_models.json"
PROGRAM_EXTS = (".pt", ".pth", ".ts", ".jit", ".ckpt", ".bin", ".pt2")
SAFE_EXTS = (".onnx", ".safetensors")
_LOCK = threading.Lock()


class UntrustedModelError(ModelFileError):
    """A program-format model file the user has not trusted; nothing of it was loaded.

    ``path``, ``sha256`` and ``kind`` (e.g. "a TorchScript program") let the GUI ask the user and
    retry with ``trust=True``."""

    def __init__(self, message: str, path: str, sha256: str, kind: str) -> None:
        super().__init__(message)
        self.path, self.sha256, self.kind = path, sha256, kind


@dataclass(frozen=True)
class Decision:
    """What the gate decided for one file: its hash, what it is, and why it may open."""

    path: str
    sha256: str
    kind: str
    reason: str  # "remembered" | "given" (trust=True, now remembered) | "environment"


def is_program(path: str | os.PathLike) -> bool:
    """True for the file types explorer opens only after the user trusts them (by extension, the
    same rule :func:`explorer.models.load_encoder` dispatches on)."""
    return os.path.splitext(os.fspath(path).lower())[1] in PROGRAM_EXTS


def kind_of(path: str | os.PathLike) -> str:
    """'a TorchScript program', 'a torch.export program' or 'a pickled torch file' (read from the
    zip directory only; nothing is unpickled)."""
    path = os.fspath(path)
    if path.lower().endswith(".pt2"):
        return "a torch.export program"
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()[:10_000]
        if any("/code/" in n for n in names) or any(n.endswith("constants.pkl") for n in names):
            return "a TorchScript program"
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError):
        pass
    return "a pickled torch file"


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 of the file's bytes (hex)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while block := f.read(chunk):
                digest.update(block)
    except OSError as err:
        raise ModelFileError(
            f"{os.path.basename(os.fspath(path))} cannot be read ({err.strerror or err})."
        ) from None
    return digest.hexdigest()


def environment_trusts() -> bool:
    return os.environ.get(ENV, "").strip().lower() in ("1", "true", "yes", "on")


def store_path() -> str:
    from explorer.core.paths import config_dir

    return os.path.join(config_dir(), STORE)


def trusted_entries() -> list[dict]:
    """The remembered decisions (an unreadable or damaged store counts as empty: it trusts nothing)."""
    try:
        with open(store_path(), encoding="utf-8") as f:
            entries = json.load(f)
    except (OSError, ValueError, RecursionError):
        return []
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("sha256"), str)]


def is_trusted(sha256: str) -> bool:
    return any(e["sha256"] == sha256 for e in trusted_entries())


def remember(sha256: str, name: str = "", kind: str = "") -> None:
    """Add a file's hash to the trusted list (atomically; a second call changes nothing)."""
    from explorer.core.atomic import atomic_write_bytes

    with _LOCK:
        entries = trusted_entries()
        if any(e["sha256"] == sha256 for e in entries):
            return
        entries.append(
            {
                "sha256": sha256,
                "name": printable(name, 200),
                "kind": kind,
                "trusted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )
        atomic_write_bytes(store_path(), json.dumps(entries, indent=1).encode("utf-8"))


def forget(sha256: str) -> None:
    """Remove a file's hash from the trusted list."""
    from explorer.core.atomic import atomic_write_bytes

    with _LOCK:
        entries = [e for e in trusted_entries() if e["sha256"] != sha256]
        atomic_write_bytes(store_path(), json.dumps(entries, indent=1).encode("utf-8"))


def check(path: str | os.PathLike, trust: bool | str = False) -> Decision:
    """Decide whether the program-format file at ``path`` may be opened.

    trust: True when the caller has the user's say-so for this file (``--trust-model``); a SHA-256
           (hex) when the user trusted the file with that content (the GUI dialog shows the hash
           it asks about, so a file swapped after the question is not covered); either way the
           hash is then remembered. False: it opens only if its hash was trusted before or
           ``EXPLORER_TRUST_MODELS=1`` is set.
    Raises :class:`UntrustedModelError` (one sentence) otherwise; the file's content is not parsed.
    """
    path = os.fspath(path)
    sha = file_sha256(path)
    kind = kind_of(path)
    name = printable(os.path.basename(path))
    if trust is True or (isinstance(trust, str) and trust == sha):
        remember(sha, name, kind)
        return Decision(path, sha, kind, "given")
    if is_trusted(sha):
        return Decision(path, sha, kind, "remembered")
    if environment_trusts():
        return Decision(path, sha, kind, "environment")
    if isinstance(trust, str) and trust:
        raise UntrustedModelError(
            f"{name} changed after you trusted it, so explorer did not open it; open it again to "
            "decide about its new content.",
            path,
            sha,
            kind,
        )
    raise UntrustedModelError(
        f"{name} is {kind}, which can run code on this computer when it is opened, so "
        f"explorer did not open it; if you trust where it came from, pass --trust-model (or set "
        f"{ENV}=1), or convert it to ONNX or .safetensors, which open without asking.",
        path,
        sha,
        kind,
    )


def printable(text: object, limit: int = 120) -> str:
    """``text`` with control characters (C0, C1, DEL, bidi overrides) removed, cut to ``limit``
    characters: for names that come from files and end up on a terminal or in a dialog."""
    import unicodedata

    out = "".join(
        ch for ch in str(text) if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn") or ch == " "
    )
    return out if len(out) <= limit else out[: limit - 1] + "…"
