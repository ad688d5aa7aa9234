"""`explorer inspect`: one JSON report, atomic --out, one-sentence errors."""

import json

import numpy as np
import pytest

from explorer.cli import main


@pytest.fixture
def faulty_npz(tmp_path):
    """120 images of 3 well-apart classes; item 7's label flipped; item 120 a copy of item 3."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (3, 8, 8))
    labels = np.repeat(np.arange(3), 40)
    images = np.clip(base[labels] + rng.normal(0, 25, (120, 8, 8)), 0, 255)
    images = np.concatenate([images, images[3:4] + 0.4]).round().astype(np.uint8)
    labels = np.concatenate([labels, labels[3:4]])
    labels[7] = 2
    path = tmp_path / "faulty.npz"
    np.savez(path, images=images, labels=labels)
    return str(path)


def _last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_report_finds_the_planted_faults(faulty_npz, capsys, tmp_path):
    out_file = tmp_path / "report.json"
    assert (
        main(
            [
                "inspect",
                "--model",
                "pixels",
                "--data",
                faulty_npz,
                "--cluster",
                "kmeans",
                "--out",
                str(out_file),
            ]
        )
        == 0
    )
    printed = _last_json(capsys)  # with --out only the summary is printed; the report is in the file
    out = json.loads(out_file.read_text())
    assert printed["out"] == str(out_file) and printed["label_issues"] == len(out["label_issues"]) >= 1
    assert printed["duplicate_groups"] == 1 and printed["clusters"] == 3 and printed["count"] == 121
    assert out["label_issues"][0] == {
        "index": 7,
        "label": 2,
        "suggested": 0,
        "score": pytest.approx(out["label_issues"][0]["score"]),
        "confident": True,
        "label_name": "2",
        "suggested_name": "0",
    }
    assert out["label_issues"][0]["score"] > 0.5
    assert [g["indices"] for g in out["duplicates"]["groups"]] == [[3, 120]]
    assert out["duplicates"]["groups"][0]["distances"][0] < 0.05 < out["duplicates"]["threshold"]
    assert out["clusters"]["count"] == 3 and sorted(out["clusters"]["sizes"]) == [40, 40, 41]
    assert out["clusters"]["purity"] == pytest.approx(120 / 121, abs=1e-3)
    assert len(out["outliers"]) == 50 and out["count"] == 121
    assert out["model"] == "pixels" and out["data"] == faulty_npz
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report")]  # no temp left


def test_sampled_search_says_so(faulty_npz, capsys):
    assert (
        main(
            ["inspect", "--model", "pixels", "--data", faulty_npz, "--cluster", "none", "--max-queries", "60"]
        )
        == 0
    )
    out = _last_json(capsys)
    assert out["searched"] == 60 and out["clusters"] is None
    assert any("60 of 121" in n for n in out["notes"])


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--data", "/no/such/data"], "does not exist"),
        (["--k", "0"], "--k"),
        (["--threshold", "-1"], "--threshold"),
        (["--out", "/no/such/folder/r.json"], "Cannot write"),
    ],
)
def test_errors_are_one_sentence_and_exit_2(faulty_npz, capsys, argv, words):
    args = ["inspect", "--model", "pixels", "--data", faulty_npz, "--cluster", "kmeans", *argv]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]  # progress lines may come before it
    assert last.startswith("explorer: ") and words in last and last.count(". ") == 0


def test_duplicates_can_be_searched_in_the_pixels(faulty_npz, capsys, monkeypatch):
    import explorer.commands.evaluate_retrieval as ev

    real = ev.codes_of

    def collapsing(model, data, **kw):  # a "model" whose codes put every item of a class on one point
        if model == "pixels":
            return real(model, data, **kw)
        return np.eye(3, dtype=np.float32)[data.labels] + 1e-4 * np.arange(data.count)[:, None]

    monkeypatch.setattr(ev, "codes_of", collapsing)
    assert main(["inspect", "--model", "collapsing", "--data", faulty_npz, "--cluster", "none"]) == 0
    in_codes = _last_json(capsys)["duplicates"]["groups"]
    assert (
        main(
            [
                "inspect",
                "--model",
                "collapsing",
                "--data",
                faulty_npz,
                "--cluster",
                "none",
                "--duplicates-in",
                "pixels",
            ]
        )
        == 0
    )
    out = _last_json(capsys)
    assert (
        [g["indices"] for g in out["duplicates"]["groups"]] == [[3, 120]] != [g["indices"] for g in in_codes]
    )
    assert any("pixels" in n for n in out["notes"])
