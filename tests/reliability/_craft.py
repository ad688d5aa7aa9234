"""Builders of hostile and damaged model files for the reliability tests (nothing here runs them)."""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import zipfile


class SystemCall:
    """Unpickling this runs ``os.system(cmd)``."""

    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


class OpenFile:
    """Unpickling this runs ``builtins.open(path, "w")`` (creates the file)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def payloads(marker: str) -> dict[str, bytes]:
    """Pickles that create ``marker`` when unpickled, spelled in different ways."""
    stack_global = (  # protocol 4, names pushed as memoized strings, then STACK_GLOBAL + REDUCE
        b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93\x94"
        + b"\x8c"
        + bytes([len(f"touch {marker}")])
        + f"touch {marker}".encode()
        + b"\x94\x85\x94R\x94."
    )
    obfuscated = (  # the module name fetched back from the memo, as picklers do for repeats
        b"\x80\x04\x8c\x08builtins\x94\x8c\x04open\x94\x93\x94"
        + b"\x8c"
        + bytes([len(marker)])
        + marker.encode()
        + b"\x94\x8c\x01w\x94\x86\x94R\x94."
    )
    return {
        "os.system/proto2": pickle.dumps(SystemCall(f"touch {marker}"), protocol=2),
        "open/proto2": pickle.dumps(OpenFile(marker), protocol=2),
        "open/proto5": pickle.dumps(OpenFile(marker), protocol=5),
        "os.system/proto0": pickle.dumps(SystemCall(f"touch {marker}"), protocol=0),
        "stack_global": stack_global,
        "stack_global_memo": obfuscated,
    }


def replace_members(src: bytes, replace: dict[str, bytes]) -> bytes:
    """A copy of the zip archive ``src`` with members whose names end with a key replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(src)) as zi, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zo:
        for info in zi.infolist():
            data = zi.read(info.filename)
            for suffix, new in replace.items():
                if info.filename.endswith(suffix):
                    data = new
            zo.writestr(info, data)
    return out.getvalue()


def safetensors_bytes(header: dict, data: bytes, header_len: int | None = None) -> bytes:
    raw = json.dumps(header).encode()
    n = len(raw) if header_len is None else header_len
    return struct.pack("<Q", n) + raw + data
