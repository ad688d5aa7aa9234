"""Fuzzers for the paths issue 12 added: the trusted-models store, the .pt2 graph and payload
checks, the model child's reply reader, session path resolution, metadata input shapes."""

from __future__ import annotations

import io
import json
import os
import queue
import tempfile
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from explorer.core.errors import ModelFileError

from ._fuzz import FUZZ, assert_sentence, record

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
# shape expressions: plain arithmetic pieces and Python pieces mixed
expr_parts = st.sampled_from(
    [
        "Symbol('s0', positive=True, integer=True)",
        "s0",
        "2",
        "*",
        "+",
        "//",
        "(",
        ")",
        "Max",
        ",",
        "__import__",
        "('os')",
        ".system",
        "lambda",
        "x",
        ":",
        "[0]",
        "'a'",
        "FloorDiv",
        "Mod",
        " ",
        "getattr",
        "eval",
        "1e5",
        "L['x'].size()[0]",
        "==",
    ]
)


@FUZZ
@given(content=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_fuzz_trust_store(content):
    from explorer.models import trust

    with tempfile.TemporaryDirectory() as d:
        old = os.environ.get("EXPLORER_CONFIG_DIR")
        os.environ["EXPLORER_CONFIG_DIR"] = d
        try:
            with open(os.path.join(d, trust.STORE), "wb") as f:
                f.write(content)
            entries = trust.trusted_entries()
            assert all(isinstance(e["sha256"], str) for e in entries)
            assert not trust.is_trusted("0" * 64) or any(e["sha256"] == "0" * 64 for e in entries)
            trust.remember("1" * 64, "x\x1bname", "a TorchScript program")  # repairs a damaged store
            assert trust.is_trusted("1" * 64)
        finally:
            if old is None:
                os.environ.pop("EXPLORER_CONFIG_DIR", None)
            else:
                os.environ["EXPLORER_CONFIG_DIR"] = old
    record("trust store", "read")


@FUZZ
@given(parts=st.lists(expr_parts, max_size=12), guard=st.booleans(), doc=json_values)
def test_fuzz_pt2_graph_json(parts, guard, doc):
    from explorer.models.archive_checks import check_program_json

    text = "".join(parts)
    graph = {
        "graph_module": {"graph": {"x": [{"expr_str": text}] if not guard else []}, "doc": doc},
        "guards_code": [text] if guard else [],
    }
    try:
        check_program_json(json.dumps(graph).encode(), "m.pt2", "models/model.json")
    except ModelFileError as err:
        assert_sentence(err)
        record("pt2 graph", "refused")
        return
    assert "__" not in text and "lambda" not in text and "eval" not in text and ".system" not in text
    record("pt2 graph", "accepted")


@FUZZ
@given(config=json_values, member=st.binary(max_size=64))
def test_fuzz_pt2_payload_sizes(config, member):
    from explorer.models.archive_checks import check_payload_sizes

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("m/data/weights/model_weights_config.json", json.dumps({"config": config}))
        zf.writestr("m/data/weights/weight_0", member)
    with zipfile.ZipFile(buf) as zf:
        try:
            check_payload_sizes(zf, "m.pt2")
        except ModelFileError as err:
            assert_sentence(err)
            record("pt2 payload sizes", "refused")
            return
    record("pt2 payload sizes", "accepted")


@FUZZ
@given(
    stream=st.binary(max_size=300)
    | st.lists(st.tuples(json_values, st.binary(max_size=16)), max_size=3).map(
        lambda msgs: b"".join(json.dumps(h).encode() + b"\n" + d for h, d in msgs)
    )
)
def test_fuzz_model_child_replies(stream):
    """Whatever a (compromised) model child writes, the parent reads only headers and bytes."""
    from explorer.models.isolated import _read_replies

    out: queue.Queue = queue.Queue()
    _read_replies(io.BytesIO(stream), out)
    items = []
    while not out.empty():
        items.append(out.get())
    assert items[-1] is None and all(isinstance(i, tuple) and isinstance(i[1], bytes) for i in items[:-1])
    record("model child replies", f"{len(items) - 1} message(s)")


@FUZZ
@given(
    specs=st.lists(
        st.text(max_size=12)
        | st.sampled_from(["pixels", "pca:4", "sample:digits", "m.pt", "../m.pt", "~/m.pt", "/abs/m.pt"]),
        max_size=4,
    )
)
def test_fuzz_session_specs_resolve_under_the_session_folder(specs):
    from explorer.core import session as sessions

    folder = os.path.abspath("/some/session/folder")
    for spec in specs:
        got = sessions.resolve_spec(spec, folder)
        if not sessions.is_file_spec(spec) or os.path.isabs(spec) or spec.startswith("~"):
            continue
        assert os.path.isabs(got) and got == os.path.normpath(os.path.join(folder, spec))
    record("session specs", "resolved")


@FUZZ
@given(shape=json_values)
def test_fuzz_metadata_input_shape(shape):
    from explorer.models.checkpoint import checked_input_shape

    try:
        got = checked_input_shape(shape, "m.safetensors")
    except ModelFileError as err:
        assert_sentence(err)
        record("metadata input shape", "refused")
        return
    assert len(got) == 3 and all(isinstance(v, int) and v >= 1 for v in got)
    record("metadata input shape", "accepted")


@pytest.mark.parametrize(
    "text", ["Symbol('s31', positive=True, integer=True)", "2*s0 + 1", "Max(1, s0)", "FloorDiv(s0, 2)"]
)
def test_plain_shape_expressions_pass(text):
    from explorer.models.archive_checks import check_program_json

    check_program_json(json.dumps({"x": {"expr_str": text}}).encode(), "m.pt2", "models/model.json")
