"""Reading a circuit zip defensively: every member's size is checked before it is read,
``.npy`` headers before an array is allocated, JSON for depth and type; every error is a
:class:`~spikeattn.errors.FileFormatError` naming the file and the member (and the JSON
path inside ``circuit.json``).

Limits: ``circuit.json`` at most :data:`MAX_JSON_BYTES`; an array member at most the memory
available now (or :data:`MAX_ARRAY_BYTES`); arrays of real numbers or bools only (no
object, string, structured or time dtypes: nothing is unpickled or interpreted).
"""
from __future__ import annotations

import ast
import io
import json
import math
import zipfile
import zlib

import numpy as np

from ..errors import FileFormatError
from ..validation import available_bytes

MAX_JSON_BYTES = 64 * 2**20
MAX_ARRAY_BYTES = 2**36
MAX_HEADER = 10_000
READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError,
               NotImplementedError, RuntimeError, KeyError, OverflowError, MemoryError)


def short(path, n: int = 200) -> str:
    s = str(path)
    return s if len(s) <= n else s[:n // 2] + "..." + s[-n // 2:]


class FileDoc:
    """Names ``file``, ``member`` and a JSON path in each :meth:`error`."""

    def __init__(self, file, member: str = "circuit.json"):
        self.file, self.member = short(file), member

    def error(self, where: str | None, problem: str, fix: str | None = None) -> FileFormatError:
        loc = f"'{self.file}' member {self.member}" + (f", {where}" if where else "")
        return FileFormatError(f"{loc}: {problem}" + (f" Fix: {fix}" if fix else ""))

    def obj(self, value, where: str, keys: dict[str, tuple] | None = None, optional=()) -> dict:
        """``value`` must be a JSON object; ``keys`` maps each required key to its allowed
        types (``optional`` keys may be missing); unknown keys are refused."""
        if not isinstance(value, dict):
            raise self.error(where, f"is a {_jtype(value)}; expected a JSON object.")
        if keys is not None:
            unknown = sorted(set(value) - set(keys))
            if unknown:
                raise self.error(where, f"has unknown keys {unknown[:5]}; known keys are {sorted(keys)}.")
            for k, types in keys.items():
                if k not in value:
                    if k in optional:
                        continue
                    raise self.error(where, f"has no '{k}' key.", "the file is incomplete or not written by spikeattn.")
                self.typed(value[k], k if where == "top level" else f"{where}.{k}", types)
        return value

    def typed(self, value, where: str, types: tuple):
        if types and not (isinstance(value, types) and not (isinstance(value, bool) and bool not in types)):
            names = "/".join("null" if t is type(None) else _JTYPES.get(t, t.__name__) for t in types)
            raise self.error(where, f"is a {_jtype(value)} ({short(repr(value), 60)}); expected {names}.")
        return value


_JTYPES = {dict: "object", list: "array", str: "string", int: "integer", float: "number", bool: "boolean"}


def _jtype(v) -> str:
    if v is None:
        return "null"
    for t in (bool, dict, list, str, int, float):
        if isinstance(v, t):
            return _JTYPES[t]
    return type(v).__name__


def open_zip(path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except READ_ERRORS as exc:
        raise FileFormatError(f"'{short(path)}' is corrupt or incomplete: not a readable zip file ({type(exc).__name__}: "
                              f"{short(exc, 120)}).") from None


def _read_member(zf: zipfile.ZipFile, path, name: str, limit: int) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise FileFormatError(f"'{short(path)}' has no member {name}; the file is incomplete.") from None
    if info.file_size > limit:
        raise FileFormatError(f"'{short(path)}' member {name}: declares {info.file_size:,} bytes, more than the "
                              f"{limit:,} this reader accepts (or that fit in memory).")
    try:
        data = zf.read(name)
    except READ_ERRORS as exc:
        raise FileFormatError(f"'{short(path)}' member {name} is corrupt or incomplete ({type(exc).__name__}: "
                              f"{short(exc, 120)}).") from None
    if len(data) != info.file_size:
        raise FileFormatError(f"'{short(path)}' member {name}: holds {len(data)} bytes, header says {info.file_size}.")
    return data


def read_json(zf: zipfile.ZipFile, path, name: str = "circuit.json"):
    data = _read_member(zf, path, name, MAX_JSON_BYTES)
    try:
        return json.loads(data.decode("utf-8"))
    except RecursionError:
        raise FileFormatError(f"'{short(path)}' member {name}: JSON nested too deeply.") from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, huge int literals
        raise FileFormatError(f"'{short(path)}' member {name} is not valid JSON ({type(exc).__name__}: "
                              f"{short(exc, 120)}).") from None


def read_npy(data: bytes, path, name: str) -> np.ndarray:
    """Parse a ``.npy`` member: its header's shape and dtype must account for exactly the
    member's bytes before any array is allocated."""
    doc = FileDoc(path, name)
    fh = io.BytesIO(data)
    try:
        major, _ = np.lib.format.read_magic(fh)
        if major == 1:
            hlen = int.from_bytes(fh.read(2), "little")
        elif major in (2, 3):
            hlen = int.from_bytes(fh.read(4), "little")
        else:
            raise ValueError(f"unknown .npy version {major}")
        if hlen > MAX_HEADER:
            raise ValueError(f"header of {hlen} bytes")
        header = ast.literal_eval(fh.read(hlen).decode("latin1"))
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError) as exc:
        raise doc.error(None, f"is not a valid .npy array ({type(exc).__name__}: {short(exc, 100)}).") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise doc.error(None, f"has a malformed .npy header {short(repr(header), 100)}.")
    shape, fortran = header["shape"], header["fortran_order"]
    if (not isinstance(shape, tuple) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                                for s in shape) or not isinstance(fortran, bool)):
        raise doc.error(None, f"declares shape {short(repr(shape), 60)}; expected a tuple of non-negative ints.")
    try:
        dtype = np.dtype(header["descr"]) if isinstance(header["descr"], str) else None
    except (TypeError, ValueError):
        dtype = None
    if dtype is None or dtype.kind not in "biuf" or dtype.hasobject or dtype.fields is not None:
        raise doc.error(None, f"has dtype {short(repr(header['descr']), 40)}; only bool, int, uint and float "
                        "arrays are read.")
    need = math.prod(shape) * dtype.itemsize
    have = len(data) - fh.tell()
    if need != have:
        raise doc.error(None, f"declares shape {shape} of {dtype} ({need:,} bytes) but holds {have:,} bytes of data.")
    arr = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=fh.tell())
    return arr.reshape(shape, order="F" if fortran else "C").copy()


def read_arrays(zf: zipfile.ZipFile, path) -> dict[str, np.ndarray]:
    """Every ``arrays/<key>.npy`` member, by key."""
    avail = available_bytes()
    limit = min(MAX_ARRAY_BYTES, avail // 2) if avail else MAX_ARRAY_BYTES
    out = {}
    for name in zf.namelist():
        if name.startswith("arrays/") and name.endswith(".npy"):
            out[name[7:-4]] = read_npy(_read_member(zf, path, name, limit), path, name)
    return out
