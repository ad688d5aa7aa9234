"""The analogy bench row: a model's next-view nmse beside copying on the same quadruples."""

from explorer.bench.analogy_rows import analogy_rows
from explorer.bench.plan import TINY


def test_analogy_row_puts_the_model_beside_copying(tmp_path, monkeypatch):
    from explorer.data import turntable as tt
    from explorer.models.basis_gae import BasisGaeConfig, BasisGatedAutoencoder
    from explorer.models.checkpoint import save

    monkeypatch.setitem(tt.SETS, "turntable-test", ("test", 32, 2, 5, False))  # 2 objects, 5 views
    path = str(tmp_path / "bgae.safetensors")
    save(path, BasisGatedAutoencoder(BasisGaeConfig(width=4, depth=1), (1, 32, 32)), summary={}, name="tiny")
    (row,) = analogy_rows(TINY, path)
    assert row.ours > 0 and row.reference > 0 and isinstance(row.met, bool)
    assert row.met == (row.ours / row.reference <= 0.5) and "mean" in row.note
    (missing,) = analogy_rows(TINY, str(tmp_path / "none.safetensors"))
    assert missing.ours is None and missing.met is None and "not built" in missing.note
