import numpy as np
import pytest

from explorer.core.errors import DataError
from explorer.data import load_data


def _vectors(tmp_path, rows, name="vectors.tsv"):
    p = tmp_path / name
    p.write_text("\n".join("\t".join(str(v) for v in r) for r in rows) + "\n")
    return p


def test_vectors_with_header_metadata(tmp_path):
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(5, 3)).round(4)
    vp = _vectors(tmp_path, codes)
    (tmp_path / "metadata.tsv").write_text("id\tLabel\n0\tcat\n1\tdog\n2\tcat\n3\t\n4\tdog\n")
    data = load_data(str(vp))
    assert data.format == "tsv" and data.images is None and data.shape is None
    assert data.count == 5 and data.codes.dtype == np.float32
    assert np.allclose(data.codes, codes, atol=1e-6)
    assert data.class_names == ["cat", "dog"] and data.labels.tolist() == [0, 1, 0, -1, 1]
    facts = data.facts()
    assert facts["code_dim"] == 3 and facts["classes"] == 2 and facts["shape"] is None


def test_single_column_metadata_and_picking_the_metadata_file(tmp_path):
    _vectors(tmp_path, [[1, 2], [3, 4], [5, 6]], name="run_vectors.tsv")
    meta = tmp_path / "run_metadata.tsv"
    meta.write_text("7\n10\n7\n")
    data = load_data(str(meta))  # the user opened the metadata file: the vectors beside it are read
    assert data.codes.shape == (3, 2)
    assert data.class_names == ["7", "10"] and data.labels.tolist() == [0, 1, 0]


def test_metadata_row_mismatch_is_a_note(tmp_path):
    vp = _vectors(tmp_path, [[1], [2], [3]])
    (tmp_path / "metadata.tsv").write_text("a\nb\n")
    data = load_data(str(vp))
    assert data.labels is None and "2 rows for 3 vectors" in data.notes[0]


def test_bad_vectors(tmp_path):
    with pytest.raises(DataError, match="line 2 has 1 values, line 1 has 2"):
        load_data(str(_vectors(tmp_path, [[1, 2], [3]])))
    with pytest.raises(DataError, match="line 1 holds something that is not a number"):
        load_data(str(_vectors(tmp_path, [["a", 2]])))
    with pytest.raises(DataError, match="line 2 holds NaN"):
        load_data(str(_vectors(tmp_path, [[1, 2], [float("nan"), 1]])))
    (tmp_path / "vectors.tsv").write_text("\n\n")
    with pytest.raises(DataError, match="is empty"):
        load_data(str(tmp_path / "vectors.tsv"))
    (tmp_path / "vectors.tsv").write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(DataError, match="not a text file"):
        load_data(str(tmp_path / "vectors.tsv"))


def test_single_column_metadata_keeps_blank_labels_and_odd_characters(tmp_path):
    vp = _vectors(tmp_path, [[1], [2], [3]])
    (tmp_path / "metadata.tsv").write_text('a"b\n\nc\r\n\n')
    data = load_data(str(vp))
    assert data.class_names == ['a"b', "c"] and data.labels.tolist() == [0, -1, 1]
