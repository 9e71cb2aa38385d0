"""Vectorised runner of the numpy engine (``simulate(..., engine="numpy", fused=True)``).

The circuit is lowered once into dense index arrays: a projection in which each post neuron
has one pre-synaptic partner is a *gather* (coincidence and gate inputs), one in which each
pre neuron has one target a *scatter* (accumulators, column sums, output sums), any other a
sparse product; so a step is a few vectorised fancy-index / ``bincount`` operations over
whole populations and the batch, with no sparse-matrix construction per step.

The events are those the chip would perform, and identical to the neuron-level run
(``EventCounts`` equal element by element, step by step): a projection performs one
synaptic op per (non-zero pre output, existing synapse) and one message per non-zero pre
output that has a synapse; a population update is active if the neuron received an event
or had non-zero state or bias (``GradedReLU`` carries no state).  Spikes are identical
because inputs are added in the one summation order of :mod:`spikeattn.dynamics.synapses`.
Neurons are stepped by the model-behaviour layer (:mod:`spikeattn.dynamics`); the runner
implements exactly the Dynamics classes in :data:`FUSED_DYNAMICS` and refuses any other (a
model subclass with its own Dynamics is never run as its parent).

It is registered as the fused runner ``"vectorised"`` (a circuit with ``meta["fused"] =
"vectorised"`` runs on it); circuit libraries register runners that use it under keys of
their own (:mod:`spikeattn.engines.fused`): the attention library puts a closed-form SSA
runner in front of it (:mod:`spikeattn.circuits.attention.fused`).
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from ...counting import count_population_step, new_counts
from ...dynamics import GradedReLUDynamics, LIFDynamics, dynamics_for
from ..fused import register_fused
from ...ir import Circuit
from ...progress import progress_bar
from ...result import SimResult
from ...version import __version__

FUSED_DYNAMICS = (LIFDynamics, GradedReLUDynamics)


def is_dyadic(x) -> bool:
    """Whether every value is a dyadic rational ``k / 2**20`` below ``2**20`` (sums exact in float64)."""
    x = np.asarray(x, np.float64)
    return bool(np.all(np.mod(x * 2.0**20, 1.0) == 0) and np.all(np.abs(x) < 2**20))


class LoweredProjection:
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


class SteppedPopulation:
    """State of one population, stepped by its Dynamics (the same arithmetic as every engine)."""

    def __init__(self, pop, batch: int):
        self.model, self.n = pop.model, pop.size
        self.dyn = dynamics_for(pop.model)
        self.params, self.state = self.dyn.params(pop), self.dyn.init_state(pop, batch)

    def step(self, a_in, received):
        active = self.dyn.carries(self.params, self.state) | (received > 0)
        s, self.state = self.dyn.step(self.params, self.state, a_in)
        return s, active


def why_not_fusable(circuit: Circuit, dyadic: bool = False) -> str | None:
    """None if :func:`run_vectorised` can run ``circuit``, else the reason: LIF without
    refractoriness or GradedReLU populations (by their exact Dynamics class), float arithmetic,
    no probes.  The gather/scatter runner adds inputs in the order of
    :mod:`spikeattn.dynamics.synapses` (one partner per gather; ``bincount`` over ascending pre
    neurons per scatter; scipy's CSR product, ascending pre, per matrix), so any float weights
    give the neuron-level spikes.  ``dyadic=True`` (the closed-form SSA, which factors sums)
    also requires weights and thresholds that are dyadic rationals, whose sums are exact."""
    if circuit.probes:
        return "the circuit has probes (the fused path records no state)"
    if circuit.fixed_point:
        return "fixed-point circuits are not fused"
    for name, p in circuit.populations.items():
        m, dyn = p.model, dynamics_for(p.model)
        if type(dyn) not in FUSED_DYNAMICS:
            return (f"population '{name}': model '{m.kind}' has dynamics {type(dyn).__name__}, which the "
                    f"fused path does not implement (it implements {[d.__name__ for d in FUSED_DYNAMICS]})")
        if getattr(m, "refractory", 0):
            return f"population '{name}' has a refractory period"
        if dyadic and not is_dyadic(m.vth):
            return f"population '{name}': vth is not a dyadic rational (the closed form's sums would round)"
    if dyadic:
        for name, p in circuit.projections.items():
            if not is_dyadic(p.weights.data if p.sparse else p.weights):
                return f"projection '{name}': weights are not dyadic rationals (the closed form's sums would round)"
    return None


def fusable(circuit: Circuit) -> bool:
    """True if :func:`run_vectorised` can run ``circuit`` (see :func:`why_not_fusable`)."""
    return why_not_fusable(circuit) is None


def run_vectorised(circuit: Circuit, inputs, steps: int, batch: int, seed: int, progress: bool = False):
    """Run ``circuit`` vectorised; returns a :class:`SimResult`, or the reason it cannot
    (:func:`why_not_fusable`)."""
    reason = why_not_fusable(circuit)
    if reason is not None:
        return reason
    t0 = time.perf_counter()
    nodes, pops = circuit.nodes(), circuit.populations
    order = circuit.update_order()
    state = {n: SteppedPopulation(p, batch) for n, p in pops.items()}
    lowered = {n: LoweredProjection(p, nodes[p.pre].size, nodes[p.post].size) for n, p in circuit.projections.items()}
    outgoing = {n: [] for n in nodes}
    incoming = {n: [] for n in pops}
    for name in sorted(lowered):                      # the summation order of spikeattn.dynamics.synapses
        p = lowered[name]
        outgoing[p.pre].append(p)
        incoming[p.post].append(p)
    ring = {n: np.zeros((p.delay + 1, batch, p.n_post)) for n, p in lowered.items()}
    got = {n: np.zeros((p.delay + 1, batch, p.n_post), np.int64) for n, p in lowered.items()}
    counts = new_counts(circuit, steps, batch)
    el = counts.elements
    spikes = {n: np.zeros((steps, batch, p.size), np.float64 if p.model.graded_output else bool)
               for n, p in pops.items()}
    spikes.update({n: inputs[n] for n in circuit.sources})
    bar = progress_bar(steps, progress, f"numpy fused: {circuit.name}")
    for t in range(steps):
        for name in order:
            if name in state:
                st = state[name]
                a_in = np.zeros((batch, st.n))
                rec = np.zeros((batch, st.n), np.int64)
                for p in incoming[name]:
                    slot = t % (p.delay + 1)
                    a_in = a_in + ring[p.name][slot]
                    rec += got[p.name][slot]
                    ring[p.name][slot] = 0
                    got[p.name][slot] = 0
                s, active = st.step(a_in, rec)
                spikes[name][t] = s
                count_population_step(el[name].fields, t, active, s, st.model.state_bytes)
            else:
                s = inputs[name][t]
                el[name].fields["spikes"][t] = (s != 0).sum(axis=1)
            nz = s != 0
            for p in outgoing[name]:
                a, r = p.deliver(s)
                slot = (t + p.delay) % (p.delay + 1)
                ring[p.name][slot] += a
                got[p.name][slot] += r
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


register_fused("vectorised", run_vectorised)     # any fusable circuit: meta["fused"] = "vectorised"
