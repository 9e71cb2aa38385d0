"""Loihi 2 hardware through Lava (``Loihi2HwCfg``): ``simulate(..., engine="lava", run_cfg="loihi2_hw")``
(or ``hardware=True``); ``engine="loihi2"`` after
``spikeattn.engines.register_engine("loihi2", "spikeattn.engines.lava.hardware:Loihi2Engine")``.

Needs Intel's **lava-loihi** (the Loihi 2 compiler, NxCore process models and runtime; given to
members of Intel's Neuromorphic Research Community with access to Loihi 2 systems, not
published).  Without it Lava cannot compile the network for the chip: the
:class:`~spikeattn.errors.EngineError` quotes Lava's own error and names the missing modules
(:data:`HW_MODULES`) and how to get them.

Kept small and separate from the CPU engine (:mod:`.engine`): the network is Lava's own
processes only, which lava-loihi maps to the chip -- ``RingBuffer`` sources, ``Dense`` /
``Sparse`` / ``Delay*`` projections (:func:`.lowering.lower_projection`), Lava's ``LIF`` per
population, and a sink ``RingBuffer`` on every population's ``s_out``; one network per
sample.  Spikes are read back from the sinks; u and v are not read from the chip, so probes
are refused and neuron updates are counted as all active (an upper bound;
``meta["counts_note"]`` says so).  ``run_cfg="loihi2_sim"`` runs the same network on
``Loihi2SimCfg(select_tag="fixed_pt")`` -- how the lowering is tested without a chip.
"""
from __future__ import annotations

import importlib.util
import time

import numpy as np

from ...version import __version__
from ...errors import EngineError
from ...result import SimResult
from .common import HW_HINT, UNSUPPORTED, LavaEngineBase, lava_importable, lava_version

#: Modules lava-loihi adds to the ``lava`` namespace (lava-nc 0.10 imports them optionally).
HW_MODULES = {"lava.magma.core.model.nc.model": "NcProcessModels (Loihi 2 neuro-cores)",
              "lava.magma.core.model.c.model": "C process models (the embedded x86 cores)"}


def missing_lava_loihi() -> list[str]:
    """The :data:`HW_MODULES` this interpreter cannot import."""
    out = []
    for mod in HW_MODULES:
        try:
            if importlib.util.find_spec(mod) is None:
                out.append(mod)
        except (ImportError, ValueError):
            out.append(mod)
    return out


class Loihi2Engine(LavaEngineBase):
    """Loihi 2 hardware via lava-loihi (see the module docstring)."""

    name = "loihi2"
    supported = frozenset({"model:loihi_lif", "projection:sparse", "projection:long_delay"})
    unsupported = {**UNSUPPORTED,
                   "probe": "u and v are not read back from the chip (spikes only)",
                   "model:lif": "the chip runs fixed point: use LoihiLIF (engine='lava' runs float LIF on the CPU)",
                   "model:if": "the chip runs fixed point: use LoihiLIF",
                   "model:graded_relu": "not lowered for the chip (engine='lava' runs it on the CPU)",
                   "projection:graded": "graded spikes on the chip are not lowered here",
                   "source:graded": "graded inputs on the chip are not lowered here",
                   "model:loihi_multi_threshold_if": "its graded-spike process is a CPU ProcessModel, not lowered "
                                                     "for the chip (engine='lava' runs it on the CPU simulator)",
                   "model:loihi_graded_relu": "its graded-spike process is a CPU ProcessModel, not lowered for "
                                              "the chip (engine='lava' runs it on the CPU simulator)",
                   "projection:count": "count (graded) messages on the chip are not lowered here (engine='lava' "
                                       "runs them on the CPU simulator)"}
    options_allowed = frozenset({"run_cfg", "hardware", "timeout_s", "on_overflow", "bridge", "python"})
    configurations = {}

    @classmethod
    def unavailable(cls):
        if not lava_importable():
            return "lava-nc 0.10 does not import in this interpreter (Python 3.10 venv .venv-lava)"
        missing = missing_lava_loihi()
        return f"Intel's lava-loihi is not installed (missing {missing})" if missing else None

    def run(self, circuit, inputs, steps, batch, seed, progress=False) -> SimResult:
        bridge = self.options.get("bridge", "auto")
        if bridge == "always" or (bridge == "auto" and not lava_importable()):
            from .bridge import run_in_lava_venv
            opts = {k: v for k, v in self.options.items() if k not in ("bridge", "python", "timeout_s")}
            return run_in_lava_venv(circuit, inputs, steps, batch, seed, {**opts, "engine": "loihi2"},
                                    python=self.options.get("python"), timeout_s=self.options.get("timeout_s"))
        return self.run_in_process(circuit, inputs, steps, batch, seed, progress)

    def run_in_process(self, circuit, inputs, steps, batch, seed, progress=False) -> SimResult:
        from ...counting import counts_from_spikes
        run_cfg = self.options.get("run_cfg", "loihi2_hw")
        if run_cfg not in ("loihi2_hw", "loihi2_sim"):
            raise EngineError(f"Loihi 2 engine option run_cfg={run_cfg!r} is not known; use 'loihi2_hw' (the chip) "
                              "or 'loihi2_sim' (the chip's network on Lava's CPU simulator).")
        sim = run_cfg == "loihi2_sim"
        missing = [] if sim else missing_lava_loihi()
        if missing and self.missing_features(circuit):     # say first what is missing for the chip at all
            raise EngineError(_missing_message(missing))
        self.check(circuit)
        t0 = time.perf_counter()
        spikes = {n: np.zeros((steps, batch, p.size), bool) for n, p in circuit.populations.items()}
        spikes.update({n: inputs[n] for n in circuit.sources})
        run_s = 0.0
        for b in range(batch):
            out, t_run = _run_on_chip(circuit, {n: inputs[n][:, b] for n in circuit.sources}, steps, sim)
            run_s += t_run
            for n, s in out.items():
                spikes[n][:, b] = s
        zero_state = {n: np.zeros((steps, batch, p.size), bool) for n, p in circuit.populations.items()}
        counts = counts_from_spikes(circuit, spikes, zero_state=zero_state)
        cfg = "Loihi2SimCfg(select_tag='fixed_pt')" if sim else "Loihi2HwCfg(select_tag='fixed_pt')"
        meta = {"engine": self.name, "version": __version__, "lava_version": lava_version(), "run_cfg": cfg,
                "seed": seed, "run_s": run_s, "per_sample_step_s": run_s / (steps * batch), "in_process": True,
                "counts_note": "neuron updates counted as all active: u and v are not read back from the chip"}
        return SimResult(spikes=spikes, probes={}, counts=counts, steps=steps, batch=batch, dt=circuit.dt,
                         engine=self.name, wall_s=time.perf_counter() - t0, meta=meta)


def _missing_message(missing: list[str]) -> str:
    return (f"Loihi2HwCfg needs Intel's lava-loihi package; these modules are missing: {missing} "
            f"({', '.join(HW_MODULES[m] for m in missing)}). {HW_HINT}")


def _run_on_chip(circuit, sample_inputs: dict, steps: int, sim: bool):
    """One sample on Lava's own processes, one connected part at a time (Lava runs the
    processes connected to the one ``run`` is called on); ``({population: (steps, size)
    bool}, run seconds)``."""
    from .lowering import components
    out, t_run = {}, 0.0
    for part in components(circuit):
        o, t = _run_part(circuit, set(part), sample_inputs, steps, sim)
        out.update(o)
        t_run += t
    return out, t_run


def _run_part(circuit, part: set, sample_inputs: dict, steps: int, sim: bool):
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2HwCfg, Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.lif.process import LIF
    from .lowering import lower, lower_source
    procs, sinks = {}, {}
    for n, p in circuit.populations.items():
        if n not in part:
            continue
        m = p.model
        procs[n] = LIF(shape=(p.size,), du=int(m.du), dv=int(m.dv), vth=int(m.vth),
                       bias_mant=np.broadcast_to(np.asarray(m.bias_mant), (p.size,)).copy(),
                       bias_exp=np.broadcast_to(np.asarray(m.bias_exp), (p.size,)).copy(), name=n)
        sinks[n] = Sink(shape=(p.size,), buffer=steps)
        procs[n].s_out.connect(sinks[n].a_in)
    for n, src in circuit.sources.items():
        if n in part:
            procs[n] = lower_source(src, True, data=sample_inputs[n])
    for name in sorted(circuit.projections):
        proj = circuit.projections[name]
        if proj.post not in part:
            continue
        conn = lower(proj, True)
        procs[proj.pre].s_out.connect(conn.s_in)
        conn.a_out.connect(procs[proj.post].a_in)
    cfg = Loihi2SimCfg(select_tag="fixed_pt") if sim else Loihi2HwCfg(select_tag="fixed_pt")
    first = next(iter(sinks.values()))
    t0 = time.perf_counter()
    try:
        first.run(condition=RunSteps(num_steps=steps), run_cfg=cfg)
        t_run = time.perf_counter() - t0
        out = {n: s.data.get().T.astype(bool) for n, s in sinks.items()}
    except Exception as exc:
        missing = [] if sim else missing_lava_loihi()
        hint = f" {_missing_message(missing)}" if missing else ""
        raise EngineError(f"Lava could not run circuit '{circuit.name}' with {type(cfg).__name__} "
                          f"(Lava: {type(exc).__name__}: {exc}).{hint}") from None
    finally:
        first.stop()
    return out, t_run
