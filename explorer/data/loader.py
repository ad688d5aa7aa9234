"""``load_data(spec)``: dispatch a DATA spec to the right reader.

spec is ``sample:NAME``, a folder (class sub-folders or flat), an MNIST IDX images file (plain or
.gz; labels found beside it), a ``.npz``, a projector ``.tsv``, or a single image file.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import numpy as np

from explorer.core.errors import DataError
from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress


def load_data(spec: str, **options) -> ImageSet:
    """Load a data set; raise DataError with a sentence the user can act on (options: see load_data_job)."""
    from explorer.core.progress import run_to_end

    return run_to_end(load_data_job(spec, **options))


def load_data_job(
    spec: str, file_backed: bool | None = None, working: tuple[int, int] | None = None
) -> Generator[Progress, None, ImageSet]:
    """Load a data set, yielding Progress (files read / total for folders); return the ImageSet.

    file_backed: folders only: None decides by size, True keeps pixels in files, False reads them all.
    working:     (H, W) working resolution of a file-backed set (folders and Parquet tables)."""
    spec = os.fspath(spec)
    if spec.startswith("sample:"):
        from explorer.data.samples import load_sample

        yield Progress(0, 1, f"loading {spec}")
        data = load_sample(spec[len("sample:") :])
        yield Progress(1, 1, f"loaded {spec}")
        return data
    path = os.path.expanduser(spec)
    if not os.path.exists(path):
        raise DataError(f"{spec} does not exist.")
    if os.path.isdir(path):
        from explorer.data.shards import is_shard_folder, joined_table

        if is_shard_folder(path):  # codes from `explorer encode --engine ray`: one table
            from explorer.data.parquet import load_parquet_job

            yield Progress(0, 1, f"joining the shards of {os.path.basename(path)}")
            data = yield from load_parquet_job(joined_table(path), working=working)
            data.name = os.path.basename(os.path.normpath(path))
            return data
        from explorer.data.documents import is_document_folder, load_document_folder_job

        if is_document_folder(path):
            return (yield from load_document_folder_job(path))
        from explorer.data.folder import load_folder_job

        return (yield from load_folder_job(path, file_backed=file_backed, working=working))
    from explorer.data.pillow_safe import check_regular_file

    check_regular_file(path)  # FIFOs, devices, sockets: refused before anything opens them
    if not os.access(path, os.R_OK):
        raise DataError(f"{spec} cannot be read (permission denied).")
    if os.path.getsize(path) == 0:
        raise DataError(f"{spec} is an empty file.")
    if path.lower().endswith((".parquet", ".pq")):
        from explorer.data.parquet import load_parquet_job

        return (yield from load_parquet_job(path, working=working))
    yield Progress(0, 1, f"reading {os.path.basename(path)}")
    data = _load_file(path)
    yield Progress(1, 1, f"read {os.path.basename(path)}")
    return data


def _load_file(path: str) -> ImageSet:
    lower = os.path.basename(path).lower()
    if lower.endswith((".csv", ".csv.gz")):
        from explorer.data.documents import load_document_table

        return load_document_table(path)
    if lower.endswith(".npz"):
        from explorer.data.npz import load_npz

        return load_npz(path)
    if lower.endswith(".tsv"):
        from explorer.data.tsv import load_tsv

        return load_tsv(path)
    from explorer.data import idx

    if "idx" in lower or "ubyte" in lower or idx.is_idx(path):
        return load_idx(path)
    from explorer.data.folder import load_image_file
    from explorer.data.pillow_safe import ImageFileError

    try:
        return load_image_file(path)
    except ImageFileError as err:
        raise DataError(
            f"{path} is not a data set explorer can read ({err.reason}): use a folder of images, an "
            "MNIST IDX file, a .npz, a projector vectors.tsv, a Parquet table or sample:NAME."
        ) from None


def load_idx(path: str) -> ImageSet:
    from explorer.data import idx
    from explorer.data.npz import labels_and_names, to_nchw

    raw = idx.read_idx(path)
    if raw.ndim == 1:
        raise DataError(f"{path} holds labels, not images; open the matching *-images-idx3-ubyte file.")
    images, notes = to_nchw(raw, path)
    labels, names = None, []
    lpath = idx.labels_path_for(path)
    if lpath:
        try:
            lab = idx.read_idx(lpath)
        except DataError as err:
            notes.append(f"labels not used: {err}")
        else:
            if lab.ndim != 1 or len(lab) != len(images):
                notes.append(
                    f"labels not used: {os.path.basename(lpath)} holds {lab.shape[0] if lab.ndim else 0} "
                    f"labels for {len(images)} images."
                )
            else:
                labels, names = labels_and_names(lab.astype(np.int64), None, len(images), lpath)
    name = os.path.basename(path)
    for suffix in (".gz", "-idx3-ubyte", ".idx3-ubyte", "-images", "-ubyte"):
        name = name[: -len(suffix)] if name.endswith(suffix) and len(name) > len(suffix) else name
    return ImageSet(
        images, labels, names, [f"{path}#{i}" for i in range(len(images))], name, "idx", notes=notes
    )
