"""Fuzz families for the crash and silent-accept classes an outside fuzzer found (issue 21),
one family per class, so that each class's neighbours are generated too.  Same protocol as
:mod:`fuzz_ir`: a case returns ``(expect, tokens, fn)``; ``expect`` True = valid, False =
must be refused with a SpikeattnError naming one of ``tokens``, None = either.

``batch0``        inputs holding zero samples, on numpy and compiled: refused (the contract:
                  a run simulates >= 1 sample), any other batch runs.
``names``         node and projection names drawn from a small pool: a name used twice (also a
                  projection named like a node) is refused; a valid circuit simulates.
``memory``        population sizes, steps and batches up to 10^12: a run whose estimate exceeds
                  the memory available is refused with the bytes before anything is allocated;
                  small ones run.
``result-numbers`` result files for ``spikeattn energy`` with a non-finite number (1e400, NaN,
                  Infinity, a 5000-digit integer) at a random place: refused naming that field.
``meta-scalars``  ``save()`` metadata holding numpy scalars: either refused naming the key, or
                  loaded back equal, as Python numbers of the same value (the stated contract).
``structured``    structured projections (shared, index, product) with random shapes and
                  parameters: a mismatch is refused naming the field; a valid circuit runs on
                  numpy (through its expansion) with every count of the structured elements.
"""
from __future__ import annotations

import json
import math

import numpy as np
from hypothesis import strategies as st

import spikeattn as sa
from fuzz_io import Outcome
from spikeattn.validation import available_bytes, estimate_run_bytes


# ----------------------------------------------------------------- batch 0
def batch0_strategy():
    return st.tuples(st.sampled_from(["spikes", "graded", "poisson", "rate"]), st.sampled_from([0, 0, 1, 2]),
                     st.sampled_from(["numpy", "numpy", "compiled"]), st.sampled_from([None, None, 1, 2]),
                     st.integers(1, 40))


def batch0_execute(case, tmp):
    enc, b, engine, batch, steps = case
    timed = enc in ("spikes", "graded")
    shape = (steps, b, 3) if timed else (b, 3)
    data = np.zeros(shape) if enc in ("spikes", "graded") else np.full(shape, 0.5)
    expect = b > 0 and (batch is None or batch == b)

    def fn():
        c = sa.Circuit("c")
        c.add_source("x", 3, encoder=enc)
        c.add_population("h", 2, sa.LIF(vth=0.5))
        c.connect("x", "h", np.ones((2, 3)))
        r = sa.simulate(c, {"x": data}, steps=steps, batch=batch, engine=engine)
        if r.batch < 1 or r.spikes["h"].shape[1] != r.batch:
            raise Outcome("invalid input accepted", f"empty result {r.spikes['h'].shape}")
    return expect, ["inputs", "batch"], fn


# ----------------------------------------------------------------- names
NAMES = ["a", "b", "x", "p", "a->b"]


def names_strategy():
    return st.tuples(st.sampled_from(NAMES), st.sampled_from(NAMES), st.sampled_from(NAMES),
                     st.sampled_from(NAMES), st.booleans())


def names_execute(case, tmp):
    src, pop, pop2, proj, structured = case
    expect = len({src, pop, pop2, proj, f"{pop}->{pop2}"}) == 5   # the second projection's default name too

    def fn():
        c = sa.Circuit("c")
        c.add_source(src, (2, 2))
        c.add_population(pop, (2, 2), sa.IF(vth=0.5))
        c.add_population(pop2, (2, 2), sa.IF(vth=0.5))
        if structured:
            c.connect_shared(src, pop, np.eye(2), name=proj)
        else:
            c.connect(src, pop, np.eye(4), name=proj)
        c.connect(pop, pop2, 1.0)
        r = sa.simulate(c, {src: np.ones((3, 1, 4), bool)}, steps=3)
        if set(r.counts.elements) != {src, pop, pop2, proj, f"{pop}->{pop2}"}:
            raise Outcome("invalid input accepted", f"elements {sorted(r.counts.elements)}")
    return expect, ["name"], fn


# ----------------------------------------------------------------- memory
SMALL = 8 * 2**20       # runs below this (and of <= 10^4 neuron-steps) are executed; others only estimated


def memory_strategy():
    magnitude = st.tuples(st.integers(1, 9), st.integers(0, 12)).map(lambda m: m[0] * 10**m[1])
    return st.tuples(magnitude, st.sampled_from([1, 2, 10, 10**6, 10**9]),
                     st.sampled_from([1, 2, 32, 10**6]), st.sampled_from(["lif", "mtif", "graded"]))


def memory_execute(case, tmp):
    size, steps, batch, kind = case
    model = {"lif": sa.LIF(), "mtif": sa.ir.MultiThresholdIF(vth=1.0, levels=3),
             "graded": sa.ir.neurons_extra.GradedReLU()}[kind]
    if size > sa.validation.MAX_SIZE:   # refused when the population is built
        return False, ["shape"], lambda: sa.Circuit("mem").add_population("n", size, model)
    c = sa.Circuit("mem")
    c.add_population("n", size, model)
    need = estimate_run_bytes(c, steps, batch)
    avail = available_bytes()
    too_big = need > sa.validation.MAX_BYTES or (avail is not None and need > avail)
    small = need <= SMALL and size * steps * batch <= 10**4

    def fn():
        if too_big or small:   # refused before allocating, or small enough to run here
            sa.simulate(c, steps=steps, batch=batch)
        # otherwise it would fit but is not run (CI shares the machine): nothing to refuse
    return (False if too_big else True), ["bytes"], fn


# ----------------------------------------------------------------- result numbers
BAD_NUMBERS = ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "9" * 5000, "-" + "1" * 4500]
PATHS = ["steps", "batch", "counts.steps", "counts.elements.h.totals.spikes", "counts.elements.h.per_step[1]",
         "meta.wall_s"]


def result_numbers_strategy():
    literal = st.one_of(st.sampled_from(BAD_NUMBERS + ["3", "0.5"]),
                        st.integers(1, 6000).map(lambda n: "7" * n),                       # long integers
                        st.integers(300, 2000).map(lambda e: f"1.5e{e}"),                  # overflowing floats
                        st.floats(allow_nan=False, allow_infinity=False).map(repr))        # ordinary floats
    return st.tuples(literal, st.sampled_from(PATHS))


def result_numbers_execute(case, tmp):
    from hardware_models.result_file import load_result
    literal, where = case
    digits = literal.lstrip("-")
    if digits.isdigit():      # a JSON integer: Python reads up to 4300 digits; the loader takes <= 4000
        good = len(digits) <= 4000
    else:                     # a JSON float: must not overflow to inf
        good = literal not in BAD_NUMBERS and math.isfinite(float(literal))
    doc = {"steps": 4, "batch": 1, "meta": {"wall_s": 0.1},
           "counts": {"steps": 4, "batch": 1, "elements": {"h": {"totals": {"spikes": 2}, "per_step": [0, 1, 1, 0]}}}}
    text = json.dumps(doc)
    # replace the value at ``where`` with the literal (textual: JSON itself cannot write these)
    marker = "__FUZZ__"
    node, key = doc, where
    parts = where.replace("[1]", "").split(".")
    for p in parts[:-1]:
        node = node[p]
    if where.endswith("[1]"):
        node[parts[-1]][1] = marker
    else:
        node[parts[-1]] = marker
    text = json.dumps(doc).replace(f'"{marker}"', literal)
    path = tmp / "result.json"
    path.write_text(text)

    def fn():
        got, _ = load_result(path)
        if not good:
            raise Outcome("invalid input accepted", f"{literal[:20]} at {key}")
    return good, [f"field '{where}'"], fn


# ----------------------------------------------------------------- meta scalars
DTYPES = ["float16", "float32", "float64", "int8", "int64", "uint8", "uint64", "bool", "complex64"]


def meta_strategy():
    value = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), st.integers(-2**63, 2**64 - 1))
    return st.tuples(st.sampled_from(DTYPES), value, st.sampled_from(["top", "nested", "list"]))


def _scalar(dtype, value):
    with np.errstate(all="ignore"):
        if dtype == "bool":
            return np.bool_(bool(value))
        if np.dtype(dtype).kind in "iu":
            info = np.iinfo(dtype)
            v = int(value) if isinstance(value, int) or math.isfinite(value) else 0
            return np.dtype(dtype).type(min(max(v, info.min), info.max))
        return np.dtype(dtype).type(value)


def meta_execute(case, tmp):
    dtype, value, where = case
    v = _scalar(dtype, value)
    finite_real = v.dtype.kind in "biuf" and (v.dtype.kind != "f" or math.isfinite(float(v)))

    def fn():
        c = sa.Circuit("m")
        c.add_population("n", 1, sa.IF())
        c.meta = {"top": {"x": v}, "nested": {"a": {"x": v}}, "list": {"x": [1, v]}}[where]
        path = sa.save(c, tmp / "m.zip")
        back = sa.load(path)
        stored = json.dumps(back.meta)   # plain JSON: Python numbers
        if back != c or "np." in stored:
            raise Outcome("round trip differs or files left behind", f"{c.meta!r} -> {back.meta!r}")
    return finite_real, ["meta"], fn


# ----------------------------------------------------------------- structured
def structured_strategy():
    return st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
                     st.sampled_from(["shared", "index", "product"]), st.sampled_from([0, 0, 1, -1, 2]),
                     st.integers(0, 2**16))


def structured_execute(case, tmp):
    G, n_in, n_out, L, kind, off, seed = case
    rng = np.random.default_rng(seed)
    valid = off == 0

    def fn():
        c = sa.Circuit("s")
        c.add_source("x", (G, n_in), encoder="graded")
        c.add_population("a", (G, n_in), sa.ir.MultiThresholdIF(vth=0.5, levels=L))
        c.connect_index("x", "a", np.arange(G * n_in), message="graded", delay=0)
        if kind == "shared":
            c.add_population("o", (G, n_out), sa.IF(vth=0.75))
            c.connect_shared("a", "o", rng.integers(-8, 9, (n_out, n_in + off)) / 8, message="count")
        elif kind == "index":
            c.add_population("o", (G, n_out), sa.IF(vth=0.75))
            idx = rng.integers(-1, G * n_in + max(off, 0), G * n_out + (1 if off == -1 else 0))
            if off > 0:
                idx[0] = G * n_in + off - 1        # out of range
            c.connect_index("a", "o", idx, 0.5, message="count")
        else:
            c.add_population("o", (G, G + off), sa.IF(vth=0.75))
            mask = rng.random((G, G + off)) < 0.7
            c.connect_product("a", "a", "o", "ik,jk->ij", 0.25, mask)
        x = rng.integers(0, 9, (4, 2, G * n_in)) / 4.0
        r = sa.simulate(c, {"x": x}, steps=4)
        e = sa.simulate(c.expand(), {"x": x}, steps=4)
        for el in ("a", "o", "a->o" if kind != "product" else "a*a->o"):
            for f, arr in r.counts.elements[el].fields.items():
                if not np.array_equal(arr, e.counts.elements[el].fields[f]):
                    raise Outcome("round trip differs or files left behind", f"count {el}.{f}")
    return valid, ["weights", "index", "equation", "mask", "shape"], fn


FAMILIES = {"batch0": (batch0_strategy, batch0_execute), "names": (names_strategy, names_execute),
            "memory": (memory_strategy, memory_execute),
            "result-numbers": (result_numbers_strategy, result_numbers_execute),
            "meta-scalars": (meta_strategy, meta_execute), "structured": (structured_strategy, structured_execute)}
