"""Parquet tables (pyarrow), one row per item, opened like a folder; codes and layouts written back.

Columns read (the first name found of each group; names are case-insensitive):
- image: ``image_path`` / ``path`` / ``file`` / ``filename`` (strings, relative to the table's
  folder or absolute), or ``image_bytes`` / ``bytes`` (binary), or ``image`` as either, or as the
  Hugging Face struct {bytes, path};
- label (optional): ``label`` / ``labels`` / ``class`` / ``category``: whole numbers or strings;
- embedding (optional): ``embedding`` / ``embeddings`` / ``vector``: a list of numbers per row;
- layout (optional): ``x`` and ``y`` numbers.
A table needs an image column or an embedding. A column of the wrong type gets one sentence naming
it. Image bytes are copied once, batch by batch, into a blob file in the cache (so any row can be
read without reading its row group); paths are opened where they are.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import numpy as np

from explorer.core.errors import DataError
from explorer.core.imageset import ImageSet
from explorer.core.paths import cache_dir
from explorer.core.progress import Progress

PATH_COLUMNS = ("image_path", "path", "file", "filename", "file_path", "filepath")
BYTES_COLUMNS = ("image_bytes", "bytes", "image_data")
LABEL_COLUMNS = ("label", "labels", "class", "category")
EMBED_COLUMNS = ("embedding", "embeddings", "vector")
BATCH = 512


def _find(names: dict[str, str], options) -> str | None:
    for o in options:
        if o in names:
            return names[o]
    return None


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError("Reading Parquet tables needs pyarrow: pip install pyarrow.") from None
    return pa, pq


def load_parquet_job(path: str, working: tuple[int, int] | None = None) -> Iterator[Progress]:
    """Open a Parquet table as a (file-backed) ImageSet; yields Progress while it reads columns."""
    pa, pq = _pyarrow()
    name = os.path.basename(path)
    try:
        table_file = pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises ArrowInvalid, OSError, ...
        raise DataError(
            f"{name} is not a Parquet table pyarrow can read ({str(err).splitlines()[0][:160]})."
        ) from None
    schema = table_file.schema_arrow
    names = {f.name.lower(): f.name for f in schema}
    n = table_file.metadata.num_rows
    yield Progress(0, n, f"reading {name}")
    image_col = _find(names, PATH_COLUMNS + BYTES_COLUMNS + ("image",))
    embed_col = _find(names, EMBED_COLUMNS)
    label_col = _find(names, LABEL_COLUMNS)
    if image_col is None and embed_col is None:
        from explorer.data.documents import TEXT_COLUMNS, load_document_table

        if _find(names, TEXT_COLUMNS) is not None:  # a table of texts: bag-of-words documents
            return load_document_table(path)
        raise DataError(
            f"{name} has no image column and no embedding column: add image_path (relative to the "
            f"table), image_bytes, or embedding (a list of numbers per row); "
            f"it has {', '.join(schema.names[:8])}."
        )
    image_kind = None
    if image_col is not None:
        image_kind = _image_kind(pa, schema.field(image_col).type, image_col, name)
    name_col = names.get("label_name") if label_col is not None else None
    read = [c for c in (label_col, name_col, embed_col, names.get("x"), names.get("y")) if c is not None]
    if image_kind == "path":
        read.append(image_col)
    columns = table_file.read(columns=read) if read else None
    notes: list[str] = []
    skipped: list[str] = []
    labels, class_names = (None, [])
    if label_col is not None:
        labels, class_names = _labels(pa, columns.column(label_col), label_col, name)
        if name_col is not None and pa.types.is_integer(columns.column(label_col).type):
            for k, text in zip(labels.tolist(), columns.column(name_col).to_pylist()):  # our own tables
                if 0 <= k < len(class_names) and text:
                    class_names[k] = str(text)
    codes = None
    if embed_col is not None:
        codes = _embedding(pa, columns.column(embed_col), embed_col, name)
    xy = None
    if "x" in names and "y" in names:
        xy = np.stack([_numbers(pa, columns.column(names[k]), names[k], name) for k in ("x", "y")], 1)
    images = None
    paths = [f"{path}#{i}" for i in range(n)]
    if image_kind is not None:
        images, paths = yield from _image_source(
            table_file, path, image_col, image_kind, n, columns, skipped, working
        )
        notes.append(
            f"{n:,} rows opened from {name}: pixels at a {images.working[0]}x{images.working[1]} "
            "working resolution, decoded as needed."
        )
    yield Progress(n, n, f"read {name}")
    if images is None and codes is None:
        raise DataError(f"{name} has no rows.")
    return ImageSet(
        images,
        labels,
        class_names,
        paths,
        os.path.splitext(name)[0],
        "parquet",
        codes=codes,
        skipped=skipped,
        notes=notes,
        xy=xy,
    )


def _image_source(table_file, path: str, col: str, kind: str, n: int, columns, skipped: list[str], working):
    """(FileImageSource, paths) for the table's image column (paths, or bytes copied to a blob)."""
    from explorer.data import files as filesets
    from explorer.data.folder_files import sample_shape, working_from_env

    name = os.path.basename(path)
    st = os.stat(path)
    if kind == "path":
        rel = columns.column(col).to_pylist()
        bad = [i for i, p in enumerate(rel) if not isinstance(p, str) or not p]
        if bad:
            raise DataError(f"{name}: column '{col}' has {len(bad)} empty paths (first at row {bad[0]}).")
        root = os.path.dirname(os.path.abspath(path))
        items = [p if os.path.isabs(p) else os.path.join(root, p) for p in rel]
        keys = np.array([filesets.file_key(p) for p in items], np.uint64)
        for i in np.flatnonzero(keys == 0):
            skipped.append(f"{items[i]}: file not found")
        opener, describe, paths = None, str, items
        sample = [items[i] for i in np.flatnonzero(keys)[:64]]
    else:
        blob = yield from _copy_bytes(table_file, col, path, n)
        items = list(range(n))
        base = f"{os.path.realpath(path)}|{st.st_size}|{st.st_mtime_ns}"
        keys = np.array(
            [
                int.from_bytes(hashlib.blake2b(f"{base}|{i}".encode(), digest_size=8).digest(), "little")
                for i in range(n)
            ],
            np.uint64,
        )
        opener, describe = blob.read, (lambda i: f"{path}#{i}")
        paths = [f"{path}#{i}" for i in range(n)]
        sample = [blob.read(i) for i in range(min(64, n))]
    channels, size, probed = sample_shape(sample)
    if probed == 0 and n:
        raise DataError(f"{name}: none of the first images in column '{col}' could be read.")
    auto = working or working_from_env() or (size if size[0] * size[1] <= 4096 else filesets.WORKING)
    cache_key = hashlib.blake2b(
        f"parquet|{os.path.realpath(path)}|{col}|{channels}".encode(), digest_size=10
    ).hexdigest()
    source = filesets.FileImageSource(
        items, keys, channels, cache_key, working=auto, opener=opener, skipped=skipped, describe=describe
    )
    return source, paths


def _image_kind(pa, typ, col: str, name: str) -> str:
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return "path"
    if pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
        return "bytes"
    if pa.types.is_struct(typ) and typ.get_field_index("bytes") >= 0:  # Hugging Face Image: {bytes, path}
        return "bytes"
    raise DataError(
        f"{name}: column '{col}' must hold image paths (text) or image bytes (binary), not {typ}."
    )


def _labels(pa, col, label_col: str, name: str):
    typ = col.type
    if pa.types.is_integer(typ):
        values = col.to_numpy(zero_copy_only=False)
        if col.null_count:
            values = np.where(np.asarray(col.is_null()), -1, np.nan_to_num(values, nan=-1))
        values = np.asarray(values, np.int64)
        top = int(values.max()) if len(values) else -1
        return values, [str(k) for k in range(top + 1)]
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_dictionary(typ):
        text = col.cast(pa.string()) if pa.types.is_dictionary(typ) else col
        values = text.to_pylist()
        from explorer.data.folder import natural_key

        names = sorted({v for v in values if v is not None}, key=natural_key)
        index = {v: k for k, v in enumerate(names)}
        return np.array([index.get(v, -1) if v is not None else -1 for v in values], np.int64), names
    raise DataError(f"{name}: column '{label_col}' must hold whole numbers or text labels, not {typ}.")


def _embedding(pa, col, embed_col: str, name: str) -> np.ndarray:
    typ = col.type
    list_like = pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ)
    if not list_like or not (pa.types.is_floating(typ.value_type) or pa.types.is_integer(typ.value_type)):
        raise DataError(f"{name}: column '{embed_col}' must be a list of numbers per row, not {typ}.")
    if col.null_count:
        raise DataError(
            f"{name}: column '{embed_col}' has {col.null_count} empty rows; every row needs an embedding."
        )
    arr = col.combine_chunks() if hasattr(col, "combine_chunks") else col
    lengths = np.asarray(arr.value_lengths()) if not pa.types.is_fixed_size_list(typ) else None
    if lengths is not None and len(lengths) and (lengths != lengths[0]).any():
        raise DataError(
            f"{name}: column '{embed_col}' has lists of different lengths "
            f"({int(lengths.min())} to {int(lengths.max())}); every embedding needs the same size."
        )
    dim = typ.list_size if lengths is None else (int(lengths[0]) if len(lengths) else 0)
    flat = np.asarray(arr.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
    codes = flat.reshape(len(arr), dim)
    if not np.isfinite(codes).all():
        raise DataError(f"{name}: column '{embed_col}' holds NaN or infinite values.")
    return codes


def _numbers(pa, col, which: str, name: str) -> np.ndarray:
    if not (pa.types.is_floating(col.type) or pa.types.is_integer(col.type)) or col.null_count:
        raise DataError(f"{name}: column '{which}' must be numbers in every row, not {col.type}.")
    return np.asarray(col.to_numpy(zero_copy_only=False), np.float32)


class _Blob:
    """Image bytes of a table, copied into one file with offsets: any row in one pread."""

    def __init__(self, path: str, offsets: np.ndarray) -> None:
        self.path, self.offsets = path, offsets
        self._fd = os.open(path, os.O_RDONLY)

    def read(self, i: int) -> bytes:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return os.pread(self._fd, b - a, a)


def _copy_bytes(table_file, col: str, path: str, n: int):
    """Copy the image bytes column into the cache once (keyed by the table's path, size, mtime)."""
    from explorer.core.atomic import atomic_write

    st = os.stat(path)
    key = hashlib.blake2b(
        f"{os.path.realpath(path)}|{st.st_size}|{st.st_mtime_ns}|{col}".encode(), digest_size=10
    ).hexdigest()
    folder = cache_dir("tables", key)
    blob, offs = os.path.join(folder, "bytes.bin"), os.path.join(folder, "offsets.npy")
    if os.path.exists(blob) and os.path.exists(offs):
        try:
            offsets = np.load(offs, allow_pickle=False)
            if offsets.shape == (n + 1,) and int(offsets[-1]) == os.path.getsize(blob):
                return _Blob(blob, offsets)
        except (OSError, ValueError):
            pass
    offsets = np.zeros(n + 1, np.int64)
    done = 0

    def write(tmp: str) -> None:
        nonlocal done
        pos = 0
        with open(tmp, "wb") as f:
            for batch in table_file.iter_batches(batch_size=BATCH, columns=[col]):
                values = batch.column(0)
                if hasattr(values, "field") and values.type.num_fields:
                    values = values.field("bytes")
                for v in values.to_pylist():
                    data = v or b""
                    f.write(data)
                    pos += len(data)
                    done += 1
                    offsets[done] = pos

    atomic_write(blob, write)
    atomic_write(offs, lambda tmp: np.save(tmp, offsets))
    yield Progress(n, n, "copied image bytes")
    return _Blob(blob, offsets)


# ---- writing ------------------------------------------------------------------------------------
def write_table(
    out: str, data: ImageSet, codes: np.ndarray | None = None, xy: np.ndarray | None = None, model: str = ""
) -> None:
    """Write one row per item: image_path (relative to ``out`` when possible), label, embedding
    (list<float32>) and x/y, so another tool (pandas, Embedding Atlas, HF datasets) can read it."""
    pa, pq = _pyarrow()
    from explorer.core.atomic import atomic_write

    n = data.count
    cols: dict = {}
    if data.paths is not None:
        base = os.path.dirname(os.path.abspath(out))
        rel = []
        for p in data.paths:
            p = str(p)
            try:
                rel.append(os.path.relpath(p, base) if os.path.isabs(p) or os.path.exists(p) else p)
            except ValueError:  # another drive (Windows)
                rel.append(p)
        cols["image_path"] = pa.array(rel, pa.string())
    if data.labels is not None:
        cols["label"] = pa.array(np.asarray(data.labels, np.int64))
        cols["label_name"] = pa.array([data.label_name(i) for i in range(n)], pa.string())
    if codes is not None:
        codes = np.ascontiguousarray(codes, dtype=np.float32)
        dim = codes.shape[1] if codes.ndim == 2 else 0
        cols["embedding"] = pa.FixedSizeListArray.from_arrays(pa.array(codes.reshape(-1)), dim)
    if xy is not None:
        xy = np.asarray(xy, np.float32)
        cols["x"], cols["y"] = pa.array(xy[:, 0]), pa.array(xy[:, 1])
    meta = {"explorer.model": model, "explorer.data": data.name}
    table = pa.table(cols).replace_schema_metadata(meta)
    atomic_write(out, lambda tmp: pq.write_table(table, tmp))


def read_codes(path: str) -> np.ndarray:
    """The embedding column of a Parquet table as float32 (N, D) (for `explorer project --codes`)."""
    pa, pq = _pyarrow()
    name = os.path.basename(path)
    try:
        schema = pq.read_schema(path)
    except Exception as err:
        raise DataError(
            f"{name} is not a Parquet table pyarrow can read ({str(err).splitlines()[0][:160]})."
        ) from None
    col = _find({f.lower(): f for f in schema.names}, EMBED_COLUMNS)
    if col is None:
        raise DataError(f"{name} has no embedding column (a list of numbers per row).")
    return _embedding(pa, pq.read_table(path, columns=[col]).column(col), col, name)
