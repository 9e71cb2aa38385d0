"""Fused fast path for the attention circuits on the numpy engine.

``simulate(circuit, ..., engine="numpy", fused=True)`` on a circuit whose
``meta["fused"] == "attention"`` runs here instead of neuron by neuron.  The circuit is
lowered once into dense index arrays: every projection of these circuits is either a
*gather* (each post neuron has one pre-synaptic partner: coincidence and gate inputs) or a
*scatter* (each pre neuron has one target: accumulators, column sums, output sums), so a
step is a few vectorised fancy-index / ``bincount`` operations over whole populations and
the batch, with no sparse-matrix construction per step.  Other projections fall back to a
sparse product.

The events are those the chip would perform, and identical to the neuron-level run
(``EventCounts`` equal element by element, step by step): a projection performs one
synaptic op per (non-zero pre output, existing synapse) and one message per non-zero pre
output that has a synapse; a population update is active if the neuron received an event
or had non-zero state or bias (``GradedReLU`` carries no state).  Spikes are identical
because every synaptic sum is exact: the runner refuses (returns None, so the engine runs
the neuron-level circuit) unless every weight and threshold is a dyadic rational (a
multiple of 2**-20 below 2**20), which makes float sums independent of their order.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from ... import __version__
from ...counts import EventCounts
from ...ir import LIF, Circuit
from ...ir.neurons_extra import GradedReLU
from ...result import SimResult


def _dyadic(x) -> bool:
    x = np.asarray(x, np.float64)
    return bool(np.all(np.mod(x * 2.0**20, 1.0) == 0) and np.all(np.abs(x) < 2**20))


class _Proj:
    """One projection lowered to gather / scatter / matrix form."""

    def __init__(self, p, n_pre: int, n_post: int):
        w = sp.csr_matrix(p.weights, dtype=np.float64)
        w.eliminate_zeros()
        self.name, self.pre, self.post, self.delay = p.name, p.pre, p.post, p.delay
        self.graded, self.n_post, self.synapses = p.message == "graded", n_post, int(w.nnz)
        self.fan_out = np.bincount(w.indices, minlength=n_pre).astype(np.int64)
        self.routed = self.fan_out > 0
        per_row = np.diff(w.indptr)
        if np.all(per_row <= 1):
            self.kind = "gather"
            self.rows = np.flatnonzero(per_row)
            self.src = w.indices.astype(np.int64)
            self.w = w.data
        elif np.all(self.fan_out <= 1):
            self.kind = "scatter"
            wc = w.tocsc()
            self.cols = np.flatnonzero(self.fan_out)
            self.dst = wc.indices.astype(np.int64)
            self.w = wc.data
        else:
            self.kind = "matrix"
            self.w_t = w.T.tocsr()
            self.struct_t = sp.csr_matrix((np.ones(w.nnz), w.indices, w.indptr), shape=w.shape).T.tocsr()

    def deliver(self, s: np.ndarray):
        """Input ``a`` and events received per post neuron for pre output ``s`` (batch, n_pre)."""
        b = s.shape[0]
        x = s.astype(np.float64) if self.graded else (s != 0).astype(np.float64)
        ind = (s != 0)
        if self.kind == "gather":
            a = np.zeros((b, self.n_post))
            got = np.zeros((b, self.n_post), np.int64)
            a[:, self.rows] = x[:, self.src] * self.w
            got[:, self.rows] = ind[:, self.src]
            return a, got
        if self.kind == "scatter":
            offs = (np.arange(b) * self.n_post)[:, None]
            idx = (offs + self.dst).ravel()
            a = np.bincount(idx, (x[:, self.cols] * self.w).ravel(), b * self.n_post).reshape(b, self.n_post)
            got = np.bincount(idx, ind[:, self.cols].ravel(), b * self.n_post).reshape(b, self.n_post)
            return a, got.astype(np.int64)
        a = np.asarray((sp.csr_matrix(x) @ self.w_t).todense())
        got = np.asarray((sp.csr_matrix(ind.astype(np.float64)) @ self.struct_t).todense()).astype(np.int64)
        return a, got


class _Pop:
    """State of one LIF or GradedReLU population (same arithmetic as the numpy engine)."""

    def __init__(self, pop, batch: int):
        self.model, self.n = pop.model, pop.size
        self.graded = isinstance(pop.model, GradedReLU)
        init = {var: np.broadcast_to(np.asarray(pop.initial.get(var, 0), np.float64), (batch, self.n)).copy()
                for var in pop.model.state}
        self.state = init
        if not self.graded:
            m = pop.model
            self.du, self.dv = np.float64(1.0) - m.du, np.float64(1.0) - m.dv
            self.vth, self.v_reset = np.asarray(m.vth, np.float64), np.asarray(m.v_reset, np.float64)
            self.bias = np.broadcast_to(np.asarray(m.bias, np.float64), (self.n,))
            self.subtract = m.reset == "subtract"
        else:
            self.vth = np.asarray(pop.model.vth, np.float64)

    def resting(self) -> np.ndarray | None:
        if self.graded:
            return None
        # the numpy engine's rule (LIFImpl.resting_states): nothing carried after the decays
        return (self.state["u"] * self.du == 0) & (self.state["v"] * self.dv == 0) & (self.bias == 0)

    def step(self, a_in):
        if self.graded:
            self.state["v"] = a_in
            return np.where(a_in > self.vth, a_in - self.vth, 0.0)
        u = self.state["u"] * self.du + a_in
        v = self.state["v"] * self.dv + u + self.bias
        s = v > self.vth
        v = np.where(s, v - self.vth, v) if self.subtract else np.where(s, self.v_reset, v)
        self.state["u"], self.state["v"] = u, v
        return s


def fusable(circuit: Circuit) -> bool:
    """True if :func:`run_fused` can run ``circuit`` (float LIF without refractoriness or
    GradedReLU populations, dyadic weights and thresholds, no probes)."""
    if circuit.probes or circuit.fixed_point:
        return False
    for p in circuit.populations.values():
        m = p.model
        if type(m) is GradedReLU:
            ok = _dyadic(m.vth)
        elif isinstance(m, LIF):
            ok = not m.refractory and _dyadic(m.vth)
        else:
            ok = False
        if not ok:
            return False
    return all(_dyadic(p.weights.data if p.sparse else p.weights) for p in circuit.projections.values())


def _ssa_mask(circuit: Circuit, spec: dict):
    """The token mask of a "qk_v" SSA circuit, read from its ``q -> coinc`` / ``k -> coinc``
    synapses, or None when every pair is present."""
    from .ssa import pair_index

    i_p, j_p = pair_index(circuit)
    nq, nk = spec["n_query"], spec["n_key"]
    if i_p.size == nq * nk:
        return None
    return sp.csr_matrix((np.ones(i_p.size, bool), (i_p, j_p)), shape=(nq, nk))


def _run_ssa(circuit: Circuit, inputs, steps, batch, seed):
    """Closed-form SSA run (:mod:`.fused_ssa`) after checking that ``circuit`` is exactly what
    :func:`.ssa.ssa_attention` builds from its recorded parameters (else None)."""
    from .fused_ssa import ssa_fused
    from .ssa import ssa_attention

    spec = circuit.meta["attention"]
    if spec.get("delay_mode") != "synaptic" or spec.get("map_code", "graded") != "graded" or circuit.probes:
        return None
    try:
        mask = _ssa_mask(circuit, spec) if spec["order"] == "qk_v" else None
        out_model = circuit.node("y").model
        ref = ssa_attention(spec["n_query"], spec["dim"], spec["heads"], spec["n_key"], spec["order"], mask,
                            spec["scale"], out_model, name=circuit.name)
    except Exception:
        return None
    if not (ref.nodes() == circuit.nodes() and ref.projections == circuit.projections) or not fusable(circuit):
        return None
    t0 = time.perf_counter()
    spikes, counts = ssa_fused(spec, inputs["q"], inputs["k"], inputs["v"], out_model, mask, record=True)
    spikes.update({n: inputs[n] for n in circuit.sources})
    return SimResult(spikes=spikes, probes={}, counts=counts, steps=steps, batch=batch, dt=circuit.dt,
                     engine="numpy", wall_s=time.perf_counter() - t0,
                     meta={"engine": "numpy", "version": __version__, "mode": "floating_pt", "seed": seed,
                           "fused": "attention:ssa-closed-form"})


def run_fused(circuit: Circuit, inputs, steps: int, batch: int, seed: int, progress: bool = False):
    """Run ``circuit`` fused; returns a :class:`SimResult` or None if the circuit is not fusable.

    SSA circuits use the closed-form runner of :mod:`.fused_ssa`; the others (SDSA, relay
    delay lines, composed blocks marked fusable) the vectorised gather/scatter runner."""
    if circuit.meta.get("attention", {}).get("kind") == "ssa":
        result = _run_ssa(circuit, inputs, steps, batch, seed)
        if result is not None:
            return result
    if not fusable(circuit):
        return None
    t0 = time.perf_counter()
    nodes, pops = circuit.nodes(), circuit.populations
    order = circuit.update_order()
    state = {n: _Pop(p, batch) for n, p in pops.items()}
    lowered = {n: _Proj(p, nodes[p.pre].size, nodes[p.post].size) for n, p in circuit.projections.items()}
    outgoing = {n: [] for n in nodes}
    ring_len = {n: 1 for n in pops}
    for p in lowered.values():
        outgoing[p.pre].append(p)
        ring_len[p.post] = max(ring_len[p.post], p.delay + 1)
    ring = {n: np.zeros((ring_len[n], batch, p.size)) for n, p in pops.items()}
    got = {n: np.zeros((ring_len[n], batch, p.size), np.int64) for n, p in pops.items()}
    counts = EventCounts(steps, batch)
    for n, p in pops.items():
        counts.add_element(n, "population", {"size": p.size, "model": p.model.kind,
                                             "state_bytes": p.model.state_bytes})
    for n, s in circuit.sources.items():
        counts.add_element(n, "source", {"size": s.size, "encoder": s.encoder})
    for n, p in lowered.items():
        counts.add_element(n, "projection", {"pre": p.pre, "post": p.post, "synapses": p.synapses,
                                             "weight_bytes": 4, "delay": p.delay,
                                             "message": "graded" if p.graded else "binary"})
    el = counts.elements
    spikes = {n: np.zeros((steps, batch, p.size), bool) for n, p in pops.items()}
    spikes.update({n: inputs[n] for n in circuit.sources})
    from ...engines.numpy.engine import count_population_step, progress_bar
    bar = progress_bar(steps, progress, f"numpy fused: {circuit.name}")
    for t in range(steps):
        for name in order:
            if name in state:
                st, slot = state[name], t % ring_len[name]
                a_in, rec = ring[name][slot], got[name][slot]
                rest = st.resting()
                active = rec > 0 if rest is None else (~rest | (rec > 0))
                s = st.step(a_in.copy())
                a_in[...] = 0
                rec[...] = 0
                spikes[name][t] = s
                count_population_step(el[name].fields, t, active, s, st.model.state_bytes)
            else:
                s = inputs[name][t]
                el[name].fields["spikes"][t] = (s != 0).sum(axis=1)
            nz = s != 0
            for p in outgoing[name]:
                a, rec = p.deliver(s)
                slot = (t + p.delay) % ring_len[p.post]
                ring[p.post][slot] += a
                got[p.post][slot] += rec
                c = el[p.name].fields
                ops = nz.astype(np.int64) @ p.fan_out
                c["synaptic_macs" if p.graded else "synaptic_acs"][t] = ops
                c["messages"][t] = (nz & p.routed).sum(axis=1)
                c["weight_bytes_read"][t] = ops * 4
        bar.update(1)
    bar.close()
    return SimResult(spikes=spikes, probes={}, counts=counts, steps=steps, batch=batch, dt=circuit.dt,
                     engine="numpy", wall_s=time.perf_counter() - t0,
                     meta={"engine": "numpy", "version": __version__, "mode": "floating_pt", "seed": seed,
                           "fused": circuit.meta.get("fused")})
