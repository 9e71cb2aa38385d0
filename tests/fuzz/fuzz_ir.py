"""Fuzz families for the IR: constructor arguments, mutation after construction, CSR
structure.  Each family is ``(strategy, execute)``; ``execute(case, tmp)`` returns
``(expect, tokens, fn)``: whether the spec (``fuzz_oracles``) says the case is valid
(True/False/None = unknown), the words one of which an error must contain (the field), and
the function to run."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st

import spikeattn as sa
from fuzz_oracles import (POOL, PROJECTION_SCALARS, SOURCE_FIELDS, choice_ok, csr_ok, dense_weights_ok, initial_ok,
                          lif_param_ok, loihi_param_ok, name_ok, real_array, scalar_real_ok, shape_ok, size_of)

VALUES = st.one_of(st.sampled_from(POOL), st.integers(-(2**70), 2**70), st.integers(-3, 10),
                   st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=4),
                   st.lists(st.integers(-3, 6), max_size=4), st.tuples(st.integers(-2, 6), st.integers(-2, 6)),
                   st.lists(st.floats(-2, 2), min_size=2, max_size=2))
LIF_FIELDS = ["du", "dv", "vth", "bias", "v_reset", "reset", "refractory"]
LOIHI_FIELDS = ["du", "dv", "vth", "bias_mant", "bias_exp"]
COMMON = ["circuit.name", "circuit.dt", "source.shape", "source.encoder", "source.seed", "source.window",
          "population.shape", "population.initial", "population.initial_obj", "projection.weights",
          "probe.variables", "probe.target", "expose", "include.prefix", "include.bind"] + \
         [f"projection.{f}" for f in PROJECTION_SCALARS]
SMALL = 10_000


def tokens_for(field: str) -> list[str]:
    last = field.split(".")[-1]
    return {"initial_obj": ["initial"], "expose": ["population", "port"], "prefix": ["name", "prefix"],
            "target": ["target", "probe"], "name": ["name"]}.get(last, [last])


def _inputs(src):
    n = src.size
    if src.encoder == "spikes":
        return np.ones((3, n))
    if src.encoder == "graded":
        return np.ones(n)
    return np.full(n, 0.5)


def _small(c) -> bool:
    return all(n.size <= SMALL for n in c.nodes().values())


def _run(c):
    c.validate()
    if _small(c):
        sa.simulate(c, {"x": _inputs(c.node("x"))}, steps=3)


def ir_strategy():
    return st.booleans().flatmap(lambda fixed: st.tuples(
        st.just(fixed), st.sampled_from(COMMON + [f"model.{f}" for f in (LOIHI_FIELDS if fixed else LIF_FIELDS)]),
        VALUES))


def other_circuit(fixed):
    o = sa.Circuit("o")
    o.add_source("x", 3)
    o.add_population("p", 3, sa.LoihiLIF() if fixed else sa.LIF())
    o.connect("x", "p", np.ones((3, 3)))
    return o


def ir_execute(case, tmp):
    fixed, field, v = case
    model_cls = sa.LoihiLIF if fixed else sa.LIF
    pick = lambda f, default: v if field == f else default  # noqa: E731
    src_kw = {f: pick(f"source.{f}", d) for f, d in (("encoder", "spikes"), ("seed", 0), ("window", None))}
    params = {field[6:]: v} if field.startswith("model.") else {}
    pop_shape, src_shape = pick("population.shape", 2), pick("source.shape", 3)
    size_h = size_of(pop_shape) if shape_ok(pop_shape) else 2
    size_x = size_of(src_shape) if shape_ok(src_shape) else 3
    check = {
        "circuit.name": lambda: name_ok(v), "circuit.dt": lambda: scalar_real_ok(v, positive=True),
        "source.shape": lambda: shape_ok(v), "population.shape": lambda: shape_ok(v),
        "population.initial": lambda: initial_ok(v, 2, fixed),
        "population.initial_obj": lambda: v is None or (isinstance(v, dict) and all(
            k in ("u", "v") and initial_ok(x, 2, fixed) for k, x in v.items())),
        "projection.weights": lambda: dense_weights_ok(v, (2, 3), fixed),
        "probe.variables": lambda: (choice_ok(v, ("u", "v")) or (isinstance(v, (tuple, list)) and bool(v)
                                                                   and all(choice_ok(x, ("u", "v")) for x in v))),
        "probe.target": lambda: v == "h" and isinstance(v, str), "expose": lambda: v == "h" and isinstance(v, str),
        "include.prefix": lambda: name_ok(v),
        "include.bind": lambda: v is None or (isinstance(v, dict) and all(
            k == "x" and x in ("x", "h") and isinstance(x, str) and (x == "x") for k, x in v.items())),
    }
    if field.startswith("model."):
        f = field[6:]
        expect = loihi_param_ok(f, v, 2) if fixed else lif_param_ok(f, v, 2)
    elif field.startswith("source.") and field[7:] in SOURCE_FIELDS:
        expect = SOURCE_FIELDS[field[7:]](v)
    elif field.startswith("projection.") and field[11:] in PROJECTION_SCALARS:
        expect = PROJECTION_SCALARS[field[11:]](v)
    else:
        expect = check[field]()
    if field == "projection.weights" and not isinstance(v, (np.ndarray, list, tuple)) and real_array(v) is not None:
        expect = False  # a scalar means one-to-one, but x has 3 neurons and h has 2

    def fn():
        c = sa.Circuit(pick("circuit.name", "c"), pick("circuit.dt", 1e-3))
        c.add_source("x", src_shape, **src_kw)
        init = pick("population.initial_obj", {"v": pick("population.initial", 0)})
        c.add_population("h", pop_shape, model_cls(**params), initial=init)
        kw = {f: v for f in PROJECTION_SCALARS if field == f"projection.{f}"}
        if size_h * size_x <= SMALL:
            c.connect("x", "h", pick("projection.weights", np.ones((size_h, size_x))), **kw)
        c.probe(pick("probe.target", "h"), pick("probe.variables", ("v",)))
        c.expose("out", pick("expose", "h"))
        if field.startswith("include."):
            c.include(other_circuit(fixed), pick("include.prefix", "sub"), bind=pick("include.bind", None))
        _run(c)
    return expect, tokens_for(field), fn


# ----------------------------------------------------------------- mutation
MUTABLE = ["population.shape", "population.initial", "source.shape", "source.encoder", "source.seed",
           "source.window", "projection.weights", "circuit.dt", "probe.variables", "outputs"] + \
          [f"projection.{f}" for f in PROJECTION_SCALARS]


def mutate_strategy():
    return st.tuples(st.booleans(), st.sampled_from(MUTABLE), VALUES)


def base_circuit(fixed):
    c = sa.Circuit("c")
    c.add_source("x", 3)
    c.add_population("h", 2, sa.LoihiLIF() if fixed else sa.LIF())
    c.connect("x", "h", np.ones((2, 3)))
    c.probe("h", "v")
    return c


def mutate_execute(case, tmp):
    fixed, field, v = case
    kind, _, f = field.partition(".")
    if field in ("population.shape", "source.shape"):
        expect = shape_ok(v) and size_of(v) == (2 if kind == "population" else 3)
    elif field == "population.initial":
        expect = initial_ok(v, 2, fixed)
    elif kind == "source":
        expect = SOURCE_FIELDS[f](v)
    elif field == "projection.weights":
        expect = dense_weights_ok(v, (2, 3), fixed)
    elif kind == "projection":
        expect = PROJECTION_SCALARS[f](v)
    elif field == "circuit.dt":
        expect = scalar_real_ok(v, positive=True)
    elif field == "probe.variables":
        expect = choice_ok(v, ("u", "v")) or (isinstance(v, (tuple, list)) and bool(v)
                                              and all(choice_ok(x, ("u", "v")) for x in v))
    else:  # outputs
        expect = isinstance(v, str) and v == "h"

    def fn():
        c = base_circuit(fixed)
        obj = {"population": c.node("h"), "source": c.node("x"), "projection": c.projections["x->h"],
               "circuit": c, "probe": c.probes[0]}.get(kind)
        if field == "population.initial":
            obj.initial = {"v": v}
        elif field == "outputs":
            c.outputs["o"] = v
        else:
            setattr(obj, f, v)
        c.validate()
        sa.simulate(c, {"x": np.ones((3, 3))}, steps=3)
    tokens = {"population.shape": ["shape", "weights"], "source.shape": ["shape", "weights"],
              "outputs": ["population", "port"], "circuit.dt": ["dt"]}.get(field, tokens_for(field))
    return expect, tokens, fn


# ----------------------------------------------------------------- CSR structure
DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint32", "uint64", "float64", "float32", "bool"]


def csr_strategy():
    """A valid CSR built from random entries (duplicates and unsorted rows included), then
    perturbed once (or not): an index or pointer changed, a dtype swapped, an array cut."""
    def build(args):
        rows, cols, entries, perturb, k, t_ptr, t_idx = args
        entries = sorted(((r % rows, c % cols, v) for r, c, v in entries), key=lambda e: e[0])
        indptr = [0] * (rows + 1)
        for r, _, _ in entries:
            indptr[r + 1] += 1
        for i in range(rows):
            indptr[i + 1] += indptr[i]
        indices, data = [c for _, c, _ in entries], [v for _, _, v in entries]
        if perturb == "index" and indices:
            indices[k % len(indices)] = k
        elif perturb == "pointer":
            indptr[k % len(indptr)] += (k % 5) - 2
        elif perturb == "cut-indices" and indices:
            indices = indices[:-1]
        elif perturb == "cut-indptr":
            indptr = indptr[:-1]
        big = 2**62 if perturb == "huge-index" else None
        return (rows, cols, indptr, indices, data, t_ptr if perturb == "dtype" else "int32",
                t_idx if perturb == "dtype" else "int32", "mutate" if k % 2 else "construct", big)
    entry = st.tuples(st.integers(0, 50), st.integers(0, 50), st.sampled_from([1.0, -2.0, 0.5, 3.0, 0.0, float("nan")]))
    return st.tuples(st.integers(1, 4), st.integers(1, 4), st.lists(entry, max_size=8),
                     st.sampled_from(["none", "none", "none", "index", "pointer", "cut-indices", "cut-indptr", "dtype",
                                      "huge-index"]),
                     st.integers(-3, 12), st.sampled_from(DTYPES), st.sampled_from(DTYPES)).map(build)


def csr_execute(case, tmp):
    rows, cols, indptr, indices, data, t_ptr, t_idx, mode, big = case
    if big is not None and indices:
        indices = indices[:-1] + [big]
    with np.errstate(all="ignore"):
        indptr_a = np.array(indptr, dtype=np.int64).astype(t_ptr) if indptr else np.zeros(0, t_ptr)
        indices_a = np.array(indices, dtype=np.int64).astype(t_idx) if indices else np.zeros(0, t_idx)
    data_a = np.array(data, dtype=np.float64)
    expect = csr_ok((rows, cols), data_a, indices_a, indptr_a)

    def fn():
        w = sp.csr_matrix((rows, cols))
        c = sa.Circuit("c")
        c.add_source("x", cols)
        c.add_population("h", rows, sa.LIF())
        if mode == "mutate":
            c.connect("x", "h", w)
            w = c.projections["x->h"].weights
        w.data, w.indices, w.indptr = data_a, indices_a, indptr_a
        if mode == "construct":
            c.connect("x", "h", w)
        r = sa.simulate(c, {"x": np.ones((3, cols))}, steps=3)
        if expect:  # independent dense oracle for the synaptic ops: every input spikes at every step
            distinct = len({(i, int(j)) for i in range(rows) for j in indices_a[indptr[i]:indptr[i + 1]]})
            dense = np.zeros((rows, cols))
            for i in range(rows):
                for k in range(indptr[i], indptr[i + 1]):
                    dense[i, int(indices_a[k])] += data_a[k]
            assert r.counts.total("synaptic_acs") == 3 * int(np.count_nonzero(dense)) <= 3 * distinct
    return expect, ["weights"], fn


FAMILIES = {"ir-construct": (ir_strategy, ir_execute), "ir-mutate": (mutate_strategy, mutate_execute),
            "csr": (csr_strategy, csr_execute)}
