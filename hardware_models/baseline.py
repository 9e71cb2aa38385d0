"""The GPU side of a comparison: the dense equivalent of a circuit on a GPU model.

Uses HW-peers' ``hardware_models.dense_equivalent.dense_workload`` and
``hardware_models.gpu.cost_dense`` when they are present (FLOPs from torch's
FlopCounterMode, bytes moved, utilisation, idle power).  Without them, or without a circuit,
it falls back to :func:`gpu_floor_report`: an optimistic floor (every synapse one MAC = 2
FLOP at the FP16 energy per FLOP at TDP and peak, weights read once from DRAM; no idle power,
no activations), labelled as such.
"""
from __future__ import annotations

from spikeattn.errors import MissingExtraError

from .registry import get
from .report import EnergyReport
from .workload import as_view


def gpu_floor_report(counts, gpu: str) -> EnergyReport:
    """Floor energy of the dense equivalent on ``gpu`` (see the module docstring)."""
    v = as_view(counts)
    g = get(gpu)
    flops = 2.0 * v.synapses() * v.batch
    wbytes = v.weight_storage_bytes()
    parts = {w: {"dense_compute": flops * g.c("e_flop_fp16", w), "memory_weights_dram": wbytes * g.c("e_dram_byte", w)}
             for w in ("value", "low", "high")}
    lat = {w: max(flops / g.c("peak_flops_fp16", {"value": "value", "low": "high", "high": "low"}[w]),
                  wbytes / g.c("mem_bandwidth", {"value": "value", "low": "high", "high": "low"}[w]))
           for w in ("value", "low", "high")}
    return EnergyReport(
        hardware=g.name, title=g.title, total_j=sum(parts["value"].values()), low_j=sum(parts["low"].values()),
        high_j=sum(parts["high"].values()), breakdown=parts["value"], breakdown_low=parts["low"],
        breakdown_high=parts["high"], latency_s=lat["value"], latency_low_s=lat["low"], latency_high_s=lat["high"],
        batch=v.batch, steps=1,
        notes=list(g.notes) + [
            "Modelled only: GPU floor for the dense equivalent - every synapse is one MAC (2 FLOP) per sample at "
            "the FP16 energy per FLOP at TDP and peak, weights read once from DRAM; idle power, activations, the "
            "attention map and real utilisation are left out, so this favours the GPU.",
            "Latency: roofline max(FLOPs / peak, weight bytes / bandwidth); kernel launch overheads left out."],
        meta={"kind": "gpu", "flops": flops, "weight_bytes": wbytes, "method": "floor"})


def dense_gpu_report(circuit, counts, gpu: str) -> EnergyReport:
    """The dense equivalent of ``circuit`` on ``gpu``: HW-peers' model if present, else the floor."""
    v = as_view(counts)
    why = None
    try:
        from .dense_equivalent import dense_workload  # HW-peers
        from .gpu import cost_dense  # HW-peers
    except ImportError as exc:
        why = f"hardware_models.gpu / dense_equivalent unavailable ({exc})"
    if why is None and circuit is None:
        why = "no circuit given for the dense equivalent"
    if why is None:
        try:
            rep = cost_dense(dense_workload(circuit, v.steps, v.batch), gpu)
            return rep if isinstance(rep, EnergyReport) else EnergyReport.from_dict(rep)
        except MissingExtraError as exc:  # torch not installed: FLOPs cannot be counted
            why = str(exc)
    rep = gpu_floor_report(v, gpu)
    rep.notes.append(f"Floor used because {why}.")
    return rep
