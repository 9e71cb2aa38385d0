"""The numpy engine: clock-driven neuron updates, event-driven synaptic propagation.

Each step, in the circuit's update order (zero-delay projections point forward):

1. a source emits its encoded input for the step; a population reads the input that
   arrived for this step from its ring buffer (one slot per step of delay), updates its
   neurons and emits spikes;
2. every outgoing projection touches only the rows of the neurons that spiked and adds
   ``W @ s`` into the destination's ring-buffer slot ``t + delay``.

All of it runs on a batch of samples at once.  Float circuits use float64; fixed-point
circuits (``LoihiLIF``) use int64 and reproduce Lava 0.10's ``Loihi2SimCfg(select_tag=
"fixed_pt")`` bit-exactly (u, v, spikes), Lava's Dense being a projection with delay 1.
"""
from __future__ import annotations

import importlib
import time

import numpy as np

from ... import __version__
from ...counts import EventCounts
from ...ir import Circuit
from ...result import SimResult
from ..base import Engine
from ..features import FEATURES
from .neurons import build_neurons
from .synapses import LoweredProjection

# Fused fast paths: circuit.meta["fused"] names one; "module:function(circuit, inputs, steps,
# batch, seed, progress) -> SimResult | None" (None: run neuron by neuron instead).
FUSED_RUNNERS: dict[str, str] = {"attention": "spikeattn.circuits.attention.fused:run_fused"}


def progress_bar(total: int, enabled: bool, desc: str):
    """A tqdm bar when ``enabled`` and tqdm is installed, else a no-op object."""
    if enabled:
        try:
            from tqdm.auto import tqdm
            return tqdm(total=total, desc=desc, unit="step", leave=False)
        except ImportError:  # pragma: no cover - tqdm is in every extra
            pass

    class _Null:
        def update(self, n=1):
            pass

        def close(self):
            pass
    return _Null()


def count_population_step(fields: dict, t: int, active: np.ndarray, s: np.ndarray, state_bytes: int) -> None:
    """Fill one step of a population's EventCounts fields from its (batch, size) ``active``
    mask and output ``s`` (definitions in :mod:`spikeattn.counts`)."""
    n_active = active.sum(axis=1)
    fields["neuron_updates_active"][t] = n_active
    fields["neuron_updates_idle"][t] = active.shape[1] - n_active
    fields["spikes"][t] = (s != 0).sum(axis=1)
    fields["state_bytes_read"][t] = fields["state_bytes_written"][t] = n_active * state_bytes


class NumpyEngine(Engine):
    """Reference engine; supports every feature (``spikeattn.engines.features``)."""

    name = "numpy"
    supported = frozenset(FEATURES)

    def run(self, circuit: Circuit, inputs, steps, batch, seed, progress=False) -> SimResult:
        t_start = time.perf_counter()
        runner = FUSED_RUNNERS.get(circuit.meta.get("fused")) if self.options.get("fused") else None
        if runner is not None:
            mod, fn = runner.split(":")
            result = getattr(importlib.import_module(mod), fn)(circuit, inputs, steps, batch, seed, progress)
            if result is not None:
                return result
        fixed = circuit.fixed_point
        order = circuit.update_order()
        nodes = circuit.nodes()
        impls = {n: build_neurons(p, batch) for n, p in circuit.populations.items()}
        lowered = {n: LoweredProjection(p, fixed, 1 if fixed else 4) for n, p in circuit.projections.items()}
        outgoing: dict[str, list[tuple[str, LoweredProjection]]] = {n: [] for n in nodes}
        ring_len = {n: 1 for n in impls}
        for n, p in circuit.projections.items():
            outgoing[p.pre].append((n, lowered[n]))
            ring_len[p.post] = max(ring_len[p.post], p.delay + 1)
        dtype = np.int64 if fixed else np.float64
        ring = {n: np.zeros((ring_len[n], batch, impls[n].n), dtype) for n in impls}
        arrivals = {n: np.zeros((ring_len[n], batch, impls[n].n), np.int64) for n in impls}

        counts = EventCounts(steps, batch)
        for n, p in circuit.populations.items():
            counts.add_element(n, "population", {"size": p.size, "model": p.model.kind,
                                                 "state_bytes": p.model.state_bytes})
        for n, s in circuit.sources.items():
            counts.add_element(n, "source", {"size": s.size, "encoder": s.encoder})
        for n, p in circuit.projections.items():
            counts.add_element(n, "projection", {"pre": p.pre, "post": p.post, "synapses": lowered[n].synapses,
                                                 "weight_bytes": lowered[n].weight_bytes, "delay": p.delay,
                                                 "message": p.message})
        el = counts.elements
        spikes = {n: np.zeros((steps, batch, impls[n].n), dtype if p.model.graded_output else bool)
                  for n, p in circuit.populations.items()}
        spikes.update({n: inputs[n] for n in circuit.sources})
        probes = {pr.target: {} for pr in circuit.probes}
        for pr in circuit.probes:
            for var in pr.variables:
                probes[pr.target][var] = np.zeros((steps, batch, impls[pr.target].n), dtype)

        bar = progress_bar(steps, progress, f"numpy: {circuit.name}")
        for t in range(steps):
            for name in order:
                if name in impls:
                    impl = impls[name]
                    slot = t % ring_len[name]
                    a_in, got = ring[name][slot], arrivals[name][slot]
                    active = ~impl.resting() | (got > 0)
                    s = impl.step(a_in)
                    a_in[...] = 0
                    got[...] = 0
                    spikes[name][t] = s
                    count_population_step(el[name].fields, t, active, s, nodes[name].model.state_bytes)
                    if name in probes:
                        for var, arr in probes[name].items():
                            arr[t] = impl.state[var]
                else:
                    s = inputs[name][t]
                    el[name].fields["spikes"][t] = (s != 0).sum(axis=1)
                for pname, lp in outgoing[name]:
                    a, received, ops, msgs = lp.propagate(s)
                    post = lp.proj.post
                    slot = (t + lp.delay) % ring_len[post]
                    ring[post][slot] += a
                    arrivals[post][slot] += received
                    c = el[pname].fields
                    c["synaptic_macs" if lp.graded else "synaptic_acs"][t] = ops
                    c["messages"][t] = msgs
                    c["weight_bytes_read"][t] = ops * lp.weight_bytes
            bar.update(1)
        bar.close()
        wall = time.perf_counter() - t_start
        return SimResult(spikes=spikes, probes=probes, counts=counts, steps=steps, batch=batch, dt=circuit.dt,
                         engine=self.name, wall_s=wall,
                         meta={"engine": self.name, "version": __version__,
                               "mode": "fixed_pt" if fixed else "floating_pt", "seed": seed})

