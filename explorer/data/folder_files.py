"""A big image folder as a file-backed ImageSet: paths and labels in memory, pixels on demand.

Called by :func:`explorer.data.folder.load_folder_job` when the decoded images would not fit the
in-memory budget (or when asked). Nothing is decoded here except a few file headers (to pick the
channels and working resolution); the renditions are built later, in the background or on demand.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterator

import numpy as np

from explorer.core.errors import DataError
from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress
from explorer.data import files as filesets
from explorer.data.decode import probe

STAT_STEP = 5000


def working_from_env() -> tuple[int, int] | None:
    """EXPLORER_WORKING_SIZE="48" or "48x64" (H x W): the user's working resolution, else None."""
    text = os.environ.get("EXPLORER_WORKING_SIZE", "").strip().lower()
    if not text:
        return None
    try:
        parts = [int(p) for p in text.split("x")]
    except ValueError:
        raise DataError(f"EXPLORER_WORKING_SIZE={text!r}: write a size such as 32 or 48x64.") from None
    h, w = (parts[0], parts[0]) if len(parts) == 1 else parts[:2]
    if not (4 <= h <= 512 and 4 <= w <= 512):
        raise DataError("EXPLORER_WORKING_SIZE must be between 4 and 512 pixels a side.")
    return h, w


def sample_shape(paths: list[str], sample: int = 64) -> tuple[int, tuple[int, int], int]:
    """(channels by majority, most common (H, W), how many headers were read) from an even sample."""
    pick = np.unique(np.linspace(0, len(paths) - 1, min(sample, len(paths))).astype(int)) if paths else []
    colour = grey = 0
    sizes: Counter = Counter()
    for i in pick:
        try:
            w, h, is_colour = probe(paths[i])
        except ValueError:
            continue
        colour += is_colour
        grey += not is_colour
        sizes[(h, w)] += 1
    channels = 3 if colour >= grey else 1
    size = sizes.most_common(1)[0][0] if sizes else filesets.WORKING
    return channels, size, colour + grey


def file_backed_job(
    folder: str,
    files: list[str],
    labels: list[int] | None,
    names: list[str],
    skipped: list[str],
    working: tuple[int, int] | None = None,
) -> Iterator[Progress]:
    """Yield Progress while the files are stat'ed; return a file-backed ImageSet."""
    from explorer.data.folder_checks import _data_files_hint, _precheck

    total = len(files)
    keep_paths: list[str] = []
    keep_labels: list[int] = []
    keys: list[int] = []
    yield Progress(0, total, "listing files")
    absolute = bool(files) and os.path.isabs(files[0]) and os.path.normpath(folder) == folder
    for i, path in enumerate(files):
        reason = _precheck(path)
        key = 0 if reason else filesets.file_key(path, absolute)
        if reason or key == 0:
            skipped.append(f"{path}: {reason or 'cannot be read'}")
        else:
            keep_paths.append(path)
            keys.append(key)
            if labels is not None:
                keep_labels.append(labels[i])
        if i and i % STAT_STEP == 0:
            yield Progress(i, total, "listing files")
    if not keep_paths:
        what = f"{total} files could not be read" if total else "the folder is empty"
        raise DataError(f"No images found in {folder}: {what}{_data_files_hint(files)}.")
    channels, size, probed = sample_shape(keep_paths)
    if probed == 0:
        raise DataError(
            f"No images found in {folder}: none of the files sampled is an image Pillow can read."
        )
    auto = working or working_from_env()
    notes = []
    if auto is None:
        auto = size if size[0] * size[1] <= 4096 else filesets.WORKING
    notes.append(
        f"{len(keep_paths):,} files opened from disk (not read into memory): pixels at a "
        f"{auto[0]}x{auto[1]} working resolution and {filesets.THUMB} px thumbnails, cached as they "
        f"are decoded; {'colour' if channels == 3 else 'greyscale'} by the majority of a sample."
    )
    key = hashlib.blake2b(
        f"folder|{os.path.realpath(folder)}|{channels}".encode(), digest_size=10
    ).hexdigest()
    source = filesets.FileImageSource(
        keep_paths, np.asarray(keys, np.uint64), channels, key, working=auto, skipped=skipped
    )
    if source.cache.rebuilt:
        notes.append("the cached renditions were rebuilt: " + "; ".join(source.cache.rebuilt) + ".")
    yield Progress(total, total, "listing files")
    name = os.path.basename(os.path.normpath(folder))
    if labels is None:
        return ImageSet(source, None, [], keep_paths, name, "folder-flat", skipped=skipped, notes=notes)
    return ImageSet(
        source,
        np.asarray(keep_labels, np.int64),
        names,
        keep_paths,
        name,
        "folder-classes",
        skipped=skipped,
        notes=notes,
    )
