"""cost(counts, hardware) -> EnergyReport: energy, latency and bounds of an event workload.

Energy terms (joules; counts are totals over steps and samples; constants per
:mod:`hardware_models.model`):

``synaptic_compute``   = e_ac * synaptic_acs + e_mac * synaptic_macs
``neuron_updates``     = e_neuron_active * active + e_neuron_idle * idle   (idle only on
                         clock-driven chips, i.e. where ``e_neuron_idle`` is given)
``spike_generation``   = e_spike_out * spikes (population spikes)
``routing_intra_core`` = (e_message + e_route_local) * messages to the sender's own core
``routing_inter_core`` = (e_message + e_route_local) * messages to other cores + e_hop * hops
                         (needs a placement; without one every message counts as intra-core,
                         a lower bound, and the report says so)
``memory_<data>_<level>`` = e_level * bytes (explicit hierarchies only; chips whose per-op
                         figures include SRAM access report memory as included)
``static``             = p_static_chip * chips_used * latency
``all_in``             = e_all_in * (synaptic_acs + synaptic_macs)   (TrueNorth: nothing else)

Latency: ``steps * batch * t_step`` on fixed-step (real-time) chips; otherwise each step takes
the busiest core's work, plus
``t_hop`` x the mesh diameter of the cores used (the longest route a message travels before
the step ends), plus barrier synchronisation
``t_barrier_1 + (t_barrier_max - t_barrier_1) * (tiles - 1) / (tiles_per_chip - 1)`` on one
chip, or ``t_barrier_multichip`` when the placement uses more than one chip; samples run one
after another.  Work per step is the mean over steps (the totals).  A core's work has a front
end (synaptic ops x ``t_ac`` / ``t_mac`` + messages received x ``t_receive``) and a back end
(neuron updates x their times + spikes x ``t_spike_out`` + messages sent x ``t_message``),
which a pipelined core overlaps: ``max(front, back) + serial_fraction * min(front, back)``
(``serial_fraction`` 0 = fully pipelined, as SANA-FE's Loihi core; 1 = strictly serial, the
default for chips that do not state it).

Bounds: every term is monotone in every constant, so the model is evaluated three times, with
all constants at ``value``, ``low`` and ``high`` (corner bounds, kept for reference);
:func:`hardware_models.uncertainty.monte_carlo` samples each constant over its own range
instead and reports a median with a 5-95 % interval.
"""
from __future__ import annotations

from functools import reduce

import numpy as np

from spikeattn.errors import InputError

from .errors import HardwareKindError
from .model import HardwareModel
from .registry import get
from .report import EnergyReport
from .workload import CountsView, as_view


def literature_energy(macs: float, acs: float, e_mac: float = 4.6e-12, e_ac: float = 0.9e-12) -> float:
    """The field's formula ``E = E_MAC * MACs + E_AC * ACs`` [J] from stated op counts.

    E.g. 0.347e9 MACs and 6.518e9 ACs -> 1.596 mJ + 5.866 mJ = 7.462 mJ."""
    return e_mac * float(macs) + e_ac * float(acs)


def check_cost_args(hardware, circuit=None, placement=None) -> None:
    """Types of :func:`hardware_models.cost`'s arguments: ``hardware`` a name (str) or a
    HardwareModel, ``circuit`` None or a Circuit, ``placement`` None or a Placement."""
    from spikeattn.ir import Circuit

    from .placement_types import Placement
    from .structured import AggregatePlacement
    if not isinstance(hardware, (str, HardwareModel)):
        raise InputError(f"cost(), field 'hardware': is {type(hardware).__name__}; pass a hardware name "
                                "(str, see 'spikeattn hardware') or a HardwareModel.")
    if circuit is not None and not isinstance(circuit, Circuit):
        raise InputError(f"cost(), field 'circuit': is {type(circuit).__name__}; pass a spikeattn.Circuit "
                                "or None.")
    if placement is not None and not isinstance(placement, (Placement, AggregatePlacement)):
        raise InputError(f"cost(), field 'placement': is {type(placement).__name__}; pass a "
                                "hardware_models.placement.Placement (from place()) or None.")


def cost(counts, hardware, circuit=None, placement=None) -> EnergyReport:
    """Energy and latency of an event workload on a neuromorphic, ASIC, CPU or literature model.

    ``counts``: :class:`spikeattn.EventCounts`, its ``to_dict()`` or a result.json dict.
    ``hardware``: a registry name or a :class:`HardwareModel`.  ``circuit`` (optional) lets
    the model place the circuit on cores to count routing; ``placement`` (optional) is a
    :class:`hardware_models.placement.Placement` made earlier (it wins over ``circuit``).
    GPU models cost the dense workload instead: ``hardware_models.gpu.cost_dense``.
    """
    check_cost_args(hardware, circuit, placement)
    hw = hardware if isinstance(hardware, HardwareModel) else get(hardware)
    if hw.kind == "gpu":
        raise HardwareKindError(f"'{hw.name}' is a GPU model: it costs the dense model's workload, not spike "
                                "events. Use hardware_models.estimate(workload, '" + hw.name + "') with a "
                                "RunWorkload that has the dense workload (e.g. hardware_models.estimator."
                                "run_workload(circuit, counts)).")
    if hw.kind == "ann":
        raise HardwareKindError(f"'{hw.name}' is an ANN accelerator: it costs the dense workload, not spike events. "
                                "Use hardware_models.baselines.cost_eyeriss(workload).")
    view = as_view(counts)
    placement, traffic, loads, notes, view = prepare(hw, view, circuit, placement)
    picks = {w: evaluate(hw, view, w, traffic, loads, placement) for w in ("value", "low", "high")}
    notes += [f"{hw.name}: {term.replace('_', ' ')} included in the per-event figure (not added separately)."
              for term in hw.included_in_ops]
    notes += picks["value"][2]
    b, lat = picks["value"][0], picks["value"][1]
    return EnergyReport(
        hardware=hw.name, title=hw.title, total_j=sum(b.values()), low_j=sum(picks["low"][0].values()),
        high_j=sum(picks["high"][0].values()), breakdown=b, breakdown_low=picks["low"][0],
        breakdown_high=picks["high"][0], latency_s=lat, latency_low_s=picks["low"][1],
        latency_high_s=picks["high"][1], notes=_dedupe(notes), batch=view.batch, steps=view.steps,
        placement=({**placement.summary(), "traffic": traffic.to_dict() if traffic else None}
                   if placement is not None else None),
        meta={"kind": hw.kind, "totals": {f: view.total(f, "projection") for f in
                                          ("synaptic_acs", "synaptic_macs", "messages")}
              | {"spikes": view.total("spikes", "population"),
                 "neuron_updates_active": view.total("neuron_updates_active"),
                 "neuron_updates_idle": view.total("neuron_updates_idle")}})


def prepare(hw: HardwareModel, view: CountsView, circuit=None, placement=None):
    """Placement, traffic and per-core loads of ``view`` on ``hw`` (None where not placed), the
    notes that go with them and the view to cost: the part of :func:`cost` that does not
    depend on constants.

    A structured circuit is placed from its shapes (:mod:`hardware_models.structured`, never
    expanded); on a neuromorphic chip its products run as their accumulate-only gate
    realisation, whose events are added to the view at lower bounds when the counts lack them
    (:func:`~hardware_models.structured.with_realisation`)."""
    notes = list(hw.notes)
    traffic = loads = None
    if hw.kind == "neuromorphic" and hw.limits is not None and not hw.all_in:
        if placement is None and circuit is not None:
            from .placement import place
            placement = place(circuit, hw)
        vc = getattr(placement, "virtual", None)
        if vc is not None and vc.terms:
            from .structured import with_realisation
            view, more = with_realisation(view, vc)
            notes += more
        if placement is not None:
            traffic = placement.traffic(view)
            loads = placement.core_loads(view)
        else:
            notes.append("No circuit or placement given: every spike message is costed as within one core "
                          "(routing between cores left out - a lower bound) and the work is assumed spread "
                          "evenly over the cores that the neuron count needs.")
            if any(e.meta.get("structured") == "product" for e in view.elements.values()):
                notes.append("The counts come from a structured circuit with products: without the circuit their "
                             "accumulate-only gate realisation (line and gate neurons, their synapses and events) "
                             "is not placed or costed; pass circuit= to include it.")
    return placement, traffic, loads, notes, view


def _dedupe(notes):
    seen, out = set(), []
    for n in notes:
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out


def evaluate(hw: HardwareModel, v: CountsView, w: str, traffic, loads, placement, getc=None):
    """One evaluation with every constant at ``w``: (breakdown, latency or None, notes).

    ``getc(key)`` (optional) supplies the constants instead, e.g. arrays of Monte Carlo
    samples (:mod:`hardware_models.uncertainty`); the terms are then arrays too."""
    c = getc or (lambda k: hw.c(k, w))  # noqa: E731
    notes: list[str] = []
    acs, macs = v.total("synaptic_acs", "projection"), v.total("synaptic_macs", "projection")
    if hw.kind == "literature":
        return {"synaptic_compute": c("e_mac") * macs + c("e_ac") * acs}, None, \
            ["Literature formula: neuron updates, memory, routing and static power are left out by design."]
    if hw.all_in:
        b = {"all_in": float(c("e_all_in") * (acs + macs))}
        lat = v.steps * v.batch * c("t_step") if hw.has("t_step") else None
        return b, lat, notes
    b: dict[str, float] = {}
    e_mac = c("e_mac") if hw.has("e_mac") else c("e_ac")
    if not hw.has("e_mac") and macs:
        notes.append(f"{hw.name}: no graded-op energy; {macs} MACs costed as accumulate ops.")
    b["synaptic_compute"] = c("e_ac") * acs + e_mac * macs
    active, idle = v.total("neuron_updates_active"), v.total("neuron_updates_idle")
    if hw.has("e_neuron_active"):
        b["neuron_updates"] = c("e_neuron_active") * active + (c("e_neuron_idle") * idle if hw.has("e_neuron_idle")
                                                               else 0.0)
    elif "neuron_updates" not in hw.included_in_ops:
        notes.append(f"{hw.name}: no neuron-update energy given; neuron updates not modelled.")
    if hw.has("e_neuron_active") and not hw.has("e_neuron_idle"):
        notes.append(f"{hw.name}: event-driven neuron updates; {idle} idle updates cost nothing.")
    spikes = v.total("spikes", "population")
    if hw.has("e_spike_out"):
        b["spike_generation"] = c("e_spike_out") * spikes
    per_msg = (c("e_message") if hw.has("e_message") else 0.0) + (c("e_route_local") if hw.has("e_route_local") else 0.0)
    if hw.has("e_message") or hw.has("e_route_local") or hw.has("e_hop"):
        if traffic is not None:
            b["routing_intra_core"] = per_msg * traffic.intra_core_messages
            b["routing_inter_core"] = per_msg * traffic.inter_core_messages + \
                (c("e_hop") if hw.has("e_hop") else 0.0) * traffic.hops
        else:
            b["routing_intra_core"] = per_msg * v.total("messages", "projection")
            b["routing_inter_core"] = 0.0
    elif "routing" not in hw.included_in_ops:
        notes.append(f"{hw.name}: spike routing energy is not published in the cited sources; not modelled.")
    if hw.memory_levels:
        b.update(_memory_terms(hw, v, w, getc))
    elif hw.memory_in_ops:
        notes.append(f"{hw.name}: memory reads/writes are inside the per-op figures (not added separately).")
    else:
        notes.append(f"{hw.name}: memory traffic not modelled.")
    lat = _latency(hw, v, w, loads, placement, getc)
    if lat is None:
        notes.append(f"{hw.name}: timing unknown; latency, EDP and static energy not modelled.")
    if hw.has("p_static_chip"):
        b["static"] = c("p_static_chip") * _static_chips(hw, v, w, placement) * (0.0 if lat is None else lat)
        if w == "value":
            notes.append(f"{hw.name}: static power of every chip used (whole chips) over the modelled run time; "
                         "the low bound charges only the share of cores used (unused cores power-gated or "
                         "running other work).")
    else:
        notes.append(f"{hw.name}: static power not published in the cited sources; not modelled (lower bound).")
    if getc is not None:
        return b, lat, notes
    return {k: float(x) for k, x in b.items()}, (None if lat is None else float(lat)), notes


def _static_chips(hw: HardwareModel, v: CountsView, w: str, placement) -> float:
    """Chips charged static power: whole chips used, or (low bound) the fraction of cores used."""
    if placement is not None:
        cores, chips = placement.cores_used, placement.chips_used
    else:
        cores = max(1, -(-v.neurons() // hw.limits.neurons)) if hw.limits and hw.limits.neurons else 1
        chips = max(1, -(-cores // hw.limits.cores_per_chip)) if hw.limits else 1
    if w == "low" and hw.limits is not None:
        return cores / hw.limits.cores_per_chip
    return float(chips)


def _memory_terms(hw: HardwareModel, v: CountsView, w: str, getc=None) -> dict[str, float]:
    out = {}
    for data, need, traffic in (("weights", v.weight_storage_bytes(), v.total("weight_bytes_read")),
                                ("state", v.state_storage_bytes(),
                                 v.total("state_bytes_read") + v.total("state_bytes_written"))):
        level = next((m for m in hw.memory_levels if m.capacity_bytes is None or need <= m.capacity_bytes),
                     hw.memory_levels[-1])
        e = getc(f"memory:{level.name}") if getc is not None else level.energy_per_byte.pick(w)
        out[f"memory_{data}_{level.name}"] = e * traffic
    return out


def _latency(hw: HardwareModel, v: CountsView, w: str, loads, placement, getc=None) -> float | None:
    get = getc or (lambda k: hw.c(k, w))  # noqa: E731
    c = lambda k: get(k) if hw.has(k) else 0.0  # noqa: E731
    if hw.has("t_step"):
        return v.steps * v.batch * get("t_step")
    if not hw.has("t_ac"):
        return None
    t_mac = c("t_mac") if hw.has("t_mac") else c("t_ac")

    serial = get("serial_fraction") if hw.has("serial_fraction") else 1.0

    def work(load) -> float:
        front = load["acs"] * c("t_ac") + load["macs"] * t_mac + load.get("msgs_in", 0.0) * c("t_receive")
        back = (load["active"] * c("t_neuron_active") + load["idle"] * c("t_neuron_idle")
                + load["spikes"] * c("t_spike_out") + load.get("msgs_out", 0.0) * c("t_message"))
        return np.maximum(front, back) + serial * np.minimum(front, back)

    route, chips = 0.0, 1
    if loads:
        busiest = reduce(np.maximum, (work(ld) for ld in loads))
        tiles, chips = placement.tiles_used, placement.chips_used
        route = c("t_hop") * placement.mesh_diameter  # the last message's trip before the barrier
    else:
        msgs = v.total("messages", "projection")
        total = {"acs": v.total("synaptic_acs"), "macs": v.total("synaptic_macs"),
                 "active": v.total("neuron_updates_active"), "idle": v.total("neuron_updates_idle"),
                 "spikes": v.total("spikes", "population"), "msgs_out": msgs, "msgs_in": msgs}
        n_cores = max(1, -(-v.neurons() // hw.limits.neurons)) if hw.limits and hw.limits.neurons else 1
        busiest = work(total) / n_cores
        tiles = max(1, -(-n_cores // hw.limits.cores_per_tile)) if hw.limits else 1
    barrier = (c("t_barrier_multichip") if chips > 1 and hw.has("t_barrier_multichip")
               else _barrier(hw, w, tiles, get))
    per_step = busiest / max(v.steps * v.batch, 1) + route + barrier
    return per_step * v.steps * v.batch


def _barrier(hw: HardwareModel, w: str, tiles: int, get=None) -> float:
    """Barrier synchronisation per step, linear in tiles between 1 and a full chip."""
    if not hw.has("t_barrier_1"):
        return 0.0
    get = get or (lambda k: hw.c(k, w))  # noqa: E731
    t1 = get("t_barrier_1")
    tmax = get("t_barrier_max") if hw.has("t_barrier_max") else t1
    full = hw.limits.tiles_per_chip if hw.limits else 1
    frac = 0.0 if full <= 1 else min(1.0, (tiles - 1) / (full - 1))
    return t1 + (tmax - t1) * frac
