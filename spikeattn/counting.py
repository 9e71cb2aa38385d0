"""Rebuild a run's :class:`~spikeattn.counts.EventCounts` from its recorded spikes and states.

Engines that do not count events as they go (Brian2, Lava) record the spikes of every
population and the state ``(u, v, ...)`` of every population after every step, and call
:func:`counts_from_spikes`.  It reproduces the numpy engine's incremental counting
(``spikeattn/engines/numpy/engine.py``; element tables from :func:`new_counts`) exactly, field by field and step by step, using
the definitions in :mod:`spikeattn.counts`:

* ``spikes[t]`` of a population or source = number of non-zero outputs at step t;
* projection ``messages[t]`` = non-zero pre-synaptic outputs at step t of neurons that
  have at least one synapse in the projection;
  ``synaptic_acs``/``synaptic_macs[t] = sum over those outputs of their fan-out`` (existing
  synapses, after fixed-point quantisation), ``weight_bytes_read = ops * weight_bytes``
  (1 B for fixed-point, 4 B for float circuits); all counted at the emission step t;
* population ``neuron_updates_active[t]`` = neurons that, before the update of step t,
  carried a state value into it (the model's rule, e.g. ``u * (1 - du) != 0`` for LIF) or
  had a non-zero bias, or received at least one synaptic event for step
  t (an event emitted at ``t - delay`` over an existing synapse); ``idle = size - active``;
  ``state_bytes_read = state_bytes_written = active * model.state_bytes``.

The state before step 0 is the population's initial state; before step t > 0 it is the
recorded state after step t - 1 (probes record after the reset, as Lava's Monitor).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import scipy.sparse as sp

from .counts import EventCounts
from .errors import InputError
from .dynamics import dynamics_for
from .dynamics.synapses import synapse_tables
from .ir import Circuit


def new_counts(circuit: Circuit, steps: int, batch: int, tables=None) -> EventCounts:
    """An all-zero :class:`EventCounts` with every element of ``circuit`` and its table entry
    (the one place element tables are built; ``tables``: the circuit's
    :class:`~spikeattn.dynamics.synapses.SynapseTable` s, built if not given)."""
    if tables is None:
        tables = synapse_tables(circuit.flat_part() if circuit.structured else circuit)
    counts = EventCounts(steps, batch)
    for n, p in circuit.populations.items():
        counts.add_element(n, "population", {"size": p.size, "model": p.model.kind,
                                             "state_bytes": p.model.state_bytes})
    for n, s in circuit.sources.items():
        counts.add_element(n, "source", {"size": s.size, "encoder": s.encoder})
    for n, p in circuit.projections.items():
        if getattr(p, "structured", False):   # stored by parameters: synapses counted analytically
            meta = {"pre": p.pre, "post": p.post, "synapses": p.synapse_count(), "weight_bytes": 4,
                    "delay": p.delay, "message": p.message, "structured": p.kind}
            if p.kind == "product":
                meta["pre_b"] = p.pre_b
            counts.add_element(n, "projection", meta)
            continue
        tab = tables[n]
        counts.add_element(n, "projection", {"pre": p.pre, "post": p.post, "synapses": tab.synapses,
                                             "weight_bytes": tab.weight_bytes, "delay": p.delay,
                                             "message": p.message})
    return counts


def count_population_step(fields: dict, t: int, active: np.ndarray, s: np.ndarray, state_bytes: int) -> None:
    """Fill step ``t`` of a population's fields from its (batch, size) ``active`` mask and output ``s``."""
    n_active = active.sum(axis=1)
    fields["neuron_updates_active"][t] = n_active
    fields["neuron_updates_idle"][t] = active.shape[1] - n_active
    fields["spikes"][t] = (s != 0).sum(axis=1)
    fields["state_bytes_read"][t] = fields["state_bytes_written"][t] = n_active * state_bytes


def count_projection_step(fields: dict, t: int, ops: np.ndarray, messages: np.ndarray, graded: bool,
                          weight_bytes: int) -> None:
    """Fill step ``t`` of a projection's fields from its per-sample ops and messages."""
    fields["synaptic_macs" if graded else "synaptic_acs"][t] = ops
    fields["messages"][t] = messages
    fields["weight_bytes_read"][t] = ops * weight_bytes


def _check_shape(what: str, arr: np.ndarray, steps: int, batch: int, size: int) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.shape != (steps, batch, size):
        raise InputError(f"counts_from_spikes: {what} has shape {arr.shape}; expected "
                         f"(steps={steps}, batch={batch}, size={size}).")
    return arr


def resting_before_step(pop, states: Mapping[str, np.ndarray], steps: int, batch: int) -> np.ndarray:
    """``(steps, batch, size)`` bool: the model's resting rule before each step's update."""
    dyn = dynamics_for(pop.model)
    params, init = dyn.params(pop), dyn.init_state(pop, batch)
    before = {}
    for var in pop.model.state:
        if var not in states:
            raise InputError(f"counts_from_spikes: population '{pop.name}' needs its recorded state "
                             f"'{var}' (after every step) to count active neuron updates; record "
                             f"{list(pop.model.state)}.")
        after = _check_shape(f"state '{pop.name}.{var}'", states[var], steps, batch, pop.size)
        before[var] = np.concatenate([init[var][None], after[:-1]])
    return ~dyn.carries(params, before)


def _effective_bias(pop) -> np.ndarray:
    dyn = dynamics_for(pop.model)
    return np.asarray(dyn.bias(dyn.params(pop)))


def received_events(circuit: Circuit, post: str, spikes: Mapping[str, np.ndarray], lowered,
                    steps: int, batch: int) -> np.ndarray:
    """``(steps, batch, size)`` bool: the neuron of ``post`` receives >= 1 event for step t."""
    n_post = circuit.node(post).size
    got = np.zeros((steps, batch, n_post), bool)
    for name, proj in circuit.projections.items():
        if proj.post != post or proj.delay >= steps:
            continue
        emitted = np.asarray(spikes[proj.pre])[: steps - proj.delay] != 0
        flat = sp.csr_matrix(emitted.reshape(-1, emitted.shape[-1]).astype(np.int64))
        hits = np.asarray((flat @ lowered[name].structure).todense()) > 0
        got[proj.delay:] |= hits.reshape(steps - proj.delay, batch, n_post)
    return got


def counts_from_spikes(circuit: Circuit, spikes: Mapping[str, np.ndarray],
                       states: Mapping[str, Mapping[str, np.ndarray]] | None = None, *,
                       zero_state: Mapping[str, np.ndarray] | None = None) -> EventCounts:
    """EventCounts of a run, from its outputs.

    ``spikes``: every population's and source's output ``(steps, batch, size)`` (for sources
    the encoded inputs); ``states``: population -> state variable -> value after every
    step ``(steps, batch, size)`` (every variable of the model).  Instead of ``states``, an
    engine may give ``zero_state``: population -> ``(steps, batch, size)`` bool, "every state
    variable was zero before the update of step t" (a 1-byte flag instead of the float
    state; the Brian2 engine records it).  Returns counts equal (``==``) to the numpy
    engine's for the same spikes and states.
    """
    states, zero_state = dict(states or {}), dict(zero_state or {})
    pops, sources = circuit.populations, circuit.sources
    missing = sorted((set(pops) | set(sources)) - set(spikes))
    if missing:
        raise InputError(f"counts_from_spikes: no spikes given for {missing}; give every population "
                         "and source of the circuit.")
    first = np.asarray(spikes[next(iter(pops))])
    steps, batch = first.shape[0], first.shape[1]
    lowered = synapse_tables(circuit)
    counts = new_counts(circuit, steps, batch, lowered)
    for n, p in pops.items():
        if n not in states and n not in zero_state:
            raise InputError(f"counts_from_spikes: no recorded states for population '{n}'; give "
                             f"{list(p.model.state)} after every step, or its zero_state flags.")
        s = _check_shape(f"spikes of '{n}'", spikes[n], steps, batch, p.size)
        c = counts.elements[n].fields
        if n in zero_state:
            zero = _check_shape(f"zero_state of '{n}'", zero_state[n], steps, batch, p.size)
            active = ~(zero.astype(bool) & (_effective_bias(p) == 0))
        else:
            active = ~resting_before_step(p, states[n], steps, batch)
        active |= received_events(circuit, n, spikes, lowered, steps, batch)
        n_active = active.sum(axis=2).astype(np.int64)
        c["neuron_updates_active"][:] = n_active
        c["neuron_updates_idle"][:] = p.size - n_active
        c["spikes"][:] = (s != 0).sum(axis=2)
        c["state_bytes_read"][:] = n_active * p.model.state_bytes
        c["state_bytes_written"][:] = n_active * p.model.state_bytes
    for n, src in sources.items():
        s = _check_shape(f"spikes of source '{n}'", spikes[n], steps, batch, src.size)
        counts.elements[n].fields["spikes"][:] = (s != 0).sum(axis=2)
    for n, p in circuit.projections.items():
        lp = lowered[n]
        c = counts.elements[n].fields
        out = np.asarray(spikes[p.pre])
        emitted = out != 0
        per = np.abs(out).astype(np.int64) if lp.count else emitted.astype(np.int64)
        ops = (per @ lp.fan_out).astype(np.int64)
        c["synaptic_macs" if lp.graded else "synaptic_acs"][:] = ops
        c["messages"][:] = (emitted & (lp.fan_out > 0)).sum(axis=2)
        c["weight_bytes_read"][:] = ops * lp.weight_bytes
    return counts
