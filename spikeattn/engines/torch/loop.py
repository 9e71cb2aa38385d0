"""One run of the torch engine: its tensors, one step, and the result.

:class:`TorchRun` plans the run (lowerings, update order, memory, refused before anything is
allocated), allocates it, and steps it.  Each step, in the circuit's update order:

1. a source emits its encoded input; a population sums the input that arrived for this step
   over its incoming projections (each has a ring of ``delay + 1`` slots; the sum runs in
   :func:`~spikeattn.dynamics.synapses.incoming_order`; the terms of shared projections
   whose matrices are equal or negated are summed before one product,
   :func:`~.structured.arrived_sum`), steps its neurons with its
   :class:`~spikeattn.dynamics.Dynamics` (``step_carries``: the numpy engine's functions, on
   tensors) and counts its active updates: neurons that carry state, or that receive an
   event (asked of the arrived projections only where some neuron does not carry);
2. every projection whose pre nodes have all emitted this step (a product waits for the
   later of its two) puts its ``emit`` into slot ``t + delay`` of its ring.

Spikes, ops and messages are counted by :class:`~.counters.NodeCounter` from the outputs;
products count themselves.  On the CPU a step skips the work of pre nodes that emitted
nothing (the host sync is free there); on CUDA nothing waits for the device until the end.
"""
from __future__ import annotations

import numpy as np

from ...counting import new_counts
from ...dynamics import Dynamics, dynamics_for
from ...dynamics.synapses import incoming_order, synapse_tables
from ..overflow import OverflowMonitor
from . import memory
from .counters import DeviceCounts, count_true
from .lowering import Context, lower
from .product import value_kind   # (importing it registers the product lowering)
from .structured import arrived_sum, link_shared


class TorchRun:
    #: False runs the GPU's sync-free path on the CPU too (tests of that path without a GPU)
    host_syncs: bool = True

    def __init__(self, engine, circuit, inputs, steps: int, batch: int, record: set):
        torch, device = engine.torch, engine.device
        self.torch, self.device, self.dtype = torch, device, engine.dtype
        self.circuit, self.steps, self.batch, self.record = circuit, steps, batch, record
        self.cpu = device.type == "cpu"
        self.syncs = self.cpu and self.host_syncs   # skipping empty work costs a host sync: CPU only
        self.counting = engine.count_events
        nodes, pops = circuit.nodes(), circuit.populations
        self.pops, self.order = pops, circuit.update_order()
        self.tables = synapse_tables(circuit.flat_part() if circuit.structured else circuit)
        ctx = self.ctx = Context(torch, device, self.dtype, batch, circuit, inputs)
        self.lowered = lower(circuit, ctx, self.tables)
        link_shared(self.lowered)
        self.incoming = incoming_order(circuit)
        position = {n: k for k, n in enumerate(self.order)}
        outgoing: dict[str, list] = {n: [] for n in nodes}
        self.emit_after: dict[str, list] = {n: [] for n in nodes}   # node -> lowerings it completes
        for lw in self.lowered.values():
            for pre in dict.fromkeys(lw.pres):
                outgoing[pre].append(lw)
            self.emit_after[max(lw.pres, key=position.__getitem__)].append(lw)
        self.is_pre = {n for n in nodes if outgoing[n]}
        self.uses_cols = {n: any(lw.uses_cols for lw in outgoing[n]) for n in nodes}
        parts = memory.estimate(circuit, steps, batch, ctx.itemsize, record, self.lowered, outgoing, inputs,
                                self.cpu and self.dtype is torch.float64)
        memory.check(circuit, steps, batch, parts, device, torch)
        self._allocate(engine, inputs, outgoing)

    # ------------------------------------------------------------------ allocation
    def _tensor(self, arr):
        """A numpy array on the device: floats in the run's dtype, bools and ints as they are."""
        torch, arr = self.torch, np.asarray(arr)
        dtype = self.dtype if arr.dtype.kind == "f" else (torch.bool if arr.dtype.kind == "b" else torch.int64)
        return torch.as_tensor(np.ascontiguousarray(arr), device=self.device).to(dtype)

    def _host_buffer(self, shape, dtype):
        """A (steps, batch, size) record: numpy-backed on the CPU, pinned host memory on CUDA."""
        torch = self.torch
        if self.cpu:
            np_dtype = np.bool_ if dtype is torch.bool else torch.empty((), dtype=dtype).numpy().dtype
            return torch.from_numpy(np.zeros(shape, np_dtype))
        return torch.zeros(shape, dtype=dtype, pin_memory=True)

    def _allocate(self, engine, inputs, outgoing) -> None:
        torch, device, batch, steps, pops = self.torch, self.device, self.batch, self.steps, self.pops
        for lw in self.lowered.values():
            lw.build()
        self.dyn = {n: dynamics_for(p.model) for n, p in pops.items()}
        self.params = {n: {k: self._tensor(v) for k, v in self.dyn[n].params(p).items()} for n, p in pops.items()}
        self.state = {n: {k: self._tensor(v) for k, v in self.dyn[n].init_state(p, batch).items()}
                      for n, p in pops.items()}
        self.size = {n: p.size for n, p in pops.items()}
        self.zero_in = {n: torch.zeros((batch, p.size), dtype=self.dtype, device=device) for n, p in pops.items()}
        self.src_in = {n: torch.from_numpy(np.ascontiguousarray(x)).to(
            device=device, dtype=torch.bool if x.dtype.kind == "b" else self.dtype)
            for n, x in ((n, inputs[n]) for n in self.circuit.sources)}
        self.rec = {n: self._host_buffer((steps, batch, p.size), self.dtype if p.model.graded_output else torch.bool)
                    for n, p in pops.items() if n in self.record}
        self.probes = {pr.target: {} for pr in self.circuit.probes}
        for pr in self.circuit.probes:
            for var in pr.variables:
                self.probes[pr.target][var] = self._host_buffer((steps, batch, pops[pr.target].size), self.dtype)
        self.dc = DeviceCounts(torch, device, steps, batch)
        # a node's outputs of every step, where the run keeps them on the device anyway
        history = {**self.src_in, **(self.rec if self.cpu else {})}
        kinds = {n: value_kind(node, self.ctx.bool_inputs.get(n, False), None)
                 for n, node in self.circuit.nodes().items()}
        self.counters = {n: self.dc.add_node(n, node.size, outgoing[n], history.get(n), n in self.src_in,
                                             kinds[n][0], kinds[n][2])
                         for n, node in self.circuit.nodes().items()}
        self.active = {n: self.dc.add_population(n) for n in pops}
        for name, lw in self.lowered.items():
            if lw.fan_out is None:
                lw.counts = self.dc.add_own(name)
        self.rings = {n: [None] * (lw.delay + 1) for n, lw in self.lowered.items()}
        self.events = {n: [None] * (lw.delay + 1) for n, lw in self.lowered.items()}
        self.monitor = OverflowMonitor(self.circuit, steps, batch, engine.on_overflow)
        self.raise_at_once = engine.on_overflow == "raise"
        self.diag: dict[tuple[str, str], object] = {}
        # Dynamics.check's default flags only state that is non-finite after the step: on the
        # CPU one test that every value is finite stands for it on most steps
        self.default_check = {n: type(d).check is Dynamics.check for n, d in self.dyn.items()}

    # ------------------------------------------------------------------ one step
    def step(self, t: int) -> None:
        torch, syncs = self.torch, self.syncs
        self.ctx.new_step()
        emitted = {}
        for name in self.order:
            out = self._update(name, t) if name in self.pops else self.src_in[name][t]
            if not (self.counting or name in self.is_pre):
                continue
            nz = out if out.dtype is torch.bool else out.bool()     # != 0 (NaN included), one pass
            if self.counting:
                self.counters[name].step(t, out, nz)
            if name not in self.is_pre:
                continue
            cols, empty = None, False
            if syncs:   # the neurons that emitted in some sample, where a lowering uses them
                if self.uses_cols[name]:
                    cols = nz.view(torch.uint8).amax(dim=0).nonzero()[:, 0]
                    empty = not cols.numel()
                else:
                    empty = not bool((self.counters[name].spikes[t] if self.counting else nz).any())
            emitted[name] = (out, nz, cols, empty)
            for lw in self.emit_after[name]:
                outs, nzs, colss, empties = zip(*(emitted[p] for p in lw.pres))
                if any(empties):
                    continue        # a pre emitted nothing (CPU): the slot stays empty (zero)
                slot = (t + lw.delay) % (lw.delay + 1)
                self.rings[lw.name][slot], self.events[lw.name][slot] = lw.emit(t, outs, nzs, colss)

    def _update(self, name: str, t: int):
        """Sum the arrived input, step the population, count and record; its output."""
        torch = self.torch
        vals, arrived = [], []
        for pname in self.incoming[name]:
            lw = self.lowered[pname]
            slot = t % (lw.delay + 1)
            val = self.rings[pname][slot]
            if val is None:
                continue
            arrived.append((lw, self.events[pname][slot]))
            self.rings[pname][slot] = self.events[pname][slot] = None
            vals.append(val)
        # acc[p1] + acc[p2] + ..., the terms of one shared matrix summed first (one product)
        a_in = arrived_sum(self.ctx, vals) if vals else self.zero_in[name]
        d, pr, before = self.dyn[name], self.params[name], self.state[name]
        if self.counting:
            s, after, active = d.step_carries(pr, before, a_in)
            # received events matter only where a neuron does not carry
            if arrived and not (self.syncs and bool(active.all())):
                for lw, event in arrived:
                    active = active | lw.received(event)
            count_true(torch, active, self.active[name][t])
        else:
            s, after = d.step(pr, before, a_in)
        if not (self.syncs and self.default_check[name] and self._all_finite(after)):
            self._diagnostics(name, t, d.check(pr, before, a_in, after))
        self.state[name] = after
        copy_async = not self.cpu
        if name in self.rec:
            self.rec[name][t].copy_(s, non_blocking=copy_async)
        for var, arr in self.probes.get(name, {}).items():
            arr[t].copy_(after[var], non_blocking=copy_async)
        return s

    def _all_finite(self, after) -> bool:
        """True if every float state value is finite (a finite sum proves it; an overflowing
        sum of finite values only sends the step to the exact check)."""
        return all(bool(self.torch.isfinite(v.sum())) for v in after.values() if v.is_floating_point())

    def _diagnostics(self, pop: str, t: int, flags: dict) -> None:
        """Per step and sample, the neurons each flag marks: on the device (reported at the end),
        or, with ``on_overflow="raise"``, checked at once (a host sync per step)."""
        torch = self.torch
        for flag, mask in flags.items():
            if self.raise_at_once:
                self.monitor.record(pop, t, {flag: mask.cpu().numpy()})
                continue
            buf = self.diag.get((pop, flag))
            if buf is None:
                buf = self.diag[(pop, flag)] = torch.zeros((self.steps, self.batch), dtype=torch.int64,
                                                           device=self.device)
            torch.sum(mask, dim=-1, out=buf[t])

    # ------------------------------------------------------------------ result
    def finish(self, inputs):
        """``(spikes, probes, counts, diagnostics)`` as numpy, after waiting for the device."""
        if not self.cpu:
            self.torch.cuda.synchronize(self.device)
        counts = new_counts(self.circuit, self.steps, self.batch, self.tables)
        self.dc.finish(counts, self.circuit, self.lowered)
        for (pop, flag), buf in self.diag.items():
            self.monitor.record_counts(pop, flag, buf.cpu().numpy())
        spikes = {n: r.numpy() for n, r in self.rec.items()}
        spikes.update({n: inputs[n] for n in self.circuit.sources if n in self.record})
        probes = {p: {v: a.numpy() for v, a in d.items()} for p, d in self.probes.items()}
        return spikes, probes, counts, self.monitor.finish()
