"""What a folder scan decides from names alone: files to skip without decoding them, and a hint when
a folder holds data set files rather than images. Shared by the in-memory and file-backed readers."""

from __future__ import annotations

import os

SIDECARS = {
    ".txt",
    ".json",
    ".csv",
    ".tsv",
    ".md",
    ".rst",
    ".xml",
    ".yaml",
    ".yml",
    ".ini",
    ".cfg",
    ".py",
    ".html",
    ".htm",
    ".pdf",
    ".zip",
    ".gz",
    ".tar",
    ".npz",
    ".npy",
    ".pkl",
    ".pt",
    ".db",
    ".log",
    ".safetensors",
    ".onnx",
    ".mat",
    ".h5",
    ".doc",
    ".docx",
}


def _precheck(path: str) -> str | None:
    """A reason to skip ``path`` without decoding it, or None."""
    name = path[path.rfind(os.sep) + 1 :]  # basename/splitext, without their cost (100,000 files)
    if name.startswith("."):
        return "hidden file"
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot > 0 else ""
    if ext in SIDECARS:
        return f"not an image ({ext} file)"
    return None


def _data_files_hint(files: list[str]) -> str:
    """'; open X instead' when the folder holds data set files (IDX, .npz, vectors .tsv)."""
    names = [os.path.basename(p) for p in files]
    found = [
        n
        for n in names
        if ("images" in n.lower() and "idx" in n.lower())
        or n.lower().endswith(".npz")
        or (n.lower().endswith(".tsv") and "vectors" in n.lower())
    ]
    if not found:
        return ""
    shown = " or ".join(found[:2])
    return f"; to open the data set in it, open {shown} instead"
