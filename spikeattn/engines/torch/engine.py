"""The torch engine: ``simulate(circuit, inputs, steps, engine="torch")``.

The numpy engine's semantics on torch tensors, the whole batch at once, on the CPU or a CUDA
device (the step loop: :mod:`.loop`).  Neurons step with the model's
:class:`~spikeattn.dynamics.Dynamics` — the very same ``step``/``carries``/``check``
functions as the numpy engine, run on tensors (:mod:`spikeattn.dynamics.xp`); projections
are tensor operations (:mod:`.lowering`: a dense matmul, or torch CSR for large sparse
matrices), and structured projections run as they are stored, never expanded
(:mod:`.structured`: shared matmul, gather, conv2d, einsum).

Counts: the same :class:`~spikeattn.counts.EventCounts` as the numpy engine (on a structured
circuit: as the numpy engine on its expansion, element by element), exactly, per element,
step and sample, computed on the device from the spike tensors (:mod:`.counters`) and moved
to numpy once at the end.  Diagnostics (``nonfinite:<var>``) as the numpy engine's, reported
through :class:`~spikeattn.engines.overflow.OverflowMonitor`.

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

from ...version import __version__
from ...errors import ParameterError, require
from ...progress import progress_bar
from ...result import SimResult
from ..base import Engine
from ..overflow import MODES
from .loop import TorchRun

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
        "model:multi_threshold_if", "projection:shared", "projection:index", "projection:conv",
        "projection:product", "model:own_dynamics"})
    runs_structured = True
    options_allowed = frozenset({"device", "dtype", "record", "on_overflow"})
    configurations = {"default": {}}
    reports_diagnostics = True
    estimates_memory = True     # .memory: from the recorded nodes only, before anything is allocated
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

    # ------------------------------------------------------------------ run
    def run(self, circuit, inputs, steps, batch, seed, progress=False) -> SimResult:
        t_start = time.perf_counter()
        run = TorchRun(self, circuit, inputs, steps, batch, self._recorded(circuit))
        bar = progress_bar(steps, progress, f"torch: {circuit.name}")
        for t in range(steps):
            run.step(t)
            bar.update(1)
        bar.close()
        spikes, probes, counts, diagnostics = run.finish(inputs)
        return SimResult(spikes=spikes, probes=probes, counts=counts, steps=steps, batch=batch, dt=circuit.dt,
                         engine=self.name, wall_s=time.perf_counter() - t_start, diagnostics=diagnostics,
                         meta={"engine": self.name, "version": __version__, "mode": "floating_pt", "seed": seed,
                               "device": str(self.device), "dtype": str(self.dtype).replace("torch.", ""),
                               "record": None if self.record is None else sorted(self.record),
                               "lowering": {n: lw.describe() for n, lw in run.lowered.items()}})
