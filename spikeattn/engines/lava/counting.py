"""EventCounts from a recorded trace (spikes of every node, u and v of every population).

An engine that cannot count events while it runs (Lava runs in its own processes) records
spikes and state and counts afterwards, with the definitions of
:mod:`spikeattn.counts` as the numpy engine applies them:

- a projection's events at step t come from its pre-synaptic output at t:
  ``messages`` = spiking pre neurons with at least one synapse in the projection,
  ``ops`` = sum over the spiking neurons of their fan-out
  (existing synapses after fixed-point quantisation), counted as ACs for binary and MACs
  for graded projections; ``weight_bytes_read = ops * weight_bytes`` (1 B fixed point,
  4 B float);
- those events arrive at ``post`` at step ``t + delay``;
- a neuron update at step t is *active* if the neuron received at least one event at t,
  or its state before the step (``initial`` at t = 0, the recorded state of step t-1
  otherwise) or its bias is non-zero; the rest are *idle*;
  ``state_bytes_read = state_bytes_written = active * state_bytes``.

The synapse bookkeeping (quantised synapse structure ``structure`` (pre, post) and
``fan_out``) is the numpy engine's :class:`~spikeattn.engines.numpy.synapses.LoweredProjection`,
so both engines count the same synapses; events are then counted for all steps at once
with sparse products (``[s != 0] @ structure``), without computing synaptic input.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...counts import EventCounts
from ...ir import Circuit, LoihiLIF
from ..numpy.fixed_point import effective_bias
from ..numpy.synapses import LoweredProjection

ROWS_PER_CHUNK = 1024   # (step, sample) rows expanded to dense at once, to bound memory


def _bias(pop) -> np.ndarray:
    m = pop.model
    if isinstance(m, LoihiLIF):
        b = effective_bias(m.bias_mant, m.bias_exp)
    else:
        b = np.asarray(m.bias, np.float64)
    return np.broadcast_to(b, (pop.size,))


def _initial_state(pop, var: str, batch: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(pop.initial.get(var, 0)), (batch, pop.size))


def counts_from_trace(circuit: Circuit, spikes: dict[str, np.ndarray],
                      states: dict[str, dict[str, np.ndarray]], steps: int, batch: int) -> EventCounts:
    """EventCounts of a run, from ``spikes[node]`` (steps, batch, size) for every population
    and source and ``states[pop][var]`` (steps, batch, size) for every state variable of
    every population (recorded after each step)."""
    fixed = circuit.fixed_point
    counts = EventCounts(steps, batch)
    lowered = {n: LoweredProjection(p, fixed, 1 if fixed else 4) for n, p in circuit.projections.items()}
    for n, p in circuit.populations.items():
        counts.add_element(n, "population", {"size": p.size, "model": p.model.kind,
                                             "state_bytes": p.model.state_bytes})
    for n, s in circuit.sources.items():
        counts.add_element(n, "source", {"size": s.size, "encoder": s.encoder})
        counts.elements[n].fields["spikes"][:] = (spikes[n] != 0).sum(axis=2)
    received = {n: np.zeros((steps, batch, p.size), np.int64) for n, p in circuit.populations.items()}
    for n, p in circuit.projections.items():
        lp = lowered[n]
        counts.add_element(n, "projection", {"pre": p.pre, "post": p.post, "synapses": lp.synapses,
                                             "weight_bytes": lp.weight_bytes, "delay": p.delay,
                                             "message": p.message})
        c = counts.elements[n].fields
        ops_field = "synaptic_macs" if lp.graded else "synaptic_acs"
        ind = sp.csr_matrix((spikes[p.pre] != 0).reshape(steps * batch, -1).astype(np.int64))
        ops = ind @ lp.fan_out
        msgs = ind @ (lp.fan_out > 0).astype(np.int64)
        got = np.zeros((steps * batch, lp.n_post), np.int64)
        for lo in range(0, steps * batch, ROWS_PER_CHUNK):
            got[lo:lo + ROWS_PER_CHUNK] = (ind[lo:lo + ROWS_PER_CHUNK] @ lp.structure).toarray()
        c[ops_field][:] = ops.reshape(steps, batch)
        c["messages"][:] = msgs.reshape(steps, batch)
        c["weight_bytes_read"][:] = c[ops_field] * lp.weight_bytes
        if p.delay < steps:
            received[p.post][p.delay:] += got.reshape(steps, batch, -1)[:steps - p.delay]
    for n, pop in circuit.populations.items():
        busy = (received[n] > 0) | (_bias(pop) != 0)[None, None, :]
        for var in pop.model.state:
            before = np.concatenate([_initial_state(pop, var, batch)[None], states[n][var][:-1]])
            busy |= before != 0
        active = busy.sum(axis=2).astype(np.int64)
        c = counts.elements[n].fields
        c["neuron_updates_active"][:] = active
        c["neuron_updates_idle"][:] = pop.size - active
        c["spikes"][:] = (spikes[n] != 0).sum(axis=2)
        c["state_bytes_read"][:] = active * pop.model.state_bytes
        c["state_bytes_written"][:] = active * pop.model.state_bytes
    return counts
