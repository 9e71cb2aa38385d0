"""Cost of attention variants versus sequence length N, measured by simulating them (shared
by the ``attention-scaling`` scenario and ``benchmarks/bench_attention_scaling.py``; it runs
simulations, so it lives with the scenarios, not in the circuit library).

Variants (self-attention, ``D`` channels, ``H`` heads, Bernoulli(p) Q/K/V spikes for ``T``
steps, one sample):

``dense``        FLOPs of one dense softmax attention (:func:`spikeattn.circuits.attention.reference.dense_attention_flops`)
``ssa_qk_v``     Spikformer SSA, (Q K^T) V order — ``H N^2 c`` coincidence neurons
``ssa_q_kv``     Spikformer SSA, Q (K^T V) order — ``H N c^2``
``sdsa``         spike-driven self-attention — ``2 N D + D``
``ssa_window``   SSA (Q K^T) V with a sliding window of radius ``w`` — ``H N (2w+1) c``
``sdsa_window``  SDSA with per-query windowed column sums

Spiking variants report EventCounts totals per inference (all ``T`` steps).  They run on
the numpy engine's fused path; SSA is computed in closed form from its parameters
(:func:`spikeattn.circuits.attention.fused_ssa.ssa_fused`) without building the circuit when it would exceed
``build_limit`` neurons — the same counts the circuit produces (checked by the tests and,
for small N, by ``verify``).  ``verify_engine`` names the engine of the neuron-level run
(default numpy); a variant it cannot run gets ``verified_equal_counts = None`` and
``not_verified_why``.
"""
from __future__ import annotations

import time

import numpy as np

from spikeattn import simulate
from spikeattn.circuits.attention import patterns
from spikeattn.circuits.attention.fused_ssa import ssa_fused
from spikeattn.circuits.attention.reference import dense_attention_flops
from spikeattn.circuits.attention.sdsa import sdsa_attention
from spikeattn.circuits.attention.ssa import ssa_attention
from spikeattn.engines.base import engine_class
from spikeattn.errors import ParameterError
from spikeattn.ir import LIF

VARIANTS = ("dense", "ssa_qk_v", "ssa_q_kv", "sdsa", "ssa_window", "sdsa_window")
FIELDS = ("synaptic_ops", "synaptic_acs", "synaptic_macs", "neuron_updates_active", "spikes", "messages")


def fit_exponent(ns, values) -> float:
    """Least-squares slope of ``log(values)`` against ``log(ns)`` (the power-law exponent)."""
    x, y = np.log(np.asarray(ns, float)), np.asarray(values, float)
    ok = y > 0
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(x[ok], np.log(y[ok]), 1)[0])


def random_qkv(n, d, steps, rate, seed):
    """Bernoulli(``rate``) Q, K, V spike trains ``(steps, 1, n * d)`` for sequence length ``n``."""
    rng = np.random.default_rng([seed, n])
    return {p: rng.random((steps, 1, n * d)) < rate for p in "qkv"}


def measure(variant: str, n: int, dim: int = 16, heads: int = 2, steps: int = 4, rate: float = 0.2,
            radius: int = 4, seed: int = 0, build_limit: int = 2_000_000, verify: bool = False,
            verify_engine: str = "numpy") -> dict:
    """Run one variant at sequence length ``n``; returns a JSON-ready row (counts, wall time,
    neurons, how it was computed, and with ``verify`` whether the neuron-level run agreed)."""
    if variant not in VARIANTS:
        raise ParameterError("attention scaling", "variant", f"is {variant!r}.", f"use one of {list(VARIANTS)}.")
    row = {"variant": variant, "n": int(n), "dim": dim, "heads": heads, "steps": steps, "rate": rate}
    if variant == "dense":
        row.update({"flops": dense_attention_flops(n, n, dim, heads), "method": "formula", "wall_s": 0.0})
        return row
    inp = random_qkv(n, dim, steps, rate, seed)
    mask = patterns.local_window(n, radius) if variant.endswith("window") else None
    c = dim // heads
    if variant.startswith("ssa"):
        order = "q_kv" if variant == "ssa_q_kv" else "qk_v"
        pairs = n * n if mask is None else mask.nnz
        neurons = heads * (pairs * c * 2 + pairs) if order == "qk_v" else heads * (2 * n * c * c + c * c)
        neurons += n * dim
        spec = {"n_query": n, "n_key": n, "dim": dim, "heads": heads, "order": order, "scale": 0.125}
        t0 = time.perf_counter()
        _, counts = ssa_fused(spec, inp["q"], inp["k"], inp["v"], LIF(du=1.0, dv=0.5, vth=0.5), mask)
        row.update({"wall_s": time.perf_counter() - t0, "method": "closed-form (fused SSA)", "neurons": neurons})
        if verify and neurons <= build_limit:
            circ = ssa_attention(n, dim, heads, order=order, mask=mask)
            _verify(row, circ, inp, steps, counts, verify_engine)
    else:
        circ = sdsa_attention(n, dim, mask=mask, heads=heads)
        neurons = sum(p.size for p in circ.populations.values())
        res = simulate(circ, inp, steps=steps, fused=True)
        counts = res.counts
        row.update({"wall_s": res.wall_s, "method": "fused (gather/scatter)", "neurons": neurons})
        if verify:
            _verify(row, circ, inp, steps, counts, verify_engine)
    totals = counts.totals()
    row.update({f: int(totals[f]) for f in FIELDS})
    row["dense_flops"] = dense_attention_flops(n, n, dim, heads, pairs=None if mask is None else mask.nnz)
    return row


def _verify(row, circ, inp, steps, counts, engine) -> None:
    """Neuron-level run of ``circ`` on ``engine``; records whether its EventCounts equal ``counts``."""
    row["verify_engine"] = engine
    missing = engine_class(engine).missing_features(circ)
    if missing:
        row["verified_equal_counts"] = None
        row["not_verified_why"] = f"engine '{engine}' cannot run {missing[0][0]}: it needs '{missing[0][1]}'"
        return
    slow = simulate(circ, inp, steps=steps, engine=engine)
    row["verify_engine"] = slow.engine          # the engine that actually ran it
    row["neuron_level_wall_s"] = slow.wall_s
    row["verified_equal_counts"] = bool(slow.counts == counts)


def exponents(rows: list[dict], field: str = "synaptic_ops") -> dict:
    """Fitted exponent per variant of ``field`` (``flops`` for ``dense``) against N."""
    out = {}
    for v in VARIANTS:
        sel = [r for r in rows if r["variant"] == v]
        if len(sel) >= 2:
            key = "flops" if v == "dense" else field
            out[v] = fit_exponent([r["n"] for r in sel], [r[key] for r in sel])
    return out
