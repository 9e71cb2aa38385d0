"""The numpy engine: clock-driven neuron updates, event-driven synaptic propagation.

Each step, in the circuit's update order (zero-delay projections point forward):

1. a source emits its encoded input for the step; a population sums the input that arrived
   for this step over its incoming projections (each projection has its own ring buffer,
   one slot per step of delay; the order of the sum is defined in
   :mod:`spikeattn.dynamics.synapses`), steps its neurons with the model's
   :class:`~spikeattn.dynamics.Dynamics` and emits spikes;
2. every outgoing projection touches only the rows of the neurons that spiked and adds
   ``W @ s`` into its ring-buffer slot ``t + delay``.

All of it runs on a batch of samples at once.  Float circuits use float64; fixed-point
circuits (``LoihiLIF``, ``LoihiMultiThresholdIF``, ``LoihiGradedReLU``) use int64 and reproduce
Lava 0.10's ``Loihi2SimCfg(select_tag="fixed_pt")`` bit-exactly (u, v, spikes), Lava's Dense
being a projection with delay 1.
Wraps and saturations of fixed-point state, and float state that turns inf/NaN, are counted
per population and step in ``SimResult.diagnostics`` and reported as ``on_overflow`` says.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from ...version import __version__
from ...counting import count_population_step, count_projection_step, new_counts
from ...dynamics import dynamics_for
from ...errors import SpikeattnWarning, UnsupportedFeatureError
from ...dynamics.synapses import incoming_order, synapse_tables
from ...ir import Circuit
from ...progress import progress_bar
from ...result import SimResult
from ..base import Engine
from ..features import FEATURES
from ..fused import fused_runner
from ..overflow import OverflowMonitor
from . import vectorised  # noqa: F401 - registers the "vectorised" fused runner
from .synapses import deliver


class NumpyEngine(Engine):
    """Reference engine; supports every feature (``spikeattn.engines.features``).

    Options: ``fused=True`` runs the circuit's registered fused fast path (identical spikes
    and counts; refused with a notice when the circuit does not qualify);
    ``on_overflow="warn" | "wrap" | "raise"`` (see :mod:`spikeattn.engines.overflow`)."""

    name = "numpy"
    supported = frozenset(FEATURES)
    options_allowed = frozenset({"fused", "on_overflow"})
    reports_diagnostics = True

    @classmethod
    def missing_features(cls, circuit: Circuit) -> list[tuple[str, str]]:
        """Every feature, and every neuron model that has registered Dynamics."""
        missing = []
        for el, f in super().missing_features(circuit):
            if f.startswith("model:"):
                name = el.split("'")[1]
                try:
                    dynamics_for(circuit.populations[name].model)
                    continue
                except UnsupportedFeatureError:
                    pass
            missing.append((el, f))
        return missing

    def run(self, circuit: Circuit, inputs, steps, batch, seed, progress=False) -> SimResult:
        t_start = time.perf_counter()
        if self.options.get("fused"):
            runner, reason = fused_runner(circuit)
            result = runner(circuit, inputs, steps, batch, seed, progress) if runner else reason
            if isinstance(result, SimResult):
                return result
            warnings.warn(f"fused=True: circuit '{circuit.name}' runs neuron by neuron instead: {result}.",
                          SpikeattnWarning, stacklevel=3)
        fixed = circuit.fixed_point
        order = circuit.update_order()
        nodes = circuit.nodes()
        pops = circuit.populations
        dyn = {n: dynamics_for(p.model) for n, p in pops.items()}
        params = {n: dyn[n].params(p) for n, p in pops.items()}
        state = {n: dyn[n].init_state(p, batch) for n, p in pops.items()}
        tables = synapse_tables(circuit)
        incoming = incoming_order(circuit)
        outgoing: dict[str, list] = {n: [] for n in nodes}
        for n, tab in tables.items():
            outgoing[tab.pre].append(tab)
        dtype = np.int64 if fixed else np.float64
        ring = {n: np.zeros((tab.delay + 1, batch, tab.n_post), dtype) for n, tab in tables.items()}
        arrivals = {n: np.zeros((tab.delay + 1, batch, tab.n_post), np.int64) for n, tab in tables.items()}

        counts = new_counts(circuit, steps, batch, tables)
        el = counts.elements
        spikes = {n: np.zeros((steps, batch, p.size), dtype if p.model.graded_output else bool)
                  for n, p in pops.items()}
        spikes.update({n: inputs[n] for n in circuit.sources})
        probes = {pr.target: {} for pr in circuit.probes}
        for pr in circuit.probes:
            for var in pr.variables:
                probes[pr.target][var] = np.zeros((steps, batch, pops[pr.target].size), dtype)
        monitor = OverflowMonitor(circuit, steps, batch, self.options.get("on_overflow", "warn"))

        bar = progress_bar(steps, progress, f"numpy: {circuit.name}")
        for t in range(steps):
            for name in order:
                if name in pops:
                    a_in = np.zeros((batch, pops[name].size), dtype)
                    got = np.zeros((batch, pops[name].size), np.int64)
                    for pname in incoming[name]:
                        slot = t % (tables[pname].delay + 1)
                        a_in = a_in + ring[pname][slot]
                        got += arrivals[pname][slot]
                        ring[pname][slot] = 0
                        arrivals[pname][slot] = 0
                    d, pr, before = dyn[name], params[name], state[name]
                    active = d.carries(pr, before) | (got > 0)
                    s, after = d.step(pr, before, a_in)
                    monitor.record(name, t, d.check(pr, before, a_in, after))
                    state[name] = after
                    spikes[name][t] = s
                    count_population_step(el[name].fields, t, active, s, nodes[name].model.state_bytes)
                    if name in probes:
                        for var, arr in probes[name].items():
                            arr[t] = after[var]
                else:
                    s = inputs[name][t]
                    el[name].fields["spikes"][t] = (s != 0).sum(axis=1)
                for tab in outgoing[name]:
                    a, received, ops, msgs = deliver(tab, s)
                    slot = (t + tab.delay) % (tab.delay + 1)
                    ring[tab.name][slot] += a
                    arrivals[tab.name][slot] += received
                    count_projection_step(el[tab.name].fields, t, ops, msgs, tab.graded, tab.weight_bytes)
            bar.update(1)
        bar.close()
        wall = time.perf_counter() - t_start
        return SimResult(spikes=spikes, probes=probes, counts=counts, steps=steps, batch=batch, dt=circuit.dt,
                         engine=self.name, wall_s=wall, diagnostics=monitor.finish(),
                         meta={"engine": self.name, "version": __version__,
                               "mode": "fixed_pt" if fixed else "floating_pt", "seed": seed})
