"""The flags several subcommands share come from one helper (commands/_args.py) and mean the same."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from explorer.commands import encode, inspect, project


def _parser(module) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="explorer", exit_on_error=False)
    module.add_arguments(parser)
    return parser


def _option(parser, flag):
    return next(a for a in parser._actions if flag in a.option_strings)


@pytest.mark.parametrize("module", [encode, inspect])
def test_model_data_and_trust_flags_are_the_same(module):
    parser = _parser(module)
    args = parser.parse_args(
        ["--model", "pixels", "--data", "sample:digits", "--trust-model", "--out", "x.npy"]
    )
    assert (args.model, args.data, args.trust_model) == ("pixels", "sample:digits", True)
    assert _option(parser, "--trust-model").help == _option(_parser(encode), "--trust-model").help
    assert _option(parser, "--model").required and _option(parser, "--data").required


@pytest.mark.parametrize("module", [encode, project])
def test_engine_and_address_flags_are_the_same(module):
    parser = _parser(module)
    engine, address = _option(parser, "--engine"), _option(parser, "--address")
    assert engine.choices == ["local", "ray"] and engine.default == "local"
    assert address.default is None and address.metavar == "ADDRESS"
    assert address.help.startswith("with --engine ray: a running cluster (auto, ray://host:10001")


def test_address_without_ray_is_one_sentence(tmp_path, capsys):
    from explorer.cli import main

    codes = tmp_path / "codes.npy"
    np.save(codes, np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32))
    status = main(
        [
            "project",
            "--codes",
            str(codes),
            "--method",
            "pca",
            "--out",
            str(tmp_path / "xy.npy"),
            "--address",
            "auto",
        ]
    )
    assert status == 2
    assert "--address goes with --engine ray." in capsys.readouterr().err
    assert not (tmp_path / "xy.npy").exists()
