"""`explorer bench` at tiny sizes: the rows run, the JSON line has every key, a failure is a row."""

import json

from explorer.bench import runner
from explorer.cli import main

ROW_KEYS = {"measure", "ours", "reference", "ratio", "target", "met", "unit", "note"}


def test_bench_json_has_every_row_key(capsys, monkeypatch, qapp):
    def broken(plan):
        raise RuntimeError("boom")

    # the slow sections (t-SNE, UMAP in fresh processes, start-up, stall) are left out here;
    # one section is made to fail to show it becomes a row instead of ending the run
    sections = [s if s[0] != "stall" else (*s[:5], broken) for s in runner.SECTIONS]
    monkeypatch.setattr(runner, "SECTIONS", sections)
    assert main(["bench", "--plan", "tiny", "--json", "--only", "scatter,knn,training,encode,stall"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["plan"] == "tiny"
    assert report["machine"]["nproc"] >= 1 and len(report["machine"]["loadavg"]) == 3
    rows = {r["measure"]: r for r in report["rows"]}
    for r in rows.values():
        assert ROW_KEYS <= set(r)
    knn = rows["exact 10-NN query over 5,000 x 8 codes"]
    assert knn["ours"] > 0 and knn["reference"] > 0 and knn["met"] is True
    assert abs(knn["ratio"] - knn["ours"] / knn["reference"]) < 1e-9
    train = rows["training throughput: GUI worker vs `explorer train`"]
    assert train["ours"] > 0 and train["reference"] > 0 and isinstance(train["met"], bool)
    scatter = [r for m, r in rows.items() if m.startswith("scatter pan/zoom frame")]
    assert len(scatter) == 2 and all(r["reference"] > 0 for r in scatter)
    assert any(m.startswith("encode throughput") and r["ours"] > 0 for m, r in rows.items())
    stall = rows["longest GUI event-loop stall, training + t-SNE"]  # the section's failure row
    assert stall["met"] is None and stall["ours"] is None and "boom" in stall["note"]
