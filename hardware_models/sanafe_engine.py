"""SANA-FE as a calibrated peer: lower a spikeattn Circuit onto a SANA-FE architecture and run it.

SANA-FE (PyPI ``sanafe`` 2.2.9; Boyle et al., IEEE TCAD 2025) simulates a spiking network
mapped onto a described chip, step by step, and charges every hardware activity its cost
from the architecture file.  Its Loihi description was calibrated against Loihi silicon
(energy within 12 %, latency within 25 %).  ``run_sanafe`` rebuilds a circuit in SANA-FE's
Python API, runs it once per batch sample on the very same input spikes as spikeattn, checks
that the spikes agree, and returns SANA-FE's energy (synapse / dendrite / soma / network, J)
and simulated time (s).  :func:`compare_with_model` puts it beside spikeattn's own model.

Lowering (read from SANA-FE's ``models.cpp``, ``LoihiLifModel``, and checked by running it):

* SANA-FE's ``leaky_integrate_fire`` soma does, each step::

      u = u * input_decay + I          (I: synaptic input delivered this step)
      p = trunc(p * leak_decay * 64) / 64 + bias + u   (trunc: toward zero)
      spike if p > threshold; hard reset p = reset, soft reset p -= threshold

  so a float :class:`~spikeattn.LIF` maps to ``input_decay = 1 - du``, ``leak_decay = 1 - dv``,
  with weights, bias, threshold and ``v_reset`` multiplied by ``potential_scale`` (default
  2**16; the LIF is invariant under this scaling) so that the 1/64 quantisation acts far
  below the circuit's resolution.  It is exact when the scaled values are multiples of 1/64
  and ``dv = 0``; otherwise the spike check below says whether the runs still agree.
* A :class:`~spikeattn.LoihiLIF` maps with SANA-FE potential = Lava ``v / 64``: ``threshold =
  vth``, ``bias = bias_eff / 64``, weights = Lava-quantised ``W' * 2**weight_exp``,
  ``leak_decay = (4096 - dv) / 4096`` (SANA-FE's truncation is Lava's ``trunc0``) and
  ``input_decay = (4095 - du) / 4096`` (exact for ``du = 4095``; Lava also truncates u, SANA-FE
  does not).  24-bit wrap/saturation is not modelled.
* TrueNorth's soma fires on ``p >= threshold`` and has an additive leak: only ``dv = 0``,
  ``du = 1`` neurons map; ``>=`` is made to act as ``>`` on grid potentials (SANA-FE stores
  attributes as float32: the threshold becomes the next float32 above ``vth * scale``; a soft
  reset then drifts by that one ulp per spike).  Weights are float32 in SANA-FE too.
* Sources become SANA-FE ``input`` neurons replaying the encoded spike trains; projections
  become synapses with delay 1 (SANA-FE delivers a spike emitted at step t at step t+1, as a
  spikeattn projection with ``delay=1`` does).  Refractory periods, delays other than 1,
  graded messages and a non-zero initial u are refused (an initial v becomes SANA-FE's
  ``potential`` attribute on the Loihi-like archs) with
  :class:`~spikeattn.errors.UnsupportedFeatureError`.

  (Longer delays would need SANA-FE's ``accumulator_with_delay`` dendrite, which delivered
  nothing in our tests of 2.2.9.)

Placement: a :class:`hardware_models.placement.Placement` (its ``neuron_cores``), a dict
``{node: core or one core per neuron}``, or by default :func:`fill_cores`: every node starts
on a fresh core and fills cores in order up to the core's neuron limit.

Energy accounting (``sanafe_arch.compare``): SANA-FE charges ``energy_process_spike`` per
synaptic event, ``energy_access_neuron`` per neuron per step, ``energy_update_neuron`` per
active update, ``energy_spike_out`` per spike and ``energy_message_out`` (+ hops) per packet
(one per spike and destination core).  :func:`predict_from_counts` computes the same terms
from spikeattn's own EventCounts; the tests check they equal SANA-FE's output.
"""
from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field

import numpy as np

from spikeattn.engines.features import required_features
from spikeattn.dynamics import fixed_point as fx
from spikeattn.errors import InputError, SpikeattnError, UnsupportedFeatureError, require
from spikeattn.ir import LIF, Circuit, LoihiLIF

from .placement import place
from .sanafe_arch import ARCHS, ArchSpec, arch_costs, arch_spec, load_arch  # noqa: F401 (re-export)
from .sanafe_arch.compare import (TERM_MAP, compare_with_model, predict_from_counts,  # noqa: F401 (re-export)
                                  sanafe_active_updates, write_comparison)
from .sanafe_arch.mapping import fill_cores, fit_inputs, placement_map  # noqa: F401 (re-export)

SANAFE = ("sanafe", "sanafe", "Running a circuit on SANA-FE")   # require(*SANAFE): the optional package

TERMS = ("synapse", "dendrite", "soma", "network")
UNSUPPORTED = {"lif:refractory": "SANA-FE's LIF soma has no refractory period",
               "projection:delay0": "SANA-FE delivers spikes one step later (delay 1 only)",
               "projection:long_delay": "only delay 1 is lowered",
               "projection:graded": "SANA-FE messages are binary spikes",
               "source:graded": "SANA-FE input neurons emit binary spikes"}


# ----------------------------------------------------------------------------- lowering
def _soma_attributes(pop, spec: ArchSpec, scale: float) -> tuple[dict, float]:
    """Per-neuron SANA-FE model attributes (lists broadcast) and the weight scale for
    projections into this population."""
    m, n = pop.model, pop.size

    def arr(x):
        return np.broadcast_to(np.asarray(x, np.float64), (n,))
    if isinstance(m, LoihiLIF):
        if spec.soma_model != "leaky_integrate_fire":
            raise UnsupportedFeatureError(f"population '{pop.name}': LoihiLIF needs a Loihi-like arch, not "
                                          f"'{spec.name}'.")
        bias = fx.effective_bias(m.bias_mant, m.bias_exp) / 64.0
        attrs = {"threshold": arr(m.vth), "bias": arr(bias), "leak_decay": arr((4096 - m.dv) / 4096.0),
                 "input_decay": arr((4095 - m.du) / 4096.0), "reset": arr(0.0),
                 "potential": arr(pop.initial.get("v", 0)) / 64.0}
        return {**attrs, "reset_mode": "hard"}, 1.0
    if not isinstance(m, LIF):
        raise UnsupportedFeatureError(f"population '{pop.name}': model '{m.kind}' has no SANA-FE lowering.")
    mode = "soft" if m.reset == "subtract" else "hard"
    if spec.soma_model == "truenorth":
        if np.any(np.asarray(m.dv) != 0) or np.any(np.asarray(m.du) != 1) or "v" in pop.initial:
            raise UnsupportedFeatureError(f"population '{pop.name}': TrueNorth's soma has an additive leak and "
                                          "no current memory; only dv=0, du=1 neurons map.")
        th = np.nextafter(np.float32(arr(m.vth) * scale), np.float32(np.inf)).astype(np.float64)
        attrs = {"threshold": th, "bias": arr(m.bias) * scale, "leak": arr(0.0),
                 "reset": arr(m.v_reset) * scale}
        return {**attrs, "reset_mode": mode}, scale
    attrs = {"threshold": arr(m.vth) * scale, "bias": arr(m.bias) * scale, "leak_decay": 1.0 - arr(m.dv),
             "input_decay": 1.0 - arr(m.du), "reset": arr(m.v_reset) * scale,
             "potential": arr(pop.initial.get("v", 0.0)) * scale}
    return {**attrs, "reset_mode": mode}, scale


def _check(circuit: Circuit) -> None:
    for el, feat in required_features(circuit):
        if feat in UNSUPPORTED:
            raise UnsupportedFeatureError(f"SANA-FE lowering cannot run {el}: it needs '{feat}' "
                                          f"({UNSUPPORTED[feat]}). Use engine 'numpy' and spikeattn's own cost model.")
    for n, p in circuit.populations.items():
        if np.any(np.asarray(p.initial.get("u", 0)) != 0):
            raise UnsupportedFeatureError(f"population '{n}': a non-zero initial current u cannot be set in SANA-FE "
                                          "(an initial v can: its 'potential' attribute).")


def _weights(proj, fixed: bool) -> "np.ndarray":
    import scipy.sparse as sp
    w = sp.coo_matrix(proj.weights)
    data = w.data.astype(np.float64)
    if fixed:
        mode = fx.sign_mode(np.asarray(w.data), proj.sign_mode)
        data = fx.quantise_weights(np.asarray(w.data), proj.num_weight_bits, mode).astype(np.float64)
        if proj.weight_exp < 0:
            raise UnsupportedFeatureError(f"projection '{proj.name}': negative weight_exp shifts the summed input "
                                          "(not per synapse); not lowered.")
        data = data * 2.0 ** proj.weight_exp
    keep = data != 0
    return w.row[keep], w.col[keep], data[keep]


def build_network(circuit: Circuit, spec: ArchSpec, arch_obj, cores: dict, sample_inputs: dict, scale: float):
    """A SANA-FE ``Network`` for one sample (``sample_inputs``: source -> (steps, size) bool)."""
    sf = require(*SANAFE)
    net = sf.Network()
    hw_cores = arch_obj.cores()
    groups, w_scale, inputs_on_core = {}, {}, {}
    for name, node in circuit.nodes().items():
        if name in circuit.sources:
            g = net.create_neuron_group(name, node.size, log_spikes=True)
            trains = np.asarray(sample_inputs[name]) != 0
            for i, nrn in enumerate(g):
                c = int(cores[name][i])
                k = inputs_on_core.get(c, 0)
                inputs_on_core[c] = k + 1
                nrn.set_attributes(soma_hw_name=spec.input_unit.format(i=k),
                                   model_attributes={"spikes": trains[:, i].tolist()})
        else:
            attrs, w_scale[name] = _soma_attributes(node, spec, scale)
            g = net.create_neuron_group(name, node.size, soma_hw_name=spec.soma, log_spikes=True,
                                        model_attributes={"reset_mode": attrs.pop("reset_mode")})
            for i, nrn in enumerate(g):
                nrn.set_attributes(model_attributes={k: float(v[i]) for k, v in attrs.items()})
        for i, nrn in enumerate(g):
            nrn.map_to_core(hw_cores[int(cores[name][i])])
        groups[name] = g
    fixed = circuit.fixed_point
    for p in circuit.projections.values():
        post, pre, w = _weights(p, fixed)
        if post.size:
            groups[p.pre].connect_neurons_sparse(groups[p.post], {"weight": (w * w_scale[p.post]).tolist()},
                                                 list(zip(pre.tolist(), post.tolist())))
    return net


@contextlib.contextmanager
def _quiet():
    """Silence SANA-FE's C++ progress line on stdout."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), fd)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, fd)
            os.close(saved)


# ----------------------------------------------------------------------------- running
@dataclass
class SanafeRun:
    """SANA-FE's figures for one circuit, summed over the batch (per-sample lists beside).

    ``energy_j``: ``total`` and the terms synapse/dendrite/soma/network in J; ``sim_time_s``:
    SANA-FE's simulated run time per sample; ``spikes_match``: SANA-FE's spikes equal
    spikeattn's, element by element, for every population, step and sample."""

    arch: str
    steps: int
    batch: int
    energy_j: dict
    energy_per_sample: list
    sim_time_s: list
    synaptic_events: int
    packets: int
    neurons_fired: int
    spikes: dict
    spikes_match: bool
    mismatches: list
    cores: dict
    notes: list = field(default_factory=list)
    placement: object = field(default=None, repr=False, compare=False)   # the Placement given, if any

    @property
    def latency_s(self) -> float:
        """Mean simulated time per sample (one inference), s."""
        return float(np.mean(self.sim_time_s))

    def to_dict(self) -> dict:
        return {"arch": self.arch, "steps": self.steps, "batch": self.batch, "energy_j": self.energy_j,
                "energy_per_sample_j": self.energy_per_sample, "sim_time_s": self.sim_time_s,
                "latency_s": self.latency_s, "synaptic_events": self.synaptic_events, "packets": self.packets,
                "neurons_fired": self.neurons_fired, "spikes_match": self.spikes_match,
                "mismatches": self.mismatches[:20],
                "cores_used": sorted({int(c) for v in self.cores.values() for c in np.unique(v)}),
                "notes": self.notes}


def run_sanafe(circuit: Circuit, inputs=None, result=None, arch: str = "loihi", placement=None,
               steps: int | None = None, batch: int | None = None, seed: int = 0,
               potential_scale: float = 2.0 ** 16) -> SanafeRun:
    """Run ``circuit`` on SANA-FE's ``arch`` and compare its spikes with spikeattn's.

    Give either ``result`` (a spikeattn :class:`~spikeattn.SimResult` of this circuit: its
    source spikes drive SANA-FE and its population spikes are the reference) or ``inputs``
    (data for the sources, encoded as :func:`spikeattn.simulate` does; the reference then
    comes from the numpy engine).  Each batch sample is a separate SANA-FE run."""
    spec = arch_spec(arch)
    circuit.validate()
    _check(circuit)
    if result is None:
        if steps is None:
            raise InputError("run_sanafe: give steps (or a SimResult as result=).")
        from spikeattn import simulate
        result = simulate(circuit, inputs, steps=steps, batch=batch, seed=seed)
    elif inputs is not None:
        raise InputError("run_sanafe: give either inputs or result, not both.")
    steps, batch = result.steps, result.batch
    encoded = {n: result.spikes[n] for n in circuit.sources}
    cores = placement_map(circuit, placement, arch)
    energy = {k: 0.0 for k in ("total",) + TERMS}
    per_sample, times, syn, packets, fired = [], [], 0, 0, 0
    spikes = {n: np.zeros((steps, batch, p.size), bool) for n, p in circuit.populations.items()}
    arch_obj = load_arch(arch)
    chip = require(*SANAFE).SpikingChip(arch_obj)      # reused for every sample of this circuit only:
    for b in range(batch):                      # SANA-FE cannot reload a different network
        net = build_network(circuit, spec, arch_obj, cores, {n: a[:, b] for n, a in encoded.items()},
                            potential_scale)
        with _quiet():
            chip.reset()
            chip.load(net, overwrite=True)
            res = chip.sim(steps, spike_trace=True, perf_trace=True)
        for k in energy:
            energy[k] += float(res["energy"][k])
        per_sample.append({k: float(res["energy"][k]) for k in ("total",) + TERMS})
        times.append(float(res["sim_time"]))
        syn += int(sum(res["perf_trace"]["spikes"]))
        packets += int(res["packets_sent"])
        fired += int(res["neurons_fired"])
        for t, step in enumerate(res["spike_trace"][:steps]):
            for addr in step:
                if addr.group_name in spikes:
                    spikes[addr.group_name][t, b, addr.neuron_offset] = True
    mismatches = []
    for n, s in spikes.items():
        ref = result.spikes[n] != 0
        if not np.array_equal(s, ref):
            t, b, i = np.argwhere(s != ref)[0]
            mismatches.append(f"{n}: {int((s != ref).sum())} spikes differ (first at step {t}, sample {b}, "
                              f"neuron {i}); SANA-FE {int(s.sum())} vs spikeattn {int(ref.sum())}")
    notes = [spec.note, f"potential_scale={potential_scale:g} (float LIF values scaled into SANA-FE's "
             "1/64-quantised potential)", "SANA-FE has no static/leakage power term"]
    if mismatches:
        notes.append("spikes differ: the neuron dynamics do not match, energy figures are not comparable")
    return SanafeRun(arch, steps, batch, energy, per_sample, times, syn, packets, fired, spikes,
                     not mismatches, mismatches, cores, notes,
                     placement=placement if hasattr(placement, "traffic") else None)


def sanafe_block(circuit, result, archs=("loihi",)) -> dict:
    """SANA-FE as a second cost engine: per arch, SANA-FE's energy terms and latency for the
    run's own spike trains on spikeattn's placement, beside spikeattn's model term by term
    (:func:`compare_with_model`).  Needs a SimResult (spike trains) and the circuit; a circuit
    SANA-FE cannot lower gets ``{"refused": reason}``."""
    out = {}
    for arch in archs:
        hw = "loihi" if arch.startswith("loihi") else "truenorth" if arch.startswith("truenorth") else arch
        try:
            pl = place(circuit, hw, result) if hw in ("loihi", "loihi2") else None
            run = run_sanafe(circuit, result=result, arch=arch, placement=pl)
            cmp = compare_with_model(run, circuit, result, hw, placement=pl)
            out[arch] = {"sanafe": run.to_dict(), "comparison": {k: v for k, v in cmp.items()
                                                                 if k not in ("explanation",)},
                         "explanation": cmp.get("explanation")}
        except (SpikeattnError, ImportError) as exc:
            out[arch] = {"refused": f"{type(exc).__name__}: {exc}"}
    return out
