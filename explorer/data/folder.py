"""Image folders: one sub-folder per class (labels = sorted folder names) or a flat folder.

Every entry that is not a folder is a candidate. Hidden files, entries that are not regular files
(FIFOs, devices, sockets, broken links: refused by :mod:`explorer.data.pillow_safe` without being
opened), obvious sidecars (.txt, .json, ...) and files Pillow
cannot decode completely (truncated, corrupt, not an image) are skipped, counted and listed in
``ImageSet.skipped`` as "path: reason"; they never stop the load. Files are read in natural sort
order ("img2" before "img10"); classes are the first-level sub-folders, in natural order, with every
image below them (any depth). When a folder has class sub-folders, image files lying directly in
it are skipped ("outside any class folder").

Symbolic links: a class folder that is a link to a folder *outside* the data set's root is not
followed; it is listed in ``skipped`` with where it points. A data set is what lies under the folder
the user opened: an unpacked archive or a shared folder cannot pull in the user's other files
(thumbnails and caches of them), and the data fingerprint covers only the root. Links that stay
inside the root are followed. Below a class folder, linked sub-folders are not entered (that also
rules out link loops); linked files are read if their target is a regular file.
"""

from __future__ import annotations

import os
import re
from typing import Iterator

import numpy as np

from explorer.core.errors import DataError
from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress
from explorer.data.conform import conform
from explorer.data.folder_checks import _data_files_hint, _precheck
from explorer.data.pillow_safe import ImageFileError, open_image

# never images: skipped without trying to decode them
MAX_PIXELS = 64_000_000  # per image; larger files are skipped rather than filling memory
MAX_TOTAL_BYTES: int | None = None  # decoded pixels of one folder; None: 40% of the free memory
CHUNK = 256  # files per progress step
# a folder whose images would take more than this decoded is opened file-backed (pixels decoded on
# demand into cached renditions) instead of being read into one array
IN_MEMORY_BYTES = 256 << 20


def natural_key(text: str):
    """Sort key that orders embedded numbers by value: img2 < img10."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", text)]


def _walk(folder: str) -> list[str]:
    """Every non-folder entry below ``folder`` (hidden and linked folders not entered), natural
    order per level."""
    out: list[str] = []
    stack = [folder]
    while stack:
        d = stack.pop()
        try:
            entries = sorted(os.scandir(d), key=lambda e: natural_key(e.name))
        except OSError:
            continue
        subdirs = []
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    if not e.name.startswith("."):
                        subdirs.append(e.path)
                elif not e.is_dir():  # files, and FIFOs/devices/broken links to skip with a reason
                    out.append(e.path)
            except OSError:
                continue
        stack.extend(reversed(subdirs))
    return out


def scan(folder: str) -> tuple[list[str], list[int] | None, list[str], list[str]]:
    """Candidate files, their labels (None for a flat folder), class names and early skips."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: natural_key(e.name))
    except OSError as err:
        raise DataError(f"Cannot read the folder {folder}: {err.strerror or err}.") from err
    skipped: list[str] = []
    classes = []
    for e in entries:
        if e.is_dir() and not e.name.startswith("."):
            outside = _link_outside(e.path, folder)
            if outside:
                skipped.append(
                    f"{e.path}: class folder is a link to {outside}, outside the data set; not followed"
                )
            else:
                classes.append(e)
    loose = [e.path for e in entries if not e.is_dir()]
    if not classes:
        return loose, None, [], skipped
    files: list[str] = []
    labels: list[int] = []
    names: list[str] = []
    for e in classes:
        inside = _walk(e.path)
        if not inside:
            continue
        names.append(e.name)
        files.extend(inside)
        labels.extend([len(names) - 1] * len(inside))
    if not files:  # only empty sub-folders: treat the folder as flat
        return loose, None, [], skipped
    for p in loose:
        reason = _precheck(p) or "outside any class folder"
        skipped.append(f"{p}: {reason}")
    return files, labels, names, skipped


def _link_outside(path: str, root: str) -> str | None:
    """Where ``path`` points when it is a symbolic link leaving ``root``; None otherwise."""
    if not os.path.islink(path):
        return None
    target = os.path.realpath(path)
    base = os.path.realpath(root)
    try:
        inside = os.path.commonpath([target, base]) == base
    except ValueError:  # different drives (Windows)
        inside = False
    return None if inside else target


def read_image(path: str) -> np.ndarray:
    """Decode one image file fully (first frame) to a numpy array; raise ValueError with a reason."""
    return _decode(path)


def _decode(path: str) -> np.ndarray:
    """read_image's work: :func:`explorer.data.pillow_safe.open_image` (regular files, allowed
    formats, bomb check), then the mode conversions. ValueError(short reason) on failure."""
    try:
        with open_image(path, max_pixels=MAX_PIXELS) as img:
            img.load()
            mode = img.mode
            if mode in ("L", "RGB", "RGBA", "LA", "I;16", "I;16B", "I;16L", "I", "F"):
                arr = np.asarray(img)
                if mode.startswith("I;16"):
                    arr = arr.astype(np.uint16)
            elif mode == "1":
                arr = np.asarray(img.convert("L"))
            elif mode == "P":
                arr = np.asarray(img.convert("RGBA" if "transparency" in img.info else "RGB"))
            else:  # CMYK, YCbCr, LAB, HSV, ...
                arr = np.asarray(img.convert("RGB"))
    except ImageFileError as err:
        raise ValueError(err.reason) from None
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise ValueError("unsupported image layout")
    return arr


def _decode_budget() -> int:
    """Bytes of decoded pixels a folder may take (the stacked copy needs as much again)."""
    if MAX_TOTAL_BYTES is not None:
        return MAX_TOTAL_BYTES
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") * 0.4)
    except (ValueError, OSError, AttributeError):  # not available on this system
        return 4 << 30


def _read_chunk(paths: list[str], budget: dict | None = None) -> list[tuple[np.ndarray | None, str | None]]:
    """Decode many files: (array, None) or (None, reason to skip) for each.

    ``budget`` ({"left": bytes, "folder": path, "read": count}) stops the load with a DataError once
    the decoded images would not fit in memory (a few KB of PNG can claim 64 Mpixels each)."""
    out = []
    for path in paths:
        reason = _precheck(path)
        if reason:
            out.append((None, reason))
            continue
        try:
            arr = _decode(path)
        except ValueError as err:
            out.append((None, str(err)))
            continue
        if budget is not None:
            budget["left"] -= arr.nbytes
            budget["read"] += 1
            if budget["left"] < 0:
                raise DataError(
                    f"The images in {budget['folder']} need more memory than is free (the first "
                    f"{budget['read']} already take "
                    f"{(budget['used'] - budget['left']) / 1e6:,.0f} MB decoded); "
                    "open a smaller folder or scale the images down."
                )
        out.append((arr, None))
    return out


def load_folder_job(
    folder: str, file_backed: bool | None = None, working: tuple[int, int] | None = None
) -> Iterator[Progress]:
    """Read an image folder, yielding Progress(files read, total); return an ImageSet.

    file_backed: None decides by size (IN_MEMORY_BYTES, from a sample of file headers); True keeps
                 only paths in memory (explorer.data.files); False reads every image into one array.
    working:     (H, W) working resolution of a file-backed set (default: the images' own size when
                 small, else explorer.data.files.WORKING)."""
    yield Progress(0, 0, "scanning folder")
    files, labels, names, skipped = scan(folder)
    if file_backed is None:
        file_backed = _decoded_estimate(files) > IN_MEMORY_BYTES
    if file_backed:
        from explorer.data.folder_files import file_backed_job

        return (yield from file_backed_job(folder, files, labels, names, skipped, working))
    total = len(files)
    images: list[np.ndarray] = []
    paths: list[str] = []
    kept_labels: list[int] = []
    yield Progress(0, total, "reading images")
    limit = _decode_budget()
    budget = {"left": limit, "used": limit, "read": 0, "folder": folder}
    # serial on purpose: small files decode faster than threads can hand them over (GIL)
    for start in range(0, total, CHUNK):
        chunk = files[start : start + CHUNK]
        for j, (arr, reason) in enumerate(_read_chunk(chunk, budget)):
            if arr is None:
                skipped.append(f"{chunk[j]}: {reason}")
                continue
            images.append(arr)
            paths.append(chunk[j])
            if labels is not None:
                kept_labels.append(labels[start + j])
        yield Progress(min(start + CHUNK, total), total, "reading images")
    if not images:
        what = f"{total} files could not be read" if total else "the folder is empty"
        first = f" (first: {skipped[0]})" if skipped else ""
        hint = _data_files_hint(files)
        raise DataError(f"No images found in {folder}: {what}{first}{hint}.")
    yield Progress(total, total, "bringing images to one shape")
    stacked, notes = conform(images)
    del images
    name = os.path.basename(os.path.normpath(folder))
    if labels is None:
        return ImageSet(stacked, None, [], paths, name, "folder-flat", skipped=skipped, notes=notes)
    # classes whose files were all skipped keep their index so names stay in folder order
    return ImageSet(
        stacked,
        np.asarray(kept_labels, dtype=np.int64),
        names,
        paths,
        name,
        "folder-classes",
        skipped=skipped,
        notes=notes,
    )


def _decoded_estimate(files: list[str], sample: int = 48) -> float:
    """Bytes the folder's images would take decoded, from the headers of an even sample of files."""
    from explorer.data.decode import probe

    if not files:
        return 0.0
    pick = np.unique(np.linspace(0, len(files) - 1, min(sample, len(files))).astype(int))
    sizes = []
    for i in pick:
        if _precheck(files[i]):
            continue
        try:
            w, h, colour = probe(files[i])
        except ValueError:
            continue
        sizes.append(w * h * (3 if colour else 1))
    return float(np.mean(sizes)) * len(files) if sizes else 0.0


def load_image_file(path: str) -> ImageSet:
    """A single image file as a one-item ImageSet."""
    try:
        arr = read_image(path)
    except ValueError as err:
        raise ImageFileError(path, str(err), f"{path} is not an image explorer can read ({err}).") from None
    stacked, notes = conform([arr])
    return ImageSet(stacked, None, [], [path], os.path.basename(path), "image", notes=notes)
