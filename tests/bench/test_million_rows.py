"""Issue 16's bench rows run end to end on the tiny plan and say what they measured."""

from __future__ import annotations

from explorer.bench.plan import TINY


def test_ann_rows_on_the_tiny_plan():
    # (the landmark rows' fits take minutes even at 1,500 codes on a busy machine; the
    # landmark job itself is tested in tests/projection/test_landmarks.py)
    from explorer.bench.million_rows import ann_rows

    rows = {r.measure: r for r in ann_rows(TINY)}
    query = rows["10-NN query over 20,000 x 16 codes: FAISS index vs brute force"]
    assert query.ours > 0 and query.reference > 0
    recall = rows["10-NN query over 20,000 x 16 codes: recall@10 of the index"]
    assert 0.5 < recall.ours <= 1.0


def test_million_scatter_rows_on_the_tiny_plan(qapp):
    from explorer.bench.gui_million import scatter_million_rows

    rows = {r.measure: r for r in scatter_million_rows(TINY)}
    lasso = rows["scatter of 60,000 points: lasso"]
    assert lasso.ours > 0 and lasso.reference > 0 and "same rows as the reference: True" in lasso.note
    assert rows["scatter of 60,000 points: hover-index build"].ours > 0
    assert rows["scatter of 60,000 points: pan/zoom frame"].ours > 0
    assert rows["scatter of 60,000 points: recolour"].ours > 0


def test_hamming_rows_on_the_tiny_plan():
    from explorer.bench.hamming_rows import hamming_rows

    rows = hamming_rows(TINY)
    assert len(rows) == 2 and all(r.ours > 0 and r.reference > 0 for r in rows)
    assert "same distances: True" in rows[0].note
    assert rows[1].measure == "10-NN query over 20,000 items: 256-bit Hamming vs 16-d float codes (exact L2)"
