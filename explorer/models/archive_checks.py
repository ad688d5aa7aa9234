"""Second-line checks of program archives (TorchScript, .pt2), run after the trust gate and before
torch reads anything. They catch known tricks; they cannot prove a program harmless (that is what
the trust gate in explorer/models/trust.py is for).

  file_op(code)                     a torch operator that touches files in TorchScript / graph code,
                                    after comments, line continuations and whitespace are removed
  check_payload_sizes(zf, where)    .pt2 weights/constants: declared tensor sizes must fit the bytes
                                    the archive holds (torch.zeros(declared) otherwise: gigabytes)
  check_program_json(data, where)   .pt2 graph JSON: shape expressions (handed to sympy.sympify,
                                    which evaluates Python) and guard code must be plain arithmetic

All raise :class:`explorer.core.errors.ModelFileError` with one sentence.
"""

from __future__ import annotations

import json
import math
import os
import re
import zipfile

from explorer.core.errors import ModelFileError

_FILE_OP = re.compile(rb"(?:torch|aten)\.(?:save|from_file)\b")
_FILE_NAMES = {"save", "from_file"}


def file_op(code: bytes, where: str = "", member: str = "") -> str | None:
    """'torch.save' / 'torch.from_file' (or aten.) if ``code`` calls one, however it is spelled
    across lines, comments, line continuations and spaces; else None.

    The code is read with Python's tokenizer (TorchScript source and graph code are Python
    syntax), so comments and strings are told apart from code; code the tokenizer cannot read is
    refused (ModelFileError), since TorchScript could not compile it either."""
    import io
    import tokenize

    plain = _FILE_OP.search(re.sub(rb"\\\r?\n|\s+", b"", code))  # the plain spelling, anywhere
    if plain:
        return plain.group(0).decode("ascii", "replace")
    if not member.endswith(".py"):
        return None  # JSON graphs: the plain search above is all that applies
    try:
        toks = [
            t for t in tokenize.tokenize(io.BytesIO(code).readline) if t.type in (tokenize.NAME, tokenize.OP)
        ]
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, ValueError):
        raise ModelFileError(
            f"{where} holds code that cannot be read ({member}); explorer refuses to open it."
        ) from None
    for a, b, c in zip(toks, toks[1:], toks[2:]):
        if a.string in ("torch", "aten") and b.string == "." and c.string in _FILE_NAMES:
            return f"{a.string}.{c.string}"
    return None


# ---- declared tensor sizes against the archive --------------------------------------------------
# bytes per element of torch._export.serde.schema.ScalarType (unknown codes count as 1 byte)
_ITEMSIZE = {
    1: 1,
    2: 1,
    3: 2,
    4: 4,
    5: 8,
    6: 2,
    7: 4,
    8: 8,
    9: 4,
    10: 8,
    11: 16,
    12: 1,
    13: 2,
    28: 2,
    29: 1,
    30: 1,
    31: 1,
    32: 1,
    33: 1,
    34: 4,
    35: 8,
}
MAX_CONFIG_BYTES = 64_000_000


def _dim(entry) -> int:
    """One serialized size ({"as_int": n} or {"as_expr": {..., "hint": {"as_int": n}}})."""
    if isinstance(entry, dict):
        if isinstance(entry.get("as_int"), int):
            return entry["as_int"]
        hint = (entry.get("as_expr") or {}).get("hint") or {}
        if isinstance(hint.get("as_int"), int):
            return hint["as_int"]
    raise ValueError("size")


def check_payload_sizes(zf: zipfile.ZipFile, where: str) -> None:
    """Refuse a .pt2 whose weights/constants config declares tensors bigger than their members."""
    members = {info.filename: info for info in zf.infolist()}
    for info in members.values():
        base = os.path.basename(info.filename)
        if not (base.endswith("_config.json") and ("weights" in base or "constants" in base)):
            continue
        if info.file_size > MAX_CONFIG_BYTES:
            raise ModelFileError(f"{where} is damaged: {info.filename} is implausibly large.")
        try:
            config = json.loads(zf.read(info)).get("config", {})
        except (ValueError, AttributeError, RecursionError):
            continue  # torch refuses a config it cannot read, before allocating
        folder = os.path.dirname(info.filename)
        for key, entry in config.items() if isinstance(config, dict) else []:
            if not isinstance(entry, dict) or entry.get("use_pickle"):
                continue
            meta = entry.get("tensor_meta") or {}
            try:
                sizes = [_dim(s) for s in meta.get("sizes", [])]
                strides = [_dim(s) for s in meta.get("strides", [])] or None
                offset = _dim(meta.get("storage_offset", {"as_int": 0}))
            except (ValueError, TypeError, AttributeError):
                raise ModelFileError(
                    f"{where} is damaged: the size of {_short(key)} is not a number."
                ) from None
            if any(s < 0 for s in sizes) or offset < 0:
                raise ModelFileError(f"{where} is damaged: {_short(key)} has a negative size.")
            if 0 in sizes:
                continue
            if strides and len(strides) == len(sizes):
                elements = offset + sum((s - 1) * abs(t) for s, t in zip(sizes, strides)) + 1
            else:
                elements = math.prod(sizes)
            need = elements * _ITEMSIZE.get(meta.get("dtype"), 1)
            member = members.get(os.path.join(folder, str(entry.get("path_name", ""))).replace(os.sep, "/"))
            have = member.file_size if member is not None else 0
            if need > have:
                raise ModelFileError(
                    f"{where} declares {_short(key)} as {_mb(need)} but holds {_mb(have)} of it, so "
                    "explorer refuses to open it (it would allocate memory the file does not hold)."
                )


def _short(text: object) -> str:
    from explorer.models.trust import printable

    return printable(text, 60)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n} bytes"


# ---- shape expressions and guards ---------------------------------------------------------------
# names torch.export's deserializer hands to sympy, plus sympy's own constructors and flags
SYMPY_NAMES = {
    "Symbol",
    "Integer",
    "Rational",
    "Float",
    "Mul",
    "Add",
    "Pow",
    "Max",
    "Min",
    "Abs",
    "Eq",
    "Ne",
    "Lt",
    "Le",
    "Gt",
    "Ge",
    "And",
    "Or",
    "Not",
    "Piecewise",
    "oo",
    "zoo",
    "nan",
    "true",
    "false",
    "True",
    "False",
    "None",
    "positive",
    "integer",
    "nonnegative",
    "real",
    "finite",
    "FloorDiv",
    "ModularIndexing",
    "Where",
    "PythonMod",
    "Mod",
    "CleanDiv",
    "CeilToInt",
    "FloorToInt",
    "CeilDiv",
    "LShift",
    "RShift",
    "PowByNatural",
    "FloatPow",
    "FloatTrueDiv",
    "IntTrueDiv",
    "IsNonOverlappingAndDenseIndicator",
    "TruncToFloat",
    "TruncToInt",
    "RoundToInt",
    "RoundDecimal",
    "ToFloat",
    "Identity",
    "OpaqueUnaryFn_sqrt",
    "sqrt",
}
GUARD_NAMES = {
    "L",
    "size",
    "stride",
    "storage_offset",
    "dim",
    "numel",
    "len",
    "and",
    "or",
    "not",
    "is",
    "in",
    "None",
    "True",
    "False",
    "int",
    "float",
    "bool",
    "min",
    "max",
    "abs",
}
_SYMBOL = re.compile(r"[a-z]{1,8}\d+\Z")  # s0, s31, u2, ...
_TOKEN = re.compile(
    r"""\s+|'[A-Za-z_][A-Za-z0-9_]*'|"[A-Za-z_][A-Za-z0-9_]*"|\d+(?:\.\d+)?(?:e[+-]?\d+)?|"""
    r"""[A-Za-z_][A-Za-z0-9_]*|\*\*|//|==|!=|<=|>=|[-+*/%()<>,=\[\]!]"""
)
_MEMBER = re.compile(r"\.(size|stride|storage_offset|dim|numel)\(")


def _plain(text: str, names: set[str], guard: bool) -> bool:
    """True when ``text`` is made only of numbers, operators, quoted plain names and ``names``."""
    if "__" in text or len(text) > 20_000:
        return False
    if guard:
        text = _MEMBER.sub(" size(", text)  # L['x'].size()[0]: the one attribute access allowed
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            return False
        tok = m.group(0)
        if (tok[0].isalpha() or tok[0] == "_") and tok not in names and not _SYMBOL.match(tok):
            return False
        pos = m.end()
    return True


def check_program_json(data: bytes, where: str, member: str) -> None:
    """Refuse a .pt2 graph whose shape expressions or guards are more than arithmetic."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return  # torch refuses it too, without evaluating anything
    bad = None
    stack = [doc]
    seen = 0
    while stack and bad is None:
        node = stack.pop()
        seen += 1
        if seen > 5_000_000:
            raise ModelFileError(f"{where} is damaged: {member} is implausibly large.")
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "expr_str" and isinstance(value, str) and not _plain(value, SYMPY_NAMES, False):
                    bad = value
                elif key == "guards_code" and isinstance(value, list):
                    bad = next(
                        (g for g in value if not (isinstance(g, str) and _plain(g, GUARD_NAMES, True))), None
                    )
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    if bad is not None:
        raise ModelFileError(
            f"{where} holds a shape expression or guard that is not plain arithmetic ({_short(bad)!r} "
            f"in {member}); torch would evaluate it as Python, so explorer refuses to open it."
        )
