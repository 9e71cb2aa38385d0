"""The Lava engine: runs a circuit on Lava 0.10's CPU simulator (``Loihi2SimCfg``).

Where lava-nc is importable (the Python 3.10 venv ``.venv-lava``) the circuit is lowered
in-process (:mod:`.lowering`); elsewhere (the main Python 3.11 venv, where lava-nc 0.10
does not import) :mod:`.bridge` runs the same engine in ``.venv-lava`` through a
subprocess, transparently.

- Fixed-point circuits (``LoihiLIF``) run with ``select_tag="fixed_pt"`` (Lava's
  bit-accurate models, bit-exact with our numpy engine); float circuits (``LIF``/``IF``)
  with ``"floating_pt"``.  Option ``mode`` forces a tag (it must fit the arithmetic).
- ``LoihiMultiThresholdIF`` / ``LoihiGradedReLU`` (fixed-point conversion neurons) run as
  ``StateMultiThresholdIF`` / ``StateLoihiGradedReLU`` (``fixed_pt`` models in
  :mod:`.procs.models`, integer graded payloads); count projections into them are Lava's
  graded Dense/Sparse (``W @ n``); float count projections are refused.
- Fixed-point projections with delay > 1 run as ``DelayLineDense`` / ``DelayLineSparse``
  (Lava's Dense/Sparse arithmetic plus a queue of pending outputs, one ``W @ s`` per step;
  Lava's DelayDense/DelaySparse rebuild a delay-fold weight stack every step).
- ``GradedReLU`` populations (float circuits) run as
  :class:`~spikeattn.engines.lava.procs.process.StateGradedReLU` (a custom process and
  ``floating_pt`` model: Lava's ``GradedReluVec`` emits ``v``, not ``v - vth``); their
  graded spikes reach Dense/Sparse with ``num_message_bits=24`` on graded projections and
  are recorded as float values.
- A batch runs as **one** compiled Lava network and **one** run by default
  (``batch_mode="stream"``, :mod:`.batching`): blocks of samples tiled block-diagonally
  (:mod:`.tiling`) follow each other in time, the models restoring the initial state at
  each sample boundary.  ``batch_mode="tile"`` runs one network per block, ``"loop"`` one
  per sample (the old behaviour).  ``meta["batch_mode"]`` says which.
- Populations sharing a model run as one Lava process and projections between the same
  groups as one ``Dense``/``Sparse`` (option ``merge``, default True, :mod:`.merging`):
  Lava's cost per step is mostly per OS process.
- Spikes and u, v are recorded by the LIF models themselves and written to a ``.npy`` file
  at the last step (:mod:`.procs`): Lava's ``Var.get``/``Monitor`` move one element per
  message (20-80 µs each), a sink ``RingBuffer`` read with ``Var.get`` is no faster.
- Lava runs the processes connected to the one ``run`` is called on, so each connected
  part of the circuit is built and run separately.
- EventCounts are computed from the recorded trace with the numpy engine's definitions
  (:mod:`.counting`), so they equal the numpy engine's counts exactly for the same trace.
- ``hardware=True`` (or ``run_cfg="loihi2_hw"``) runs on Loihi 2 through ``Loihi2HwCfg``
  (:mod:`.hardware`: Lava's own processes, spikes read back); without Intel's lava-loihi
  package (not published) Lava cannot compile for the chip and an
  :class:`~spikeattn.errors.EngineError` quotes Lava and names what is missing.
  ``run_cfg="loihi2_sim"`` runs that hardware network on the CPU simulator.

Options: ``mode`` (None, "fixed_pt", "floating_pt"), ``batch_mode`` ("stream", "tile",
"loop"), ``merge`` (bool), ``tile_neurons`` / ``tile_synapses`` (the most neurons /
synapses of one tiled block),
``hardware`` (bool), ``run_cfg`` ("sim", "loihi2_hw" or "loihi2_sim"), ``bridge`` ("auto": in-process
where lava imports, else the subprocess; "always"; "never"), ``python`` (the Lava venv's
interpreter for the bridge) and ``timeout_s`` (of the bridge's subprocess).

``meta``: lava version, run configuration, batch mode, ``compile_s`` (Lava compile and
process start), ``run_s`` (Lava's ``run`` of all steps), ``per_step_s`` (run_s per Lava
time step, over the ``lava_steps`` steps of all runs, gaps included), ``per_sample_step_s``
(run_s / (steps * batch)), ``lava_runs``, ``lava_processes`` (Lava processes of the largest
run) and ``samples_per_block``.
"""
from __future__ import annotations

import time

import numpy as np

from ...version import __version__
from ...errors import EngineError
from ...ir import Circuit
from ...ir.neurons_extra import GradedReLU
from ...result import SimResult
from .common import HW_HINT, UNSUPPORTED, LavaEngineBase, lava_importable, lava_version  # noqa: F401
from .hardware import Loihi2Engine

#: Listed explicitly: a feature key added to ``features.FEATURES`` later is unsupported
#: until a lowering for it exists here.
SUPPORTED = frozenset({"model:lif", "model:if", "model:loihi_lif", "model:graded_relu", "projection:long_delay",
                       "projection:sparse", "projection:graded", "source:graded", "probe",
                       "model:loihi_multi_threshold_if", "model:loihi_graded_relu",
                       "projection:count"})    # count: fixed-point circuits only (missing_features)
MODES = ("fixed_pt", "floating_pt")   # "bit_accurate_loihi" would leave RingBuffer without a model
BATCH_MODES = {"loop": "loop: one Lava network and run per sample",
               "tile": "tile: blocks of samples as block-diagonal copies, one Lava network and run per block",
               "stream": "stream: one Lava network and one run; blocks of tiled samples follow each other "
                         "in time, the state restored at every sample boundary"}
from .batching import TILE_NEURONS, TILE_SYNAPSES  # noqa: E402
STATE_READBACK = "StateLIF models record [s, u, v] per step and save a .npy at the last step (no Var.get)"


class LavaEngine(LavaEngineBase):
    """Lava 0.10 CPU simulator engine (see the module docstring)."""

    name = "lava"
    supported = SUPPORTED
    options_allowed = frozenset({"mode", "batch_mode", "run_cfg", "hardware", "bridge", "python", "timeout_s",
                                 "on_overflow", "merge", "tile_neurons", "tile_synapses"})
    # mode follows the circuit (fixed_pt for LoihiLIF circuits, floating_pt otherwise)
    configurations = {"stream": {}, "loop": {"batch_mode": "loop"}, "tile": {"batch_mode": "tile"},
                      "loop_unmerged": {"batch_mode": "loop", "merge": False}}

    @classmethod
    def unavailable(cls):
        return None if lava_importable() else ("lava-nc 0.10 does not import in this interpreter (Python 3.10 "
                                               "only); it runs through the bridge, or natively in .venv-lava")

    # ------------------------------------------------------------------ options
    def _mode(self, circuit: Circuit) -> str:
        mode = self.options.get("mode")
        natural = "fixed_pt" if circuit.fixed_point else "floating_pt"
        if mode is None:
            return natural
        if mode not in MODES:
            raise EngineError(f"Lava engine option mode={mode!r} is not known; use one of {list(MODES)}.")
        if (mode == "floating_pt") == circuit.fixed_point:
            raise EngineError(f"Lava engine option mode={mode!r} does not fit circuit '{circuit.name}', which is "
                              f"{'fixed-point (LoihiLIF)' if circuit.fixed_point else 'floating-point (LIF/IF)'}; "
                              f"use mode={natural!r} or leave mode unset.")
        return mode

    def _batch_mode(self) -> str:
        mode = self.options.get("batch_mode", "stream")
        if mode not in BATCH_MODES:
            raise EngineError(f"Lava engine option batch_mode={mode!r} is not known; use one of {list(BATCH_MODES)}.")
        return mode

    def _hardware(self) -> bool:
        run_cfg = self.options.get("run_cfg", "sim")
        if run_cfg not in ("sim", "loihi2_hw", "loihi2_sim"):
            raise EngineError(f"Lava engine option run_cfg={run_cfg!r} is not known; use 'sim', 'loihi2_hw' "
                              "(Loihi 2 hardware, needs lava-loihi) or 'loihi2_sim' (the hardware network on "
                              "the CPU simulator).")
        return bool(self.options.get("hardware", False)) or run_cfg != "sim"

    def _tile_cap(self, key: str, default: int) -> int:
        cap = self.options.get(key, default)
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise EngineError(f"Lava engine option {key}={cap!r} must be a positive int (the most "
                              f"{key.split('_')[1]} one tiled network holds; default {default}).")
        return cap

    # ------------------------------------------------------------------ running
    def run(self, circuit: Circuit, inputs, steps, batch, seed, progress=False) -> SimResult:
        bridge = self.options.get("bridge", "auto")
        if bridge not in ("auto", "always", "never"):
            raise EngineError(f"Lava engine option bridge={bridge!r} is not known; use 'auto', 'always' or 'never'.")
        if self._hardware():            # Loihi 2 hardware: Lava's own processes only (.hardware)
            run_cfg = self.options.get("run_cfg", "sim")
            opts = {k: v for k, v in self.options.items() if k in Loihi2Engine.options_allowed and k != "hardware"}
            opts["run_cfg"] = "loihi2_hw" if run_cfg == "sim" else run_cfg
            return Loihi2Engine(**opts).run(circuit, inputs, steps, batch, seed, progress)
        if bridge == "always" or (bridge == "auto" and not lava_importable()):
            from .bridge import run_in_lava_venv
            opts = {k: v for k, v in self.options.items() if k not in ("bridge", "python", "timeout_s")}
            return run_in_lava_venv(circuit, inputs, steps, batch, seed, opts,
                                    python=self.options.get("python"), timeout_s=self.options.get("timeout_s"))
        return self.run_in_process(circuit, inputs, steps, batch, seed, progress)

    def run_in_process(self, circuit: Circuit, inputs, steps, batch, seed, progress=False) -> SimResult:
        from ...errors import require
        require("lava.magma.core.run_configs", "lava", "The Lava engine",
                "lava-nc 0.10 needs Python 3.10: use the .venv-lava venv (make venv-lava)")
        from ...progress import progress_bar
        from ...counting import counts_from_spikes
        t_start = time.perf_counter()
        self.check(circuit)
        mode = self._mode(circuit)
        hardware = self._hardware()
        fixed = circuit.fixed_point
        dtype = np.int64 if fixed else np.float64
        graded = {n for n, p in circuit.populations.items() if p.model.graded_output}   # int / float payloads
        spikes = {n: np.zeros((steps, batch, p.size), dtype if n in graded else bool)
                  for n, p in circuit.populations.items()}
        spikes.update({n: inputs[n] for n in circuit.sources})
        states = {n: {v: np.zeros((steps, batch, p.size), dtype) for v in ("u", "v")}
                  for n, p in circuit.populations.items()}
        batch_mode = self._batch_mode()
        merge = self.options.get("merge", True)
        if not isinstance(merge, bool):
            raise EngineError(f"Lava engine option merge={merge!r} must be True or False.")
        from .batching import block_size, jobs
        block = block_size(circuit, batch, self._tile_cap("tile_neurons", TILE_NEURONS),
                           self._tile_cap("tile_synapses", TILE_SYNAPSES))
        run_s, compile_s, build_s, runs, n_processes, lava_steps = 0.0, 0.0, 0.0, 0, 0, 0
        bar = progress_bar(batch, progress, f"lava: {circuit.name}")
        for job in jobs(circuit, inputs, steps, batch, batch_mode, block):
            t0 = time.perf_counter()
            trace, t_compile, t_run, n_procs = _run_sample(job.circuit, job.inputs, job.run_steps, fixed, mode,
                                                           hardware, merge, job.sample_steps, job.gap)
            n_processes = max(n_processes, n_procs)
            run_s += t_run
            runs += 1
            lava_steps += job.run_steps
            compile_s += t_compile
            period = job.sample_steps + job.gap
            for k, samples in job.blocks:
                n_samples = samples.stop - samples.start
                for n, arr in trace.items():
                    arr = arr[k * period: k * period + steps]
                    arr = arr.reshape(steps, 3, -1, circuit.populations[n].size)[:, :, :n_samples]
                    spikes[n][:, samples] = arr[:, 0] if n in graded else arr[:, 0] != 0
                    states[n]["u"][:, samples] = arr[:, 1]
                    states[n]["v"][:, samples] = arr[:, 2]
                bar.update(n_samples)
            build_s += time.perf_counter() - t0 - t_run - t_compile
        bar.close()
        # A graded population (GradedReLU) has no memory: its state counts as zero before
        # every update, so only received events make its update active (as in numpy).
        memoryless = {n for n, p in circuit.populations.items() if isinstance(p.model, GradedReLU)}
        zero_state = {n: np.ones((steps, batch, circuit.populations[n].size), bool) for n in memoryless}
        counts = counts_from_spikes(circuit, spikes, {n: st for n, st in states.items() if n not in memoryless},
                                    zero_state=zero_state)
        probes = {pr.target: {} for pr in circuit.probes}
        for pr in circuit.probes:
            for var in pr.variables:
                probes[pr.target][var] = states[pr.target][var]
        wall = time.perf_counter() - t_start
        meta = {"engine": self.name, "version": __version__, "lava_version": lava_version(),
                "mode": mode, "run_cfg": f"Loihi2SimCfg(select_tag={mode!r})", "seed": seed,
                "batch_mode": BATCH_MODES[batch_mode], "state_readback": STATE_READBACK,
                "compile_s": compile_s, "run_s": run_s, "build_and_readback_s": build_s,
                "per_step_s": run_s / max(lava_steps, 1), "lava_steps": lava_steps,
                "per_sample_step_s": run_s / (steps * batch),
                "lava_runs": runs, "in_process": True, "merged": merge, "lava_processes": n_processes,
                "samples_per_block": block if batch_mode != "loop" else 1}
        return SimResult(spikes=spikes, probes=probes, counts=counts, steps=steps, batch=batch, dt=circuit.dt,
                         engine=self.name, wall_s=wall, meta=meta)


def _run_cfg(mode: str, hardware: bool):
    from lava.magma.core.run_configs import Loihi2SimCfg
    if not hardware:
        return Loihi2SimCfg(select_tag=mode)
    try:
        from lava.magma.core.run_configs import Loihi2HwCfg
    except ImportError as exc:  # pragma: no cover - present in lava-nc 0.10
        raise EngineError(f"Lava cannot run on Loihi 2 hardware: {HW_HINT} ({exc})") from None
    return Loihi2HwCfg(select_tag=mode)


def _run_sample(circuit: Circuit, sample_inputs: dict, steps: int, fixed: bool, mode: str, hardware: bool,
                merge: bool = True, sample_steps: int = 0, gap: int = 0):
    """Build, run and read back one sample (or one tiled batch), one connected part of the
    circuit at a time; with ``merge`` the circuit is first rewritten by :mod:`.merging`.

    Returns ``({pop: (steps, 3, size)}, seconds compiling, seconds running, Lava processes)``."""
    import tempfile
    from lava.magma.core.run_conditions import RunSteps
    from .lowering import LavaNetwork, components
    layout, params = None, None
    if merge:
        from .merging import merge_circuit, merge_inputs
        circuit, layout, src_layout, params = merge_circuit(circuit)
        sample_inputs = merge_inputs(sample_inputs, src_layout)
    trace, t_compile, t_run, n_procs = {}, 0.0, 0.0, 0
    with tempfile.TemporaryDirectory(prefix="spikeattn-lava-rec-") as folder:
        for part in components(circuit):
            net = LavaNetwork(circuit, part, sample_inputs, steps, fixed, folder, params, sample_steps, gap)
            n_procs += len(net.procs) + len(net.projections)
            proc = net.any_process
            t0 = time.perf_counter()
            try:
                proc.create_runtime(run_cfg=_run_cfg(mode, hardware))
            except Exception as exc:
                if hardware:
                    raise EngineError(f"Lava could not compile circuit '{circuit.name}' for Loihi 2 hardware "
                                      f"({type(exc).__name__}: {exc}). {HW_HINT}") from None
                raise EngineError(f"Lava could not compile circuit '{circuit.name}': "
                                  f"{type(exc).__name__}: {exc}") from exc
            t1 = time.perf_counter()
            try:
                proc.run(condition=RunSteps(num_steps=steps))
                t_run += time.perf_counter() - t1
            except Exception as exc:
                raise EngineError(f"Lava failed to run circuit '{circuit.name}': "
                                  f"{type(exc).__name__}: {exc}") from exc
            finally:
                proc.stop()
            t_compile += t1 - t0
            trace.update(net.read_states())
    if layout is not None:
        from .merging import split_trace
        trace = split_trace(trace, layout)
    return trace, t_compile, t_run, n_procs
