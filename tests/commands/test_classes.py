"""`--classes`: train on some classes, verify on the others."""

import json

import numpy as np
import pytest

from explorer.cli import main
from explorer.commands._classes import class_indices, select_classes
from explorer.core.errors import DataError
from explorer.core.imageset import ImageSet


def test_class_specs():
    names = [str(k) for k in range(10)]
    assert class_indices("0-4", names, 10) == [0, 1, 2, 3, 4]
    assert class_indices("7, 2-3,2", names, 10) == [2, 3, 7]
    assert class_indices("cat,dog-2", ["dog-2", "cat", "x"], 3) == [0, 1]  # a name wins over a range
    assert class_indices("1", [], 3) == [1]  # no names: indices
    for bad in ("10", "5-12", "cow", "4-2", " , "):
        with pytest.raises(DataError):
            class_indices(bad, names, 10)


def test_select_classes_keeps_labels_and_names_the_subset():
    data = ImageSet(np.zeros((6, 1, 2, 2), np.uint8), np.array([0, 1, 2, 0, 1, 2]), ["a", "b", "c"], name="s")
    sub = select_classes(data, "a,2")
    assert sub.count == 4 and sorted(set(sub.labels)) == [0, 2] and sub.class_names == ["a", "b", "c"]
    assert sub.name == "s[classes a,2]"


def test_train_on_some_classes_verify_on_the_others(tmp_path, capsys):
    out = tmp_path / "t.safetensors"
    args = ["train", "--model", "triplet", "--data", "sample:digits", "--classes", "0-4", "--epochs", "1"]
    args += ["--out", str(out), "--option", "channels=[8]", "--option", "hidden=16", "--weight-decay", "1e-3"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["data"].endswith("[classes 0-4]") and summary["weight_decay"] == 1e-3
    ev = ["evaluate", "verification", "--model", str(out), "--data", "sample:digits", "--classes", "5-9"]
    assert main(ev) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    n = 1797 - 901  # digits 5..9 in sklearn's digits
    assert abs(result["pairs"] - n * (n - 1) // 2) < 200 * n and 0.5 < result["auc"] <= 1
    assert result["tar_at_far_1e_2"] is not None
    assert (
        main(["train", "--model", "triplet", "--data", "sample:digits", "--classes", "11", "--out", str(out)])
        == 2
    )
    assert "no class 11" in capsys.readouterr().err
