"""Save and load circuits as a versioned zip: ``circuit.json`` plus ``arrays/*.npy``.

The JSON holds every scalar and names the arrays; arrays are stored with ``numpy.save``
and read back with ``allow_pickle=False``.  ``load(save(c)) == c`` exactly (dtypes, sparse
structure and all).  Files are written to a temporary file and renamed, so an interrupted
save never leaves a half-written file.  A file whose ``format_version`` is newer than this
spikeattn reads, or that is not a valid circuit zip, raises :class:`FileFormatError`.
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..errors import FileFormatError, SpikeattnError
from ..fileio import atomic_write_bytes
from .circuit import Circuit
from .neurons import model_from_dict
from .population import Population
from .probe import Probe
from .projection import Projection
from .source import SpikeSource

FORMAT = "spikeattn.circuit"
FORMAT_VERSION = 1


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
    projections = []
    for i, p in enumerate(c.projections.values()):
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
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": c.name, "dt": c.dt,
           "nodes": nodes, "projections": projections, "outputs": dict(c.outputs),
           "probes": [{"target": pr.target, "variables": list(pr.variables)} for pr in c.probes],
           "meta": c.meta}
    return doc, arrays.store


def circuit_from_dict(doc: dict, arrays: dict[str, np.ndarray]) -> Circuit:
    def arr(ref):
        try:
            return arrays[ref["array"]]
        except (KeyError, TypeError):
            raise FileFormatError(f"circuit file refers to a missing array {ref!r}; the file is incomplete.") from None

    c = Circuit(doc["name"], doc["dt"])
    for nd in doc["nodes"]:
        if nd["type"] == "population":
            params = {k: (arr(v) if isinstance(v, dict) else v) for k, v in nd["model"]["params"].items()}
            model = model_from_dict({"kind": nd["model"]["kind"], "params": params})
            c.add(Population(nd["name"], tuple(nd["shape"]), model,
                             {k: arr(v) for k, v in nd["initial"].items()}))
        elif nd["type"] == "source":
            c.add(SpikeSource(nd["name"], tuple(nd["shape"]), nd["encoder"], nd["seed"], nd["window"]))
        else:
            raise FileFormatError(f"unknown node type {nd['type']!r} in circuit file.")
    for pd in doc["projections"]:
        w = pd["weights"]
        if w["format"] == "csr":
            weights = sp.csr_matrix((arr(w["data"]), arr(w["indices"]), arr(w["indptr"])), shape=tuple(pd["shape"]))
        else:
            weights = arr(w["data"])
        c.add(Projection(pd["name"], pd["pre"], pd["post"], weights, pd["delay"], pd["message"],
                         pd["weight_exp"], pd["num_weight_bits"], pd["sign_mode"]))
    for pr in doc["probes"]:
        c.add(Probe(pr["target"], tuple(pr["variables"])))
    for port, pop in doc["outputs"].items():
        c.expose(port, pop)
    c.meta = doc.get("meta", {})
    return c.validate()


def save(circuit: Circuit, path: str | os.PathLike) -> Path:
    """Validate and write ``circuit`` to ``path`` (a ``.zip``), atomically."""
    circuit.validate()
    doc, arrays = circuit_to_dict(circuit)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("circuit.json", json.dumps(doc, indent=1))
        for key, a in arrays.items():
            b = io.BytesIO()
            np.save(b, a, allow_pickle=False)
            zf.writestr(f"arrays/{key}.npy", b.getvalue())
    return atomic_write_bytes(path, buf.getvalue())


def load(path: str | os.PathLike) -> Circuit:
    """Read a circuit written by :func:`save`."""
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"circuit file '{path}' does not exist.")
    try:
        with zipfile.ZipFile(path) as zf:
            doc = json.loads(zf.read("circuit.json"))
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise FileFormatError(f"'{path}' is not a spikeattn circuit file (format {doc.get('format')!r}).")
            ver = doc.get("format_version")
            if not isinstance(ver, int) or ver > FORMAT_VERSION:
                raise FileFormatError(f"'{path}' has circuit format version {ver!r}, but this spikeattn reads "
                                      f"versions up to {FORMAT_VERSION}. Upgrade spikeattn to read it.")
            arrays = {}
            for name in zf.namelist():
                if name.startswith("arrays/") and name.endswith(".npy"):
                    arrays[name[7:-4]] = np.load(io.BytesIO(zf.read(name)), allow_pickle=False)
        return circuit_from_dict(doc, arrays)
    except SpikeattnError as exc:
        if isinstance(exc, FileFormatError):
            raise
        raise FileFormatError(f"'{path}' describes an invalid circuit: {exc}") from exc
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, EOFError) as exc:
        raise FileFormatError(f"'{path}' is corrupt or incomplete ({type(exc).__name__}: {exc}).") from exc
