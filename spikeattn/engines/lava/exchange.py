"""Files exchanged between the bridge (any Python) and the worker (``.venv-lava``).

A job folder holds ``circuit.zip`` (:func:`spikeattn.ir.save`), ``inputs.npz`` (encoded
inputs, one array per source) and ``job.json`` (steps, batch, seed, engine options, and
the source name of each array).  A result folder holds ``result.npz`` (spikes, probes and
every EventCounts field as plain arrays) and ``result.json`` (names, metas, wall time);
or ``error.json`` (the exception type and message) when the worker failed cleanly.
Everything is read with ``allow_pickle=False``; files are written atomically.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from ...counts import ElementCounts, EventCounts
from ...errors import FileFormatError
from ...ir import Circuit, load, save
from ...ir.serialize import atomic_write_bytes
from ...result import SimResult


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def _write_json(path: Path, doc: dict) -> None:
    atomic_write_bytes(path, json.dumps(doc, indent=1).encode())


def _read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"Lava bridge file '{path}' is missing or corrupt ({exc}).") from None


def write_job(folder: Path, circuit: Circuit, inputs: dict, steps: int, batch: int, seed: int,
              options: dict) -> None:
    folder = Path(folder)
    save(circuit, folder / "circuit.zip")
    names = list(inputs)
    _write_npz(folder / "inputs.npz", {f"i{k}": np.asarray(inputs[n]) for k, n in enumerate(names)})
    _write_json(folder / "job.json", {"steps": steps, "batch": batch, "seed": seed, "options": options,
                                      "inputs": names})


def read_job(folder: Path) -> tuple[Circuit, dict, int, int, int, dict]:
    folder = Path(folder)
    job = _read_json(folder / "job.json")
    circuit = load(folder / "circuit.zip")
    with np.load(folder / "inputs.npz", allow_pickle=False) as z:
        inputs = {n: z[f"i{k}"] for k, n in enumerate(job["inputs"])}
    return circuit, inputs, job["steps"], job["batch"], job["seed"], job["options"]


def write_result(folder: Path, res: SimResult) -> None:
    folder = Path(folder)
    arrays, doc = {}, {"steps": res.steps, "batch": res.batch, "dt": res.dt, "engine": res.engine,
                       "wall_s": res.wall_s, "meta": res.meta, "spikes": [], "probes": [], "counts": []}
    for k, (n, a) in enumerate(res.spikes.items()):
        arrays[f"s{k}"] = a
        doc["spikes"].append(n)
    for k, (n, d) in enumerate(res.probes.items()):
        for j, (var, a) in enumerate(d.items()):
            arrays[f"p{k}_{j}"] = a
            doc["probes"].append([n, var, f"p{k}_{j}"])
    for k, (n, e) in enumerate(res.counts.elements.items()):
        fields = []
        for j, (f, a) in enumerate(e.fields.items()):
            arrays[f"c{k}_{j}"] = a
            fields.append([f, f"c{k}_{j}"])
        doc["counts"].append({"name": n, "kind": e.kind, "meta": e.meta, "fields": fields})
    _write_npz(folder / "result.npz", arrays)
    _write_json(folder / "result.json", doc)


def read_result(folder: Path) -> SimResult:
    folder = Path(folder)
    doc = _read_json(folder / "result.json")
    with np.load(folder / "result.npz", allow_pickle=False) as z:
        spikes = {n: z[f"s{k}"] for k, n in enumerate(doc["spikes"])}
        probes: dict[str, dict[str, np.ndarray]] = {}
        for n, var, key in doc["probes"]:
            probes.setdefault(n, {})[var] = z[key]
        counts = EventCounts(doc["steps"], doc["batch"])
        for el in doc["counts"]:
            counts.elements[el["name"]] = ElementCounts(el["kind"], {f: z[key] for f, key in el["fields"]},
                                                        el["meta"])
    return SimResult(spikes=spikes, probes=probes, counts=counts, steps=doc["steps"], batch=doc["batch"],
                     dt=doc["dt"], engine=doc["engine"], wall_s=doc["wall_s"], meta=doc["meta"])


def write_error(folder: Path, exc: BaseException) -> None:
    _write_json(Path(folder) / "error.json", {"type": type(exc).__name__, "message": str(exc)})


def read_error(folder: Path) -> dict | None:
    path = Path(folder) / "error.json"
    return _read_json(path) if path.is_file() else None
