"""polish2 / issue 13: a short dae run on photos sent a quarter of them to one code and nothing
said so. check_codes measures it on numbers; the engine's summary and the CLI say it."""

import json

import numpy as np
import pytest

from explorer.training.code_check import CodeCheck, check_codes, code_sentence, effective_rank


def _images(n, rng):
    return rng.random((n, 1, 8, 8)).astype(np.float32)


def test_items_sharing_one_code_are_counted():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(100, 16))
    codes[:30] = 0.25  # 30 different images, one code (the bias of a network with every unit off)
    check = check_codes(codes, _images(100, rng))
    assert check.items == 100 and check.dims == 16
    assert check.same_code_share == pytest.approx(0.30)
    assert check.collapsed
    assert code_sentence(check, 36) == (
        "Many images got the same code (30%): the run was short (36 steps); "
        "train longer or with a smaller learning rate."
    )
    assert "after 5,000 steps" in code_sentence(check, 5000)  # a long run: not "short"


def test_the_same_image_twice_may_have_the_same_code():
    rng = np.random.default_rng(1)
    images = _images(100, rng)
    images[10:20] = images[10]  # ten copies of one image ...
    codes = rng.normal(size=(100, 8))
    codes[10:20] = codes[10]  # ... with one code: not a collapse
    codes[20:23] = codes[30] + 1e-9  # three others equal to another's within the codes' 1e-6
    check = check_codes(codes, images)
    assert check.same_code_share == pytest.approx(4 / 100)  # items 20-22 and 30
    assert not check.collapsed and code_sentence(check, 10) is None


def test_distinct_codes_pass_and_flat_codes_of_rich_images_do_not():
    rng = np.random.default_rng(2)
    images = _images(200, rng)
    fine = check_codes(rng.normal(size=(200, 32)), images)
    assert fine.same_code_share == 0 and fine.code_rank > 20 and not fine.collapsed
    line = np.outer(rng.normal(size=200), rng.normal(size=32)) + 1e-3 * rng.normal(size=(200, 32))
    flat = check_codes(line, images)
    assert flat.same_code_share == 0 and flat.code_rank < 1.01 and flat.input_rank > 30
    assert flat.collapsed
    assert code_sentence(flat, 20).startswith("The codes vary along about one direction (effective rank 1.0")
    # a code of one number is "flat" by nature
    assert not check_codes(rng.normal(size=(200, 1)), images).collapsed


def test_effective_rank_counts_directions():
    rng = np.random.default_rng(3)
    assert effective_rank(rng.normal(size=(4000, 5))) == pytest.approx(5, rel=0.05)
    assert effective_rank(np.ones((10, 3))) == 0.0
    wide = rng.normal(size=(50, 400))  # more columns than rows: the Gram matrix's eigenvalues
    assert effective_rank(wide) == pytest.approx(effective_rank(wide.T.copy().T), rel=1e-6)
    assert CodeCheck(1, 4, 0.0, 0.0, None).collapsed is False


COLLAPSES = ("Many images got the same code (", "The codes vary along about one direction (")


def _collapsed(code_check: dict) -> bool:
    """dae at a learning rate of 0.05 collapses one of two ways, by the machine's float path: its
    units all off (one code for every image), or all but one direction nearly off (one machine's
    CPU, 2 Dec 2026: rank 1.0, no two codes equal). Either is CodeCheck's collapse."""
    return CodeCheck(**code_check).collapsed


def test_a_collapsed_run_says_so_in_its_summary_and_the_cli_prints_it(tmp_path, capsys):
    """dae on 300 digits, 3 epochs at a learning rate of 0.05: the codes collapse."""
    from explorer.cli import main
    from explorer.core.progress import run_to_end
    from explorer.data import load_data
    from explorer.training.engine import TrainConfig, train

    digits = load_data("sample:digits").subset(np.arange(300))
    result = run_to_end(train(TrainConfig(model="dae", epochs=3, lr=0.05, seed=0), digits))
    assert _collapsed(result.summary["code_check"])
    assert result.summary["warning"].startswith(COLLAPSES)
    assert "the run was short (15 steps)" in result.summary["warning"]
    healthy = run_to_end(train(TrainConfig(model="dae", epochs=3, seed=0), load_data("sample:digits")))
    assert healthy.summary["code_check"]["same_code_share"] == 0 and "warning" not in healthy.summary
    assert healthy.summary["code_check"]["code_rank"] > 1.5
    # the CLI prints the sentence on standard error (and the summary, with it, as JSON)
    out = tmp_path / "m.safetensors"
    args = ["train", "--model", "dae", "--data", "sample:digits", "--epochs", "1", "--lr", "0.05"]
    assert main([*args, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert "the run was short (26 steps)" in summary["warning"]
    assert summary["warning"] in captured.err.splitlines()


def test_the_checkpoint_holds_the_code_check_and_its_warning(tmp_path):
    """The summary is also written into the checkpoint: with the code check and its sentence
    (the checkpoint was written before the check, so its summary had neither)."""
    from explorer.core.progress import run_to_end
    from explorer.data import load_data
    from explorer.models.checkpoint import load
    from explorer.training.engine import TrainConfig, train

    digits = load_data("sample:digits").subset(np.arange(300))
    path = str(tmp_path / "collapsed.safetensors")
    config = TrainConfig(model="dae", epochs=3, lr=0.05, seed=0, checkpoint=path)
    result = run_to_end(train(config, digits))
    saved = load(path).summary
    assert saved["code_check"] == result.summary["code_check"]
    assert _collapsed(saved["code_check"])
    assert saved["warning"] == result.summary["warning"] and saved["stopped"] == "completed"
