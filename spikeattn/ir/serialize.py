"""Save and load circuits as a versioned zip: ``circuit.json`` plus ``arrays/*.npy``.

The JSON holds every scalar and names the arrays; arrays are stored with ``numpy.save``
and read back with ``allow_pickle=False``.  ``load(save(c)) == c`` exactly (dtypes, sparse
structure and all).  Files are written to a temporary file and renamed, so an interrupted
save never leaves a half-written file.  A file whose ``format_version`` is newer than this
spikeattn reads, or that is not a valid circuit zip, raises :class:`FileFormatError` naming
the file and the member (reading is defensive: see :mod:`spikeattn.ir.zipread`).
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..errors import FileFormatError, SpikeattnError, ValidationError
from ..fileio import atomic_write_bytes, check_path
from ..validation import check_csr, check_json_value
from .circuit import Circuit
from .neurons import model_from_dict
from .population import Population
from .probe import Probe
from .projection import Projection
from .source import SpikeSource
from .structured import STRUCTURED_KINDS, StructuredProjection, structured_from_parts
from .zipread import FileDoc, open_zip, read_arrays, read_json, short

FORMAT = "spikeattn.circuit"
#: 2 added structured projections (``"structured"``); a circuit without them is written as
#: version 1, so older readers still read it.
FORMAT_VERSION = 2


class _Arrays:
    def __init__(self):
        self.store: dict[str, np.ndarray] = {}

    def put(self, key: str, arr) -> dict:
        self.store[key] = np.asarray(arr)
        return {"array": key}


def _value(v, arrays: _Arrays, key: str):
    if isinstance(v, np.ndarray):
        return arrays.put(key, v)
    if isinstance(v, np.generic):
        return v.item()
    return v


def circuit_to_dict(c: Circuit) -> tuple[dict, dict[str, np.ndarray]]:
    """The JSON-ready description of ``c`` and the arrays it refers to."""
    arrays = _Arrays()
    nodes = []
    for i, (n, obj) in enumerate(c.nodes().items()):
        if isinstance(obj, Population):
            nodes.append({"type": "population", "name": n, "shape": list(obj.shape),
                          "model": {"kind": obj.model.kind,
                                    "params": {k: _value(v, arrays, f"n{i}_{k}") for k, v in obj.model.params().items()}},
                          "initial": {k: arrays.put(f"n{i}_init_{k}", v) for k, v in obj.initial.items()}})
        else:
            nodes.append({"type": "source", "name": n, "shape": list(obj.shape), "encoder": obj.encoder,
                          "seed": obj.seed, "window": obj.window})
    projections, structured = [], []
    for i, p in enumerate(c.projections.values()):
        if isinstance(p, StructuredProjection):
            structured.append({"kind": p.kind, "params": p.scalars(),
                               "arrays": {k: arrays.put(f"p{i}_{k}", a) for k, a in p.arrays().items()}})
            continue
        d = {"name": p.name, "pre": p.pre, "post": p.post, "delay": p.delay, "message": p.message,
             "weight_exp": p.weight_exp, "num_weight_bits": p.num_weight_bits, "sign_mode": p.sign_mode,
             "shape": list(p.shape)}
        if p.sparse:
            d["weights"] = {"format": "csr", "data": arrays.put(f"p{i}_data", p.weights.data),
                            "indices": arrays.put(f"p{i}_indices", p.weights.indices),
                            "indptr": arrays.put(f"p{i}_indptr", p.weights.indptr)}
        else:
            d["weights"] = {"format": "dense", "data": arrays.put(f"p{i}_w", p.weights)}
        projections.append(d)
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION if structured else 1, "name": c.name, "dt": c.dt,
           "nodes": nodes, "projections": projections, "outputs": dict(c.outputs),
           "probes": [{"target": pr.target, "variables": list(pr.variables)} for pr in c.probes],
           "meta": c.meta}
    if structured:
        doc["structured"] = structured
    return doc, arrays.store


_NUM = (int, float)
_NODE_KEYS = {"population": {"type": (str,), "name": (str,), "shape": (list,), "model": (dict,), "initial": (dict,)},
              "source": {"type": (str,), "name": (str,), "shape": (list,), "encoder": (str,), "seed": (int,),
                         "window": (int, type(None))}}
_PROJ_KEYS = {"name": (str,), "pre": (str,), "post": (str,), "delay": (int,), "message": (str,),
              "weight_exp": (int,), "num_weight_bits": (int,), "sign_mode": (str,), "shape": (list,),
              "weights": (dict,)}
_TOP_KEYS = {"format": (str,), "format_version": (int,), "name": (str,), "dt": _NUM, "nodes": (list,),
             "projections": (list,), "outputs": (dict,), "probes": (list,), "meta": (dict,),
             "structured": (list,)}


def circuit_from_dict(doc: dict, arrays: dict[str, np.ndarray], file="<dict>") -> Circuit:
    """Rebuild a circuit from its JSON description; every error is a :class:`FileFormatError`
    naming ``file``, the member and the JSON path (e.g. ``projections[0].weights``)."""
    fd = FileDoc(file)
    fd.obj(doc, "top level", _TOP_KEYS, optional=("meta", "structured"))

    def arr(ref, where):
        fd.obj(ref, where, {"array": (str,)})
        if ref["array"] not in arrays:
            raise fd.error(where, f"refers to a missing array '{ref['array']}' (no member "
                           f"arrays/{ref['array']}.npy); the file is incomplete.")
        return arrays[ref["array"]]

    def build(where, fn, *args):
        try:
            return fn(*args)
        except FileFormatError:
            raise
        except SpikeattnError as exc:
            raise fd.error(where, f"describes an invalid circuit: {exc}") from None

    c = build("name/dt", Circuit, doc["name"], doc["dt"])
    for i, nd in enumerate(doc["nodes"]):
        where = f"nodes[{i}]"
        fd.obj(nd, where)
        kind = fd.typed(nd.get("type"), f"{where}.type", (str,))
        if kind not in _NODE_KEYS:
            raise fd.error(f"{where}.type", f"unknown node type {kind!r}.", "use 'population' or 'source'.")
        fd.obj(nd, where, _NODE_KEYS[kind])
        where = f"{where} ('{nd['name']}')"
        if kind == "population":
            m = fd.obj(nd["model"], f"{where}.model", {"kind": (str,), "params": (dict,)})
            params = {}
            for k, v in m["params"].items():
                pw = f"{where}.model.params.{k}"
                params[k] = arr(v, pw) if isinstance(v, dict) else fd.typed(v, pw, (bool, int, float, str, list))
            model = build(f"{where}.model", model_from_dict, {"kind": m["kind"], "params": params})
            init = {k: arr(v, f"{where}.initial.{k}") for k, v in nd["initial"].items()}
            build(where, c.add, build(where, Population, nd["name"], tuple(nd["shape"]), model, init))
        else:
            build(where, c.add, build(where, SpikeSource, nd["name"], tuple(nd["shape"]), nd["encoder"],
                                      nd["seed"], nd["window"]))
    for i, pd in enumerate(doc["projections"]):
        where = f"projections[{i}]"
        fd.obj(pd, where, _PROJ_KEYS)
        where = f"{where} ('{pd['name']}')"
        shape = pd["shape"]
        if len(shape) != 2 or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
            raise fd.error(f"{where}.shape", f"is {short(repr(shape), 60)}; expected [post, pre] (two ints >= 0).")
        shape = tuple(shape)
        w = pd["weights"]
        fmt = fd.typed(w.get("format"), f"{where}.weights.format", (str,))
        if fmt == "csr":
            fd.obj(w, f"{where}.weights", {"format": (str,), "data": (dict,), "indices": (dict,), "indptr": (dict,)})
            parts = [arr(w[k], f"{where}.weights.{k}") for k in ("data", "indices", "indptr")]
            data, indices, indptr = build(f"{where}.weights", check_csr, f"projection '{pd['name']}'", shape, *parts)
            weights = sp.csr_matrix((data, indices, indptr), shape=shape)
        elif fmt == "dense":
            fd.obj(w, f"{where}.weights", {"format": (str,), "data": (dict,)})
            weights = arr(w["data"], f"{where}.weights.data")
            if weights.shape != shape:
                raise fd.error(f"{where}.weights", f"array has shape {weights.shape} but the JSON shape is {shape}.")
        else:
            raise fd.error(f"{where}.weights.format", f"is {fmt!r}.", "use 'csr' or 'dense'.")
        proj = build(where, Projection, pd["name"], pd["pre"], pd["post"], weights, pd["delay"], pd["message"],
                     pd["weight_exp"], pd["num_weight_bits"], pd["sign_mode"])
        build(where, c.add, proj)
    for i, sd in enumerate(doc.get("structured", [])):
        where = f"structured[{i}]"
        fd.obj(sd, where, {"kind": (str,), "params": (dict,), "arrays": (dict,)})
        if sd["kind"] not in STRUCTURED_KINDS:
            raise fd.error(f"{where}.kind", f"is {short(repr(sd['kind']), 40)}.", f"use one of {sorted(STRUCTURED_KINDS)}.")
        for k, v in sd["params"].items():
            fd.typed(v, f"{where}.params.{k}", (bool, int, float, str, list))
        parts = {k: arr(v, f"{where}.arrays.{k}") for k, v in sd["arrays"].items()}
        build(where, c.add, build(where, structured_from_parts, sd["kind"], sd["params"], parts))
    for i, pr in enumerate(doc["probes"]):
        fd.obj(pr, f"probes[{i}]", {"target": (str,), "variables": (list,)})
        build(f"probes[{i}]", c.add, build(f"probes[{i}]", Probe, pr["target"], tuple(pr["variables"])))
    for port, pop in doc["outputs"].items():
        fd.typed(pop, f"outputs.{port}", (str,))
        build(f"outputs.{port}", c.expose, port, pop)
    c.meta = doc.get("meta", {})
    return build("circuit", c.validate)


def save(circuit: Circuit, path: str | os.PathLike) -> Path:
    """Validate and write ``circuit`` to ``path`` (a ``.zip``), atomically.

    ``circuit.meta`` must round-trip through JSON exactly (dicts with str keys, lists, str,
    int, finite float, bool, None; numpy scalars are converted to Python ones): tuples,
    int keys, sets and arrays are refused with a :class:`ValidationError` naming the key,
    so that ``load(save(c)) == c`` always holds.  Filesystem failures raise
    :class:`FileWriteError` naming the path; nothing is left behind."""
    if not isinstance(circuit, Circuit):
        raise ValidationError("save()", "circuit", f"is a {type(circuit).__name__}; expected a Circuit.")
    path = check_path(path, "save(): path")
    circuit.validate()
    meta = check_json_value(f"circuit '{circuit.name}'", circuit.meta)
    doc, arrays = circuit_to_dict(circuit)
    doc["meta"] = meta
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("circuit.json", json.dumps(doc, indent=1, allow_nan=False))
        for key, a in arrays.items():
            b = io.BytesIO()
            np.save(b, a, allow_pickle=False)
            zf.writestr(f"arrays/{key}.npy", b.getvalue())
    return atomic_write_bytes(path, buf.getvalue())


def load(path: str | os.PathLike) -> Circuit:
    """Read a circuit written by :func:`save`.  Anything wrong with the file -- not a zip,
    a corrupt member, a newer or invalid ``format_version``, a JSON or ``.npy`` member of
    the wrong shape, type or size, an invalid circuit -- raises :class:`FileFormatError`
    naming the file and the member."""
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        raise FileFormatError(f"load(): path is {short(repr(path), 60)} ({type(path).__name__}); give the path "
                              "(str or Path) of a circuit file.")
    path = Path(path)
    try:
        exists = path.is_file()
    except (OSError, ValueError) as exc:  # name too long, embedded NUL
        raise FileFormatError(f"circuit file '{short(path)}' cannot be opened ({type(exc).__name__}: "
                              f"{short(exc, 80)}).") from None
    if not exists:
        if path.is_dir():
            raise FileFormatError(f"load(): '{short(path)}' is a folder, not a circuit file. Fix: give the path of "
                                  "a .zip written by spikeattn.save().")
        raise FileFormatError(f"circuit file '{short(path)}' does not exist.")
    with open_zip(path) as zf:
        doc = read_json(zf, path)
        fd = FileDoc(path)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            got = doc.get("format") if isinstance(doc, dict) else f"a JSON {type(doc).__name__}"
            raise fd.error(None, f"is not a spikeattn circuit (format {short(repr(got), 40)}).")
        ver = doc.get("format_version")
        if not isinstance(ver, int) or isinstance(ver, bool) or ver < 1:
            raise fd.error("format_version", f"is {short(repr(ver), 40)}; expected an int from 1 to "
                           f"{FORMAT_VERSION}.")
        if ver > FORMAT_VERSION:
            raise fd.error("format_version", f"the file has circuit format version {ver}, but this spikeattn reads versions up to "
                           f"{FORMAT_VERSION}.", "Upgrade spikeattn to read it.")
        arrays = read_arrays(zf, path)
    return circuit_from_dict(doc, arrays, path)
