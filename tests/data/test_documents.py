"""Bag-of-words documents: folders of .txt files and tables; bad inputs get one sentence each."""

import numpy as np
import pytest

from explorer.data import load_data
from explorer.data.documents import MAX_BYTES, vocabulary_of

WORDS = {
    "cats": "the cat purrs and the kitten sleeps while the cat chases a mouse kitten purr",
    "cars": "the engine turns the wheel while the driver brakes and the car engine roars wheel",
}


@pytest.fixture()
def corpus(tmp_path):
    for topic, text in WORDS.items():
        (tmp_path / topic).mkdir()
        for i in range(4):
            (tmp_path / topic / f"doc{i}.txt").write_text(f"{text} number{i}")
    return tmp_path


def test_folder_of_topics_loads_as_word_counts(corpus):
    data = load_data(str(corpus))
    assert data.count == 8 and data.format == "documents"
    assert data.class_names == ["cars", "cats"] and sorted(set(data.labels)) == [0, 1]
    vocab = vocabulary_of(data)
    assert data.shape == (1, 1, len(vocab)) and "engine" in vocab and "the" not in vocab  # a stop word
    assert data.images.dtype == np.uint8  # counts, as every uint8 image reader takes them
    cat = data.images[data.labels == 1].reshape(4, -1)
    assert np.all(cat[:, vocab.index("kitten")] == 2) and np.all(cat[:, vocab.index("engine")] == 0)


def test_bad_documents_each_get_one_sentence(corpus):
    (corpus / "cats" / "empty.txt").write_bytes(b"")
    (corpus / "cats" / ".hidden.txt").write_text("never read")
    (corpus / "cats" / "latin.txt").write_bytes("the cat naïve kitten purrs".encode("latin-1"))
    big = corpus / "cars" / "big.txt"
    with open(big, "wb") as f:  # 50 MB of text
        line = (WORDS["cars"] + "\n").encode()
        f.write(line * (50_000_000 // len(line) + 1))
    data = load_data(str(corpus))
    assert data.count == 10  # the empty one skipped, the other two read
    assert len(data.skipped) == 1 and "empty" in data.skipped[0]
    assert any("not UTF-8" in n and "latin.txt" in n for n in data.notes)
    assert any("big.txt" in n and "MB" in n for n in data.notes)
    assert all(n.count(". ") == 0 and n.endswith(".") for n in data.notes + data.skipped)  # one sentence
    row = data.paths.index(str(big))
    assert data.images[row].astype(np.int64).sum() < MAX_BYTES  # only the first part was counted


def test_table_with_a_text_column(tmp_path):
    import pandas as pd

    rows = [{"text": WORDS[t] + f" extra{i}", "topic": t} for t in WORDS for i in range(3)]
    rows.append({"text": "", "topic": "cats"})
    path = tmp_path / "docs.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    data = load_data(str(path))
    assert data.count == 6 and data.class_names == ["cars", "cats"] and len(data.skipped) == 1
    pd.DataFrame({"words": ["a"]}).to_csv(tmp_path / "bad.csv", index=False)
    from explorer.core.errors import DataError

    with pytest.raises(DataError, match="no text column"):
        load_data(str(tmp_path / "bad.csv"))


def test_sample_docs_and_lsa():
    from explorer.models import load_encoder

    data = load_data("sample:docs")
    assert data.count > 1000 and len(data.class_names) == 11
    lsa = load_encoder("lsa:16", data)
    codes = lsa.encode(data.float_images(slice(0, 10)))
    assert codes.shape == (10, 16) and np.allclose(np.linalg.norm(codes, axis=1), 1, atol=1e-5)


def test_parquet_table_with_a_text_column_loads_as_documents(tmp_path):
    import pandas as pd

    rows = [{"body": WORDS[t] + f" extra{i}", "category": t} for t in WORDS for i in range(3)]
    path = tmp_path / "docs.parquet"
    pd.DataFrame(rows).to_parquet(path)
    data = load_data(str(path))
    assert data.format == "documents:table" and data.count == 6 and data.class_names == ["cars", "cats"]
    assert "engine" in vocabulary_of(data)


def test_snippets_of_loaded_sets_and_subsets(corpus):
    from explorer.data.documents import document_snippet

    data = load_data(str(corpus))
    first = document_snippet(data, 0)
    assert first.startswith("the engine turns") and first.endswith("number0")
    assert document_snippet(data, 0, chars=20) == first[:20]
    sub = data.subset(np.array([5, 0]))  # a subset keeps no snippets: read from the file again
    assert document_snippet(sub, 1) == first
    assert document_snippet(sub, 0).startswith("the cat purrs")
