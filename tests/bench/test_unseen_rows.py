"""The unseen-classes bench rows run end to end on the tiny plan (train on 0-4, verify 5-9)."""

from __future__ import annotations

from explorer.bench.plan import TINY


def test_unseen_rows_on_the_tiny_plan():
    from explorer.bench.unseen_rows import unseen_rows

    rows = unseen_rows(TINY)
    assert [r.measure.rsplit(": ", 1)[1] for r in rows] == ["AUC", "EER", "TAR at FAR 1e-2"]
    auc, eer, tar = rows
    assert "train on classes 0-4" in auc.measure and "verify all pairs of 5-9" in auc.measure
    assert 0.5 < auc.reference < 1.0 and 0.0 < auc.ours <= 1.0  # pixels and the model on the same pairs
    assert auc.lower_is_better is False and isinstance(auc.met, bool)
    assert 0.0 < eer.reference < 50.0 and 0.0 <= eer.ours <= 100.0 and eer.unit == "%"
    assert 0.0 <= tar.ours <= 1.0 and tar.met is None
    assert "triplet defaults, 1 epochs" in auc.note
