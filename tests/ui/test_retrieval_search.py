"""The retrieval view's searches: the binary-code column (Hamming), the FAISS index above the
brute-force threshold with its recall, sampled metrics said in the view, documents as text."""

import os

import numpy as np
import pytest

from explorer.core.imageset import ImageSet
from explorer.retrieval import ann, retrieval_metrics
from explorer.ui.context import AppContext
from explorer.ui.views import retrieval as rv


class Pixels:
    name, input_shape = "pixels", None

    def encode(self, images):
        return np.asarray(images, np.float32).reshape(len(images), -1)


class Bits:
    """A stand-in binary encoder: the signs of a fixed random projection to 32 bits."""

    name, input_shape = "bits", (1, 8, 8)

    def __init__(self):
        self.w = np.random.default_rng(0).standard_normal((64, 32)).astype(np.float32)

    def encode(self, images):
        x = np.asarray(images, np.float32).reshape(len(images), -1)
        return ((x - x.mean(1, keepdims=True)) @ self.w > 0).astype(np.float32)


def _view(qtbot, data, encoders):
    ctx = AppContext.standalone()
    ws = ctx.workspace
    ws.set_dataset(data)
    for enc in encoders:
        ws.add_model(enc.name, enc)
        ws.set_codes(enc.name, enc.encode(data.float_images()))
    v = rv.View(ctx)
    qtbot.addWidget(v)
    v.resize(1280, 720)
    v.show()
    return v


def test_binary_column_searches_by_hamming_and_shows_its_figures(qtbot, digits_300):
    v = _view(qtbot, digits_300, [Pixels(), Bits()])
    assert v.binary_model() == "bits"  # only codes of 0s and 1s are offered there
    assert v.binary_column.combo.findText("pixels") < 0
    v.ws.set_query(index=7)
    col = v.binary_column
    codes = v.ws.codes["bits"]
    ham = (codes != codes[7]).sum(1)
    ham[7] = 10**6
    got = col.results()
    assert len(got) == v.k and 7 not in got
    assert sorted(ham[got].tolist()) == sorted(ham)[: v.k]  # the k nearest by Hamming distance
    assert "32 bits · Hamming" in col.info.text() and "query " in col.info.text()
    qtbot.waitUntil(lambda: v.metrics_of("bits", "hamming") is not None, timeout=10000)
    want = retrieval_metrics(codes, digits_300.labels, metric="hamming")
    assert v.metrics_of("bits", "hamming").map_at_r == pytest.approx(want.map_at_r)
    qtbot.waitUntil(lambda: f"MAP@R {want.map_at_r:.3f}" in col.info.text(), timeout=5000)
    table = v.metrics.table
    rows = {table.item(r, 0).text(): r for r in range(table.rowCount())}
    assert table.item(rows["bits · Hamming"], 3).text() == f"{want.map_at_r:.3f}"
    assert float(table.item(rows["bits · Hamming"], table.columnCount() - 1).text()) >= 0  # query ms
    v.shutdown()


def test_no_binary_model_says_how_to_get_one(qtbot, digits_300):
    v = _view(qtbot, digits_300, [Pixels()])
    assert v.binary_model() is None
    assert "binae" in v.binary_column.placeholder.text()
    v.shutdown()


def test_above_the_threshold_the_view_answers_with_the_faiss_index(qtbot, monkeypatch):
    monkeypatch.setattr(ann, "EXACT_MAX_FLOATS", 1000)  # 3,000 x 8 codes count as huge
    monkeypatch.setattr(ann, "MIN_INDEXED", 1000)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 3000)
    codes = (rng.normal(size=(5, 8)) * 4)[labels] + rng.normal(size=(3000, 8))
    data = ImageSet(images=None, codes=codes.astype(np.float32), labels=labels)
    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(data)
    v = rv.View(ctx)
    qtbot.addWidget(v)
    ctx.workspace.set_query(index=3)
    col = v.columns[0]
    qtbot.waitUntil(lambda: col.list.count() == v.k, timeout=30000)  # built in a worker, then shown
    index = v.indexes.index_of("codes", "l2")
    assert isinstance(index, ann.AnnIndex) and index.recall_at_10 >= 0.9
    assert f"recall@10 {index.recall_at_10:.3f}" in col.info.text()
    exact = np.argsort(((codes - codes[3]) ** 2).sum(1))[1 : v.k + 1]
    assert len(set(col.results()) & set(exact.tolist())) >= v.k - 2
    assert os.path.exists(ann.index_path(data.codes, "l2"))  # saved beside the codes cache
    v.shutdown()


def test_metrics_on_huge_sets_use_a_seeded_sample_and_say_so(qtbot, digits_300, monkeypatch):
    import explorer.jobs.retrieval as jobs

    monkeypatch.setattr(jobs, "FULL_METRICS_MAX", 100)
    monkeypatch.setattr(jobs, "SAMPLED_QUERIES", 60)
    v = _view(qtbot, digits_300, [Pixels()])
    qtbot.waitUntil(lambda: v.metrics_of("pixels") is not None and not v.busy(), timeout=10000)
    assert v.metrics_of("pixels").n_queries == 60
    assert "seeded sample of 60 of 300 queries" in v.metrics.note.text()
    assert "seeded sample" in v.metrics.title.text()


def test_documents_show_text_snippets(qtbot):
    from explorer.data.documents import documents_set

    topics = {
        0: "the cat sat on the mat with another cat and a kitten",
        1: "stock market prices fell as traders sold shares and bonds",
    }
    texts = [f"{topics[i % 2]} number {i} {'kitten' if i % 2 == 0 else 'shares'}" for i in range(20)]
    data = documents_set(
        texts, [i % 2 for i in range(20)], ["pets", "money"], [f"t#{i}" for i in range(20)], "t", "documents"
    )
    v = _view(qtbot, data, [Pixels()])
    v.set_column_model(0, "pixels")
    v.ws.set_query(index=4)
    col = v.columns[0]
    assert col.text_mode and col.list.count() == v.k
    first = col.list.item(0).text()
    assert "✓" in first and "the cat sat on the mat" in first and "pets" in first
    assert "the cat sat on the mat" in v.query_label.text()
    qtbot.waitUntil(lambda: v.metrics_of("pixels") is not None, timeout=10000)
    v.metrics.worst_combo.setCurrentText("pixels")
    v._show_worst()
    assert v.metrics.worst.count() > 0 and " number " in v.metrics.worst.item(0).text()
    v.shutdown()


def test_four_columns_fit_a_1280x720_window(qtbot, digits_300):
    from explorer.ui.view_loading import scrolling_page

    v = _view(qtbot, digits_300, [Pixels(), Bits()])
    area = scrolling_page(v)
    area.resize(950, 600)  # the centre tab of a 1280x720 window
    area.show()
    v.ws.set_query(index=3)
    qtbot.wait(100)
    assert v.size() == area.viewport().size()  # long info lines wrap instead of widening the view
    assert not area.horizontalScrollBar().isVisible() and not area.verticalScrollBar().isVisible()
    v.shutdown()
    area.takeWidget()
