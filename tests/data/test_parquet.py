"""Parquet tables: paths or bytes, labels, embeddings and x/y; codes written back and read equal."""

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from explorer.core.errors import DataError
from explorer.core.workspace import Workspace
from explorer.data import load_data
from explorer.data.parquet import read_codes, write_table
from tests.data.test_files import photos


def table_with_paths(tmp_path, n_embed=4):
    folder = photos(tmp_path / "imgs")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    rel = [str(p.relative_to(tmp_path)) for p in files]
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(len(files), n_embed)).astype(np.float32)
    table = pa.table(
        {
            "image_path": rel,
            "label": [p.parent.name for p in files],
            "embedding": pa.array(list(emb), pa.list_(pa.float32())),
            "x": emb[:, 0],
            "y": emb[:, 1],
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    return tmp_path / "t.parquet", files, emb


def test_table_with_paths_labels_and_embedding_opens_like_a_folder(tmp_path):
    path, files, emb = table_with_paths(tmp_path)
    data = load_data(str(path))
    assert data.file_backed and data.format == "parquet" and data.count == len(files)
    assert data.class_names == ["c0", "c1"] and data.labels.tolist() == [0] * 4 + [1] * 4
    assert np.allclose(data.codes, emb) and np.allclose(data.xy, emb[:, :2])
    thumbs = data.thumbnails(slice(0, 3))
    assert thumbs.shape == (3, 3, 96, 96) and thumbs[0, 0].mean() > 200  # class c0: red saturated
    ws = Workspace()
    ws.set_dataset(data)  # its embedding is a model of the scatter, its x/y a layout
    assert np.allclose(ws.codes["codes"], emb) and ("codes", "table") in ws.layouts


def test_table_with_image_bytes(tmp_path):
    rows = []
    for k in range(5):
        buf = io.BytesIO()
        Image.fromarray(np.full((30, 40, 3), 50 * k, np.uint8)).save(buf, format="PNG")
        rows.append(buf.getvalue())
    pq.write_table(
        pa.table({"image": pa.array(rows, pa.binary()), "label": [0, 1, 0, 1, 1]}), tmp_path / "b.parquet"
    )
    data = load_data(str(tmp_path / "b.parquet"))
    assert data.count == 5 and data.shape == (3, 30, 40)  # small images keep their own size
    assert np.allclose(
        data.float_images(slice(None))[:, :, 5, 5].mean(1), [50 * k / 255 for k in range(5)], atol=0.01
    )


def test_codes_written_as_parquet_read_back_equal(tmp_path):
    path, _, _ = table_with_paths(tmp_path)
    data = load_data(str(path))
    codes = np.random.default_rng(1).normal(size=(data.count, 7)).astype(np.float32)
    xy = codes[:, :2]
    out = tmp_path / "out" / "codes.parquet"
    out.parent.mkdir()
    write_table(str(out), data, codes, xy, model="m")
    assert np.array_equal(read_codes(str(out)), codes)
    back = load_data(str(out))  # paths relative to the new file still find the images
    assert np.array_equal(back.codes, codes) and np.array_equal(back.xy, xy)
    assert back.class_names == data.class_names and np.array_equal(back.labels, data.labels)
    assert np.array_equal(back.images[slice(None)], data.images[slice(None)])


@pytest.mark.parametrize(
    "columns, message",
    [
        ({"name": ["a", "b"]}, "no image column and no embedding column"),
        ({"image_path": [1, 2]}, "column 'image_path' must hold image paths"),
        ({"embedding": ["a", "b"]}, "column 'embedding' must be a list of numbers"),
        (
            {"embedding": pa.array([[1.0, 2.0], [1.0]], pa.list_(pa.float32()))},
            "column 'embedding' has lists of different lengths",
        ),
        (
            {"embedding": pa.array([[1.0], [2.0]], pa.list_(pa.float32())), "label": [0.5, 1.5]},
            "column 'label' must hold whole numbers",
        ),
        (
            {"embedding": pa.array([[1.0], [2.0]], pa.list_(pa.float32())), "x": ["a", "b"], "y": [1, 2]},
            "column 'x' must be numbers",
        ),
    ],
)
def test_bad_columns_get_one_sentence_naming_the_column(tmp_path, columns, message):
    pq.write_table(pa.table(columns), tmp_path / "bad.parquet")
    with pytest.raises(DataError, match=message):
        load_data(str(tmp_path / "bad.parquet"))


def test_not_a_parquet_file(tmp_path):
    (tmp_path / "x.parquet").write_bytes(b"PAR1 nothing here")
    with pytest.raises(DataError, match="not a Parquet table"):
        load_data(str(tmp_path / "x.parquet"))
