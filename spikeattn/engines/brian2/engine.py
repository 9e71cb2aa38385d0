"""The Brian2 engine: runs float LIF/IF and GradedReLU circuits on Brian2 2.9, step-exact
with numpy.

How a step maps onto Brian2's schedule (groups, thresholds, resets, synapses) and why the
delays line up is stated in :mod:`spikeattn.engines.brian2.lowering`.  In short: every
object runs in the ``groups`` slot, node by node in ``Circuit.update_order()``; for each
node, its incoming synaptic pathways deliver into ``a_in``, then a ``run_regularly``
update consumes and clears ``a_in`` (``u = u*(1-du) + a_in; v = v*(1-dv) + u + bias``),
then the threshold (``v > vth``) and the reset run.  A GradedReLU population overwrites
``v = a_in`` and emits its graded output ``out = v - vth`` where ``v > vth`` (see
:mod:`spikeattn.engines.brian2.graded`; recorded as the population's spikes).  A
projection of delay D gets the Brian2 delay ``D * dt`` when its pre-synaptic node is earlier in the update order than its
post-synaptic node and ``(D - 1) * dt`` otherwise (the spike is seen one step later).

Options (``simulate(..., engine="brian2", **options)``):

``device``: ``"runtime"`` (default; Brian2's runtime device) or ``"cpp_standalone"``
    (C++ code built and run in a temporary directory; the device is re-initialised after
    each run, so a process can run any number of standalone simulations one after another).
``codegen_target``: runtime code generation target, ``"numpy"`` (default) or ``"cython"``.
``exact_float``: True (default) compiles standalone (and Cython) code without ``-ffast-math`` and with
    ``-ffp-contract=off`` so that no multiply-add is fused and sums are not reordered:
    the float64 results then equal numpy's bit for bit.  False uses Brian2's default flags.
``directory``: build directory for ``cpp_standalone`` (default: a temporary one, removed).

Batch: the circuit is replicated B times inside the same Brian2 groups (one run, one
compilation).  The run records the spikes of every population (SpikeMonitor), the probed
variables after every step, and a 1-byte flag per neuron and step, ``zero_state`` (u and v
were zero before the update), from which the :class:`~spikeattn.counts.EventCounts` are
derived (:func:`spikeattn.counting.counts_from_spikes`, identical to the numpy engine's).

``SimResult.meta``: ``brian2_version``, ``device``, ``codegen_target``, ``exact_float``,
``batch_mode`` ("replicated"), ``brian2_delays`` (projection -> Brian2 delay in steps),
``run_s`` (the simulation loop alone: Brian2's network run after code generation, or the
standalone binary's own run time), ``codegen_s`` (runtime: code generation) or ``build_s``
(standalone: code generation, compilation, launching the binary).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time

import numpy as np

from ...version import __version__
from ...counting import counts_from_spikes
from ...errors import EngineError, ParameterError, require
from ...ir import Circuit
from ...result import SimResult
from ..base import Engine
from .lowering import lower_circuit

DEVICES = ("runtime", "cpp_standalone")
CODEGEN_TARGETS = ("numpy", "cython")
EXACT_GCC_FLAGS = ["-w", "-O3", "-fno-fast-math", "-ffp-contract=off", "-march=native", "-std=c++11"]


class Brian2Engine(Engine):
    """Brian2 2.9 engine for floating-point LIF/IF/GradedReLU circuits (see module docstring)."""

    name = "brian2"
    unsupported = {"model:own_dynamics": "Brian2 lowers each model kind to equations of its own (UPDATE_CODE), "
                                         "which would silently replace the model's own Dynamics; the numpy and "
                                         "torch engines run it",
                   "model:loihi_lif": "Brian2 has no Loihi fixed-point arithmetic (24-bit wrapping u, "
                                      "12-bit decays, truncation toward zero)",
                   "model:ternary_if": "signed spikes are not lowered to Brian2 yet (the numpy and compiled engines run them)",
                   "model:multi_threshold_if": "level spikes are not lowered to Brian2 yet (the numpy and compiled engines run them)",
                   "projection:count": "count messages are not lowered to Brian2 yet (the numpy and compiled engines run them)",
                   "model:loihi_multi_threshold_if": "Brian2 has no Loihi fixed-point arithmetic (int32 wraps, 24-bit "
                                                     "saturation); the numpy, compiled and lava engines run it",
                   "model:loihi_graded_relu": "Brian2 has no Loihi fixed-point arithmetic (int32 wraps, 24-bit "
                                              "saturation); the numpy, compiled and lava engines run it"}
    # Listed explicitly: a feature key added to features.FEATURES later stays unsupported
    # until this engine lowers it.
    supported = frozenset({"model:lif", "model:if", "lif:refractory", "lif:reset_subtract",
                           "lif:per_neuron_params", "projection:delay0", "projection:long_delay",
                           "projection:sparse", "projection:graded", "source:graded", "probe",
                           "model:graded_relu", "float:order_exact"})

    options_allowed = frozenset({"device", "codegen_target", "exact_float", "directory", "on_overflow"})
    configurations = {"runtime": {}, "cython": {"codegen_target": "cython"},
                      "cpp_standalone": {"device": "cpp_standalone"}}

    @classmethod
    def unavailable(cls):
        import importlib.util
        return None if importlib.util.find_spec("brian2") else "brian2 is not installed (extra 'brian2')"

    def __init__(self, device: str = "runtime", codegen_target: str = "numpy", exact_float: bool = True,
                 directory: str | None = None, on_overflow: str = "warn", **options):
        if options:
            raise ParameterError("engine 'brian2'", sorted(options)[0], "is not an option of this engine.",
                                 "use device, codegen_target, exact_float, directory or on_overflow.")
        if device not in DEVICES:
            raise ParameterError("engine 'brian2'", "device", f"is {device!r}.", f"use one of {list(DEVICES)}.")
        if codegen_target not in CODEGEN_TARGETS:
            raise ParameterError("engine 'brian2'", "codegen_target", f"is {codegen_target!r}.",
                                 f"use one of {list(CODEGEN_TARGETS)}.")
        super().__init__(device=device, codegen_target=codegen_target, exact_float=exact_float,
                         directory=directory)
        self.device, self.codegen_target = device, codegen_target
        self.exact_float, self.directory = bool(exact_float), directory

    # ------------------------------------------------------------------ run
    def run(self, circuit: Circuit, inputs, steps, batch, seed, progress=False) -> SimResult:
        b2 = require("brian2", "brian2", "The Brian2 engine")
        self.check(circuit)
        t_start = time.perf_counter()
        saved = {k: b2.prefs[k] for k in ("codegen.target", "codegen.cpp.extra_compile_args_gcc",
                                          "devices.cpp_standalone.extra_make_args_unix")}
        standalone = self.device == "cpp_standalone"
        build_dir = None
        timings = {}
        try:
            b2.prefs["codegen.target"] = self.codegen_target
            if self.exact_float and (standalone or self.codegen_target == "cython"):
                b2.prefs["codegen.cpp.extra_compile_args_gcc"] = list(EXACT_GCC_FLAGS)
            if standalone:
                # Brian2's default is an unbounded ``make -j``: a large circuit then starts one
                # compiler per source file at once (hundreds), exhausting memory.
                b2.prefs["devices.cpp_standalone.extra_make_args_unix"] = [f"-j{os.cpu_count() or 1}"]
                build_dir = self.directory or tempfile.mkdtemp(prefix="spikeattn_brian2_")
                b2.set_device("cpp_standalone", build_on_run=False, directory=build_dir)
            low = lower_circuit(b2, circuit, inputs, batch)
            net = b2.Network(low.objects)
            if not standalone:
                # A run of zero steps generates (and for Cython compiles) all code objects,
                # so that ``run_s`` below times the simulation loop alone.
                t_prep = time.perf_counter()
                net.run(0 * b2.second, namespace=dict(low.namespace))
                timings["codegen_s"] = time.perf_counter() - t_prep
            t_run = time.perf_counter()
            report = _tqdm_report(steps, circuit.name) if progress and not standalone else None
            net.run(steps * circuit.dt * b2.second, namespace=dict(low.namespace),
                    report=report, report_period=1 * b2.second)
            if standalone:
                b2.get_device().build(directory=build_dir, compile=True, run=True, debug=False)
                timings["run_s"] = float(b2.get_device()._last_run_time)
                timings["build_s"] = time.perf_counter() - t_run - timings["run_s"]
            else:
                timings["run_s"] = time.perf_counter() - t_run
            spikes, states, zero_state = _read_back(b2, circuit, low, steps, batch)
        except Exception as exc:
            if isinstance(exc, (ParameterError, EngineError)):
                raise
            raise EngineError(f"Brian2 ({self.device}) failed to run circuit '{circuit.name}': "
                              f"{type(exc).__name__}: {exc}") from exc
        finally:
            if standalone:
                from brian2.devices.device import reset_device

                b2.get_device().reinit()
                reset_device()
                if build_dir and not self.directory:
                    shutil.rmtree(build_dir, ignore_errors=True)
            for k, v in saved.items():
                b2.prefs[k] = v
        spikes.update({n: inputs[n] for n in circuit.sources})
        probes = {pr.target: {} for pr in circuit.probes}
        for pr in circuit.probes:
            for var in pr.variables:
                probes[pr.target][var] = states[pr.target][var]
        counts = counts_from_spikes(circuit, spikes, zero_state=zero_state)
        wall = time.perf_counter() - t_start
        return SimResult(spikes=spikes, probes=probes, counts=counts, steps=steps, batch=batch, dt=circuit.dt,
                         engine=self.name, wall_s=wall,
                         meta={"engine": self.name, "version": __version__, "brian2_version": b2.__version__,
                               "device": self.device,
                               "codegen_target": "cpp_standalone" if standalone else self.codegen_target,
                               "exact_float": self.exact_float, "batch_mode": "replicated",
                               "brian2_delays": low.brian2_delays, "mode": "floating_pt", "seed": seed,
                               **timings})


def _read_back(b2, circuit: Circuit, low, steps: int, batch: int):
    """Spike arrays ``(steps, batch, size)``, probed states after every step and the
    zero-state flags before every update, from the monitors.  A GradedReLU population's
    spikes are its recorded graded output (float64); it has no memory, so its state counts
    as zero before every update (only received events make its update active)."""
    dt = circuit.dt
    spikes, states, zero_state = {}, {}, {}
    for name, pop in circuit.populations.items():
        n = pop.size
        if name in low.graded_pops:
            values = _recorded(low.state_monitors[name], ("out", *low.recorded[name]), name, steps, batch, n)
            spikes[name] = values.pop("out")
            states[name] = {v: values[v] for v in low.recorded[name]}
            zero_state[name] = np.ones((steps, batch, n), bool)
            continue
        mon = low.spike_monitors[name]
        idx = np.asarray(mon.i[:], np.int64)
        step = np.rint(np.asarray(mon.t_[:]) / dt).astype(np.int64)
        s = np.zeros((steps, batch, n), bool)
        s[step, idx // n, idx % n] = True
        spikes[name] = s
        recorded = _recorded(low.state_monitors[name], ("zero_state", *low.recorded[name]), name, steps, batch, n)
        zero_state[name] = recorded.pop("zero_state").astype(bool)
        states[name] = recorded
    return spikes, states, zero_state


def _recorded(st, variables, name: str, steps: int, batch: int, n: int) -> dict:
    """``var -> (steps, batch, n)`` from a StateMonitor that recorded every step."""
    recorded = {}
    for var in variables:
        rec = np.asarray(getattr(st, var))              # (batch * n, recorded steps)
        if rec.shape != (batch * n, steps):
            raise EngineError(f"Brian2 recorded {var} of population '{name}' with shape {rec.shape}; "
                              f"expected {(batch * n, steps)} (one value per neuron and step).")
        recorded[var] = np.ascontiguousarray(rec.T).reshape(steps, batch, n)
    return recorded


def _tqdm_report(steps: int, name: str):
    """Brian2 ``report`` callback driving a tqdm bar (None without tqdm)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is in every extra
        return None
    bar = tqdm(total=steps, desc=f"brian2: {name}", unit="step", leave=False)

    def report(elapsed, completed, start, duration):
        bar.update(int(round(completed * steps)) - bar.n)
        if completed >= 1.0:
            bar.close()
    return report
