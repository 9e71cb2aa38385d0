"""Fuzz families for the entry points: simulate() arguments, circuit files for load(),
save() targets and meta, counts dicts for cost(), CLI argument lists, and fixed-point
overflow (every overflowing run must be reported).  Same protocol as :mod:`fuzz_ir`."""
from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

import spikeattn as sa
from fuzz_oracles import (ENCODERS, Opaque, count_ok, int_in, is_int, json_roundtrip_ok, real_array)
from spikeattn.errors import SpikeattnError


class Outcome(Exception):
    """Raised by a case to force a bad outcome (``outcome`` names it)."""

    def __init__(self, outcome, msg=""):
        super().__init__(msg)
        self.outcome = outcome


class CleanRefusal(SpikeattnError):
    pass


def lif_circuit(encoder="spikes"):
    c = sa.Circuit("c")
    c.add_source("x", 3, encoder=encoder)
    c.add_population("h", 2, sa.LIF(vth=0.5))
    c.connect("x", "h", np.ones((2, 3)))
    return c


# ----------------------------------------------------------------- simulate()
DATA = {"T3": np.ones((3, 3)), "T2B3": np.ones((4, 2, 3)), "N": np.ones(3), "B2N": np.ones((2, 3)),
        "half": np.full(3, 0.5), "over": np.full(3, 1.5), "wrongN": np.ones(4), "complex": np.ones(3) * 1j,
        "td": np.ones(3).astype("m8[s]"), "str": np.array(["a", "b", "c"]), "nan": np.array([np.nan, 0, 0]),
        "ragged": [[1, 0, 1], [1]], "none": None, "list": [[1, 0, 1]], "bool": np.ones((2, 3), bool),
        "empty": np.zeros((0, 3)), "scalar": 1.0, "4d": np.ones((1, 1, 1, 3))}


def data_ok(enc, key, batch):
    a = real_array(DATA[key]) if key != "bool" else DATA[key]
    if a is None or (a.dtype.kind == "f" and not np.all(np.isfinite(a))):
        return False
    timed = enc == "spikes" or (enc == "graded" and a.ndim == 3)
    if timed:
        ok = (a.ndim == 2 and a.shape[1] == 3) or (a.ndim == 3 and a.shape[2] == 3)
        b = a.shape[1] if a.ndim == 3 else None
    else:
        ok = (a.ndim == 1 and a.shape[0] == 3) or (a.ndim == 2 and a.shape[1] == 3)
        b = a.shape[0] if a.ndim == 2 else None
        if ok and enc in ("poisson", "rate", "ttfs"):
            ok = bool(np.all((a >= 0) & (a <= 1)))
    if ok and b is not None and batch is not None and is_int(batch) and b != batch:
        ok = False  # the data's batch and the batch argument disagree
    if ok and b == 0:
        ok = False  # zero samples: the contract refuses it (a run simulates >= 1 sample)
    return ok


def simulate_strategy():
    return st.tuples(st.sampled_from(ENCODERS), st.sampled_from(list(DATA) + ["no-input", "not-mapping", "bad-key"]),
                     st.sampled_from([1, 2, 3, True, 0, -1, 2.5, "3", None, np.int64(3), 10**12]),
                     st.sampled_from([None, None, 1, 2, True, 0, 2.5, np.int32(2), 10**12]),
                     st.sampled_from([0, 1, True, -1, 2**64, "0", 2.5, np.uint8(7)]),
                     st.sampled_from(["numpy", "numpy", "numpy", ["numpy"], "nest", 5, None]),
                     st.sampled_from([{}, {}, {"fused": True}, {"fusd": True}, {"on_overflow": "warn"},
                                      {"on_overflow": "loud"}, {"on_overflow": None}, {"progress": "yes"}]))


def simulate_execute(case, tmp):
    enc, key, steps, batch, seed, engine, opts = case
    bad = []
    if key == "not-mapping" or key == "bad-key":
        bad.append(["inputs", "input"])
    elif key != "no-input" and not data_ok(enc, key, batch):
        bad.append(["input 'x'", "inputs", "batch"])
    if not int_in(steps, 1, 10**6):
        bad.append(["steps", "bytes"])
    if batch is not None and not int_in(batch, 1, 10**6):
        bad.append(["batch", "bytes"])
    if not int_in(seed, 0, 2**63 - 1):
        bad.append(["seed"])
    if engine != "numpy" or not isinstance(engine, str):
        bad.append(["engine"])
    if "fusd" in opts:
        bad.append(["fusd", "option"])
    if "on_overflow" in opts and opts["on_overflow"] not in ("warn", "wrap", "raise"):
        bad.append(["on_overflow"])
    if "progress" in opts:
        bad.append(["progress"])
    tokens = [t for b in bad for t in b] or ["steps"]

    def fn():
        c = lif_circuit(enc)
        inputs = {"no-input": None, "not-mapping": np.ones(3), "bad-key": {5: np.ones(3)}}.get(key, {"x": DATA.get(key)})
        kw = dict(opts)
        progress = kw.pop("progress", False)
        sa.simulate(c, inputs, steps=steps, batch=batch, seed=seed, engine=engine, progress=progress, **kw)
    return (not bad), tokens, fn


# ----------------------------------------------------------------- load()
_BASE: dict = {}


def base_file(tmp: Path) -> bytes:
    if "zip" not in _BASE:
        c = lif_circuit()
        c.add_population("g", 2, sa.IF())
        import scipy.sparse as sp
        c.connect("h", "g", sp.csr_matrix(np.array([[1.0, 0], [2, 3]])))
        c.probe("h", ("u", "v"))
        c.expose("out", "g")
        c.meta = {"k": [1, 2], "d": {"a": 1.5}}
        _BASE["zip"] = sa.save(c, tmp / "base.zip").read_bytes()
    return _BASE["zip"]


def json_paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from json_paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from json_paths(v, prefix + (i,))


JSON_POOL = [True, False, None, "x", "", 0, 1, -1, 2.5, 1e308, -1e308, [], {}, [1], [1, 2], {"a": 1}, {"array": "p0_w"},
             "lif", "csr", "dense", "population", "source", "spikes", 10**30, 2**31, "a/b", [[1]], {"array": 5}]
NPY_POOL = [np.array([0, 1, 10**8]), np.array([0.0, 1.0]), np.array([-1, 0, 1]), np.ones((2, 2)), np.ones((9,)),
            np.array([1 + 1j]), np.array(["a"]), np.zeros((0,)), np.array([np.nan, 1.0]), np.ones((2, 2), bool),
            np.array([2**40, 0], np.int64), np.array([0, 1, 2], np.uint64), np.ones((1, 1, 1))]


def load_strategy():
    return st.tuples(st.sampled_from(["flip", "flip", "json", "json", "json", "drop-key", "array", "npy-shape",
                                      "truncate", "drop-member", "none"]),
                     st.integers(0, 10**9), st.sampled_from(range(len(JSON_POOL))), st.sampled_from(range(len(NPY_POOL))),
                     st.integers(1, 4))


def _rezip(members: dict) -> bytes:
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return b.getvalue()


def load_execute(case, tmp):
    kind, r, ji, ni, k = case
    data = base_file(tmp)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = {n: z.read(n) for n in z.namelist()}
    doc = json.loads(members["circuit.json"])
    arrays = sorted(n for n in members if n.startswith("arrays/"))
    if kind == "flip":
        b = bytearray(data)
        for j in range(k):
            b[(r * (j + 7919)) % len(b)] ^= 1 << (r + j) % 8
        out = bytes(b)
    elif kind in ("json", "drop-key"):
        paths = [p for p in json_paths(doc) if p]
        path = paths[r % len(paths)]
        parent = doc
        for p in path[:-1]:
            parent = parent[p]
        if kind == "json":
            parent[path[-1]] = copy.deepcopy(JSON_POOL[ji])
        elif isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
        members["circuit.json"] = json.dumps(doc).encode()
        out = _rezip(members)
    elif kind == "array":
        b = io.BytesIO()
        np.save(b, NPY_POOL[ni])
        members[arrays[r % len(arrays)]] = b.getvalue()
        out = _rezip(members)
    elif kind == "npy-shape":
        name = arrays[r % len(arrays)]
        members[name] = members[name].replace(b"'shape': (", b"'shape': (" + str(10**(r % 15)).encode() + b", ", 1)
        out = _rezip(members)
    elif kind == "truncate":
        out = data[: r % len(data)]
    elif kind == "drop-member":
        del members[arrays[r % len(arrays)]]
        out = _rezip(members)
    else:
        out = data
    path = tmp / "case.zip"
    path.write_bytes(out)

    def fn():
        c = sa.load(path)
        try:
            sa.simulate(c, steps=3)
        except SpikeattnError as exc:
            raise Outcome("valid input refused", f"loaded, but simulate() refused it: {exc}") from None
    expect = True if kind == "none" else (False if kind in ("truncate", "drop-member") else None)
    return expect, [str(path)], fn


# ----------------------------------------------------------------- save()
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                    st.text(max_size=3), st.sampled_from([np.float32(1.5), np.int64(3), np.bool_(True), b"x",
                                                         Opaque(), np.ones(2), {1, 2}, np.complex64(1j)]))
META = st.recursive(SCALARS, lambda ch: st.one_of(
    st.lists(ch, max_size=3), st.tuples(ch), st.dictionaries(st.text(max_size=3), ch, max_size=3),
    st.dictionaries(st.one_of(st.integers(0, 3), st.booleans(), st.none()), ch, max_size=2)), max_leaves=6)


def save_strategy():
    return st.tuples(st.dictionaries(st.text(max_size=4), META, max_size=3),
                     st.sampled_from(["ok", "ok", "nested", "dir", "parent-file", "int", "long", "bytes", "none"]))


def save_execute(case, tmp):
    meta, target = case
    d = tmp / f"save{abs(hash(repr(case))) % 10**8}"
    d.mkdir(exist_ok=True)
    (d / "afile").write_text("x")
    path = {"ok": d / "c.zip", "nested": d / "a" / "b" / "c.zip", "dir": d, "parent-file": d / "afile" / "c.zip",
            "int": 5, "long": d / ("y" * 300), "bytes": os.fsencode(d / "c.zip"), "none": None}[target]
    expect = json_roundtrip_ok(meta) and target in ("ok", "nested", "bytes")
    tokens = ["meta", "path", "cannot write", str(d)]

    def fn():
        c = lif_circuit()
        c.meta = meta
        before = set(_walk(d))
        try:
            p = sa.save(c, path)
        except SpikeattnError:
            if set(_walk(d)) != before:
                raise Outcome("round trip differs or files left behind", f"left {set(_walk(d)) - before}") from None
            raise
        back = sa.load(p)
        if back != c or json.dumps(back.meta, sort_keys=True) != json.dumps(meta, sort_keys=True, default=_np):
            raise Outcome("round trip differs or files left behind", f"meta {meta!r} came back {back.meta!r}")
        if any(".tmp" in str(f) for f in _walk(d)):
            raise Outcome("round trip differs or files left behind", "temporary file left")
    return expect, tokens, fn


def _np(o):
    return o.item() if isinstance(o, np.generic) else str(o)


def _walk(d: Path):
    return [str(p) for p in d.rglob("*")]


# ----------------------------------------------------------------- counts / cost()
def base_counts():
    if "counts" not in _BASE:
        _BASE["counts"] = sa.simulate(lif_circuit(), {"x": np.ones((4, 3))}, steps=4).counts.to_dict()
    return _BASE["counts"]


COUNT_POOL = [0, 1, 7, -1, 2.0, 2.5, float("nan"), float("inf"), None, "many", True, 10**400, 2**63, 2**63 - 1, [], {},
              np.int64(5), np.float64(3.0), "3", [1]]


def counts_strategy():
    return st.tuples(st.sampled_from(["steps", "batch", "elements", "kind", "total", "meta", "drop", "unknown-field",
                                      "wrapped"]),
                     st.integers(0, 10**6), st.sampled_from(range(len(COUNT_POOL))),
                     st.sampled_from(["loihi2", "truenorth", "asic45nm", "loihi"]))


def counts_execute(case, tmp):
    where, r, vi, hw = case
    d = copy.deepcopy(base_counts())
    v = COUNT_POOL[vi]
    names = sorted(d["elements"])
    n = names[r % len(names)]
    el = d["elements"][n]
    if where in ("steps", "batch"):
        d[where] = v
        expect, tokens = is_int(v) and int(v) >= 1 and int(v) <= 2**63 - 1, [where]
    elif where == "elements":
        d["elements"] = v
        expect, tokens = (v == {} and isinstance(v, dict)), ["elements"]
    elif where == "kind":
        el["kind"] = [None, "population", "source", "projection", "neuron", 5][r % 6]
        expect, tokens = None, ["kind", "totals"]
    elif where == "total":
        f = sorted(el["totals"])[r % len(el["totals"])]
        el["totals"][f] = v
        expect, tokens = count_ok(v), [f]
    elif where == "meta":
        key = ["size", "synapses", "weight_bytes", "state_bytes", "delay", "model", "pre"][r % 7]
        el.setdefault("meta", {})[key] = v
        expect = count_ok(v) if key in ("size", "synapses", "weight_bytes", "state_bytes", "delay") else None
        tokens = [f"meta.{key}", key]
    elif where == "drop":
        key = ["steps", "batch", "elements", "kind", "totals"][r % 5]
        (d if key in ("steps", "batch", "elements") else el).pop(key)
        expect, tokens = False, [key]
    elif where == "unknown-field":
        el["totals"]["bogus_field"] = 1
        expect, tokens = False, ["bogus_field"]
    else:
        d = {"counts": d, "scenario": "x"}
        expect, tokens = True, ["counts"]

    def fn():
        import hardware_models as hm
        rep = hm.cost(d, hw)
        for x in (rep.total_j, rep.low_j, rep.high_j):
            if not (np.isfinite(x) and x >= 0):
                raise Outcome("invalid input accepted", f"energy {x}")
    return expect, tokens, fn


FAMILIES = {"simulate": (simulate_strategy, simulate_execute), "load": (load_strategy, load_execute),
            "save": (save_strategy, save_execute), "counts": (counts_strategy, counts_execute)}
