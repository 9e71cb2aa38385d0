"""The torch engine: ``simulate(circuit, inputs, steps, engine="torch")``.

The numpy engine's semantics on torch tensors, the whole batch at once, on the CPU or a CUDA
device.  Each step, in the circuit's update order: a source emits its encoded input; a
population sums what arrived for this step over its incoming projections (each projection
has its own delay ring of ``delay + 1`` slots; the sum runs in
:func:`~spikeattn.dynamics.synapses.incoming_order`), steps its neurons with the model's
:class:`~spikeattn.dynamics.Dynamics` — the very same ``step``/``carries``/``check``
functions as the numpy engine, run on tensors (:mod:`spikeattn.dynamics.xp`) — and emits;
every outgoing projection then puts ``W @ m(s)`` into its slot ``t + delay``
(:mod:`.lowering`: a dense matmul, or torch CSR for large sparse matrices).

Counts: the same :class:`~spikeattn.counts.EventCounts` as the numpy engine, exactly, per
element, step and sample, computed on the device from the spike tensors (:mod:`.counters`)
and moved to numpy once at the end.  Diagnostics (``nonfinite:<var>``) as the numpy engine's,
reported through :class:`~spikeattn.engines.overflow.OverflowMonitor`.

Float sums run in BLAS order, not the order of :mod:`spikeattn.dynamics.synapses`, so spikes
equal the numpy engine's wherever the sums are exact (e.g. weights that are multiples of a
power of two) and may differ at exact threshold ties otherwise ("float:order_exact" is not
claimed).  Fixed-point models are numpy-only for now (refused with the reason).

Options: ``device`` ("cpu" default, "cuda", "cuda:N"); ``dtype`` ("float64" default,
"float32": what a CUDA run usually wants); ``record`` (None: the spikes of every population
and source are returned; a list of node names: only those, to bound memory; probes are
always kept); ``on_overflow`` ("warn" / "wrap" / "raise", as the numpy engine).  The memory
a run needs is estimated (:mod:`.memory`) and a run that does not fit is refused with a
:class:`~spikeattn.errors.MemoryLimitError` before anything is allocated.
"""
from __future__ import annotations

import importlib.util
import time
from typing import ClassVar

import numpy as np

from ... import __version__
from ...counting import new_counts
from ...dynamics import Dynamics, dynamics_for
from ...dynamics.synapses import incoming_order, signed_output, synapse_tables
from ...errors import ParameterError, require
from ...progress import progress_bar
from ...result import SimResult
from ..base import Engine
from ..overflow import MODES, OverflowMonitor
from . import memory
from .counters import DeviceCounts
from .lowering import Context, lower

DTYPES = ("float64", "float32")
_FIXED = "fixed-point (integer) Dynamics are numpy-only so far; the numpy, compiled and lava engines run them"


class TorchEngine(Engine):
    """The numpy engine's semantics on torch (CPU or CUDA); see the module docstring."""

    name = "torch"
    unsupported = {
        "model:loihi_lif": _FIXED,
        "model:loihi_multi_threshold_if": _FIXED,
        "model:loihi_graded_relu": _FIXED,
        "float:order_exact": "float sums run in BLAS order (matmul), not the defined summation order, so spikes "
                             "equal the numpy engine's only where the sums are exact",
    }
    # Listed explicitly: a feature key added to features.FEATURES later stays unsupported
    # until this engine runs it.
    supported = frozenset({
        "model:lif", "model:if", "lif:refractory", "lif:reset_subtract", "lif:per_neuron_params",
        "projection:delay0", "projection:long_delay", "projection:sparse", "projection:graded",
        "projection:count", "source:graded", "probe", "model:graded_relu", "model:ternary_if",
        "model:multi_threshold_if"})
    options_allowed = frozenset({"device", "dtype", "record", "on_overflow"})
    configurations = {"default": {}}
    reports_diagnostics = True
    #: False skips the event counting (the counts are then all zero): only for measuring
    #: what the counting costs (benchmarks); never set it for a result that is used.
    count_events: ClassVar[bool] = True

    @classmethod
    def unavailable(cls):
        return None if importlib.util.find_spec("torch") else \
            "torch is not installed; install it with pip install 'spikeattn[torch]'"

    def __init__(self, device: str = "cpu", dtype: str = "float64", record=None, on_overflow: str = "warn",
                 **options):
        super().__init__(device=device, dtype=dtype, record=record, on_overflow=on_overflow, **options)
        torch = require("torch", "torch", "The torch engine")
        where = "engine 'torch'"
        if not isinstance(device, str):
            raise ParameterError(where, "device", f"is {device!r}; must be a str.", "use 'cpu' or 'cuda'.")
        try:
            dev = torch.device(device)
        except (RuntimeError, ValueError):
            dev = None
        if dev is None or dev.type not in ("cpu", "cuda"):
            raise ParameterError(where, "device", f"is {device!r}.", "use 'cpu', 'cuda' or 'cuda:N'.")
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ParameterError(where, "device", f"is {device!r}, but torch.cuda.is_available() is False (no CUDA "
                                 "device, or a CPU-only torch build).", "use device='cpu'.")
        if dtype not in DTYPES:
            raise ParameterError(where, "dtype", f"is {dtype!r}.", f"use one of {list(DTYPES)}.")
        if record is not None and (isinstance(record, str) or not isinstance(record, (list, tuple, set, frozenset))
                                   or not all(isinstance(n, str) for n in record)):
            raise ParameterError(where, "record", f"is {record!r}; must be None (every node) or a list of node "
                                 "names.", "e.g. record=['out'].")
        if on_overflow not in MODES:
            raise ParameterError(where, "on_overflow", f"is {on_overflow!r}.", f"use one of {list(MODES)}.")
        self.torch, self.device, self.dtype = torch, dev, getattr(torch, dtype)
        self.record, self.on_overflow = record, on_overflow

    # ------------------------------------------------------------------ helpers
    def _recorded(self, circuit) -> set:
        nodes = circuit.nodes()
        if self.record is None:
            return set(nodes)
        unknown = sorted(set(self.record) - set(nodes))
        if unknown:
            raise ParameterError("engine 'torch'", "record", f"names {unknown}, which are not nodes of circuit "
                                 f"'{circuit.name}'.", f"use names from {sorted(nodes)[:20]}.")
        return set(self.record)

    def _tensor(self, arr):
        """A numpy array on the device: floats in the run's dtype, bools and ints as they are."""
        arr = np.asarray(arr)
        dtype = self.dtype if arr.dtype.kind == "f" else None
        return self.torch.as_tensor(np.ascontiguousarray(arr), device=self.device).to(dtype or
                                                                                       _int_or_bool(self.torch, arr))

    def _input(self, x: np.ndarray):
        dtype = self.torch.bool if x.dtype.kind == "b" else self.dtype
        return self.torch.from_numpy(np.ascontiguousarray(x)).to(device=self.device, dtype=dtype)

    def _host_buffer(self, shape, dtype):
        """A (steps, batch, size) record: numpy-backed on the CPU, pinned host memory on CUDA."""
        torch = self.torch
        if self.device.type == "cpu":
            np_dtype = np.bool_ if dtype is torch.bool else torch.empty((), dtype=dtype).numpy().dtype
            return torch.from_numpy(np.zeros(shape, np_dtype))
        return torch.zeros(shape, dtype=dtype, pin_memory=True)

    # ------------------------------------------------------------------ run
    def run(self, circuit, inputs, steps, batch, seed, progress=False) -> SimResult:
        torch, device = self.torch, self.device
        t_start = time.perf_counter()
        record = self._recorded(circuit)
        nodes, pops = circuit.nodes(), circuit.populations
        order = circuit.update_order()
        cpu = device.type == "cpu"     # host syncs (skipping work on empty steps) only where they are free
        copy_async = not cpu
        counting = self.count_events
        tables = synapse_tables(circuit)
        ctx = Context(torch, device, self.dtype, batch, {n: signed_output(circuit, n) for n in nodes})
        lowered = lower(circuit, ctx, tables)
        incoming = incoming_order(circuit)
        outgoing: dict[str, list] = {n: [] for n in nodes}
        for lw in lowered.values():
            for pre in dict.fromkeys(lw.pres):
                outgoing[pre].append(lw)
        parts = memory.estimate(circuit, steps, batch, ctx.itemsize, record, lowered, outgoing, inputs,
                                device.type == "cpu" and self.dtype is torch.float64)
        memory.check(circuit, steps, batch, parts, device, torch)

        for lw in lowered.values():
            lw.build()
        dyn = {n: dynamics_for(p.model) for n, p in pops.items()}
        params = {n: {k: self._tensor(v) for k, v in dyn[n].params(p).items()} for n, p in pops.items()}
        state = {n: {k: self._tensor(v) for k, v in dyn[n].init_state(p, batch).items()} for n, p in pops.items()}
        size = {n: p.size for n, p in pops.items()}
        zero_in = {n: torch.zeros((batch, p.size), dtype=self.dtype, device=device) for n, p in pops.items()}
        src_in = {n: self._input(inputs[n]) for n in circuit.sources}
        rec = {n: self._host_buffer((steps, batch, p.size), self.dtype if p.model.graded_output else torch.bool)
               for n, p in pops.items() if n in record}
        probes = {pr.target: {} for pr in circuit.probes}
        for pr in circuit.probes:
            for var in pr.variables:
                probes[pr.target][var] = self._host_buffer((steps, batch, pops[pr.target].size), self.dtype)
        dc = DeviceCounts(torch, device, steps, batch)
        # a node's outputs of every step, where the run keeps them on the device anyway
        history = {**src_in, **({n: rec[n] for n in rec} if cpu else {})}
        counters = {n: dc.add_node(n, node.size, outgoing[n], history.get(n)) for n, node in nodes.items()}
        active_buf = {n: dc.add_population(n) for n in pops}
        rings = {n: [None] * (lw.delay + 1) for n, lw in lowered.items()}
        events = {n: [None] * (lw.delay + 1) for n, lw in lowered.items()}
        monitor = OverflowMonitor(circuit, steps, batch, self.on_overflow)
        diag: dict[tuple[str, str], object] = {}
        # Dynamics.check's default flags only state that is non-finite after the step: on the
        # CPU one test that every value is finite stands for it on most steps
        default_check = {n: type(d).check is Dynamics.check for n, d in dyn.items()}

        def all_finite(after):
            return all(bool(torch.isfinite(v).all()) for v in after.values() if v.is_floating_point())

        bar = progress_bar(steps, progress, f"torch: {circuit.name}")
        for t in range(steps):
            for name in order:
                if name in pops:
                    a_in, arrived = None, []
                    for pname in incoming[name]:
                        slot = t % (lowered[pname].delay + 1)
                        val, ev = rings[pname][slot], events[pname][slot]
                        if val is None:
                            continue
                        rings[pname][slot] = events[pname][slot] = None
                        a_in = val + 0.0 if a_in is None else a_in + val
                        arrived.append((lowered[pname], ev))
                    if a_in is None:
                        a_in = zero_in[name]
                    d, pr, before = dyn[name], params[name], state[name]
                    if counting:
                        s, after, active = d.step_carries(pr, before, a_in)
                        n_active = active_buf[name][t]
                        _count_true(torch, active, n_active)
                        # received events matter only where a neuron does not carry
                        if arrived and not (cpu and bool((n_active == size[name]).all())):
                            for lw, (nzs, cols) in arrived:
                                active = active | lw.received(nzs, cols)
                            _count_true(torch, active, n_active)
                    else:
                        s, after = d.step(pr, before, a_in)
                    if not (cpu and default_check[name] and all_finite(after)):
                        self._diagnostics(monitor, diag, name, t, d.check(pr, before, a_in, after))
                    state[name] = after
                    if name in rec:
                        rec[name][t].copy_(s, non_blocking=copy_async)
                    for var, arr in probes.get(name, {}).items():
                        arr[t].copy_(after[var], non_blocking=copy_async)
                    out = s
                else:
                    out = src_in[name][t]
                if counting:
                    counters[name].step(t, out)
                if not outgoing[name]:
                    continue
                nz = out if out.dtype is torch.bool else out != 0
                # on the CPU: the pre neurons that emitted in some sample (none: nothing to deliver)
                cols = nz.view(torch.uint8).amax(dim=0).nonzero()[:, 0] if cpu else None
                if cols is not None and not cols.numel():
                    continue        # every outgoing slot stays empty (zero)
                for lw in outgoing[name]:
                    slot = (t + lw.delay) % (lw.delay + 1)
                    rings[lw.name][slot] = lw.deliver((out,), (nz,), (cols,))
                    events[lw.name][slot] = ((nz,), (cols,))
            bar.update(1)
        bar.close()
        if not cpu:
            torch.cuda.synchronize(device)

        counts = new_counts(circuit, steps, batch, tables)
        dc.finish(counts, circuit, lowered)
        for (pop, flag), buf in diag.items():
            monitor.record_counts(pop, flag, buf.cpu().numpy())
        spikes = {n: rec[n].numpy() for n in rec}
        spikes.update({n: inputs[n] for n in circuit.sources if n in record})
        wall = time.perf_counter() - t_start
        return SimResult(spikes=spikes, probes={p: {v: a.numpy() for v, a in d.items()} for p, d in probes.items()},
                         counts=counts, steps=steps, batch=batch, dt=circuit.dt, engine=self.name, wall_s=wall,
                         diagnostics=monitor.finish(),
                         meta={"engine": self.name, "version": __version__, "mode": "floating_pt", "seed": seed,
                               "device": str(device), "dtype": str(self.dtype).replace("torch.", ""),
                               "record": None if self.record is None else sorted(record),
                               "lowering": {n: _describe(lw) for n, lw in lowered.items()}})

    def _diagnostics(self, monitor, diag, pop: str, t: int, flags: dict) -> None:
        """Per step and sample, the neurons each flag marks: on the device (reported at the end),
        or, with ``on_overflow="raise"``, checked at once (a host sync per step)."""
        torch = self.torch
        for flag, mask in flags.items():
            if self.on_overflow == "raise":
                monitor.record(pop, t, {flag: mask.cpu().numpy()})
                continue
            buf = diag.get((pop, flag))
            if buf is None:
                buf = diag[(pop, flag)] = torch.zeros((monitor.steps, monitor.batch), dtype=torch.int64,
                                                      device=self.device)
            torch.sum(mask, dim=-1, out=buf[t])


def _count_true(torch, mask, out) -> None:
    """``out[b] = mask[b].sum()`` for a (batch, size) bool mask: an int32 sum of its bytes
    (on the CPU several times faster than a bool sum)."""
    torch.sum(mask.view(torch.uint8), dim=1, dtype=torch.int32, out=out)


def _int_or_bool(torch, arr):
    return torch.bool if arr.dtype.kind == "b" else torch.int64


def _describe(lw) -> str:
    return getattr(lw, "describe", lambda: type(lw).__name__)()
