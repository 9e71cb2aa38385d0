"""GPU baseline: energy and time of the dense workload (``dense_equivalent.Workload``) on a GPU.

Roofline time and energy, per batch, with the GPU's constants from its chip module
(``hardware_models.get("a100" | "h100" | "jetson_orin")``)::

    t      = max(FLOPs / (peak * u),  dram_bytes / (bandwidth * u))     [s]
    E      = FLOPs * e_flop + dram_bytes * e_dram + l2_bytes * e_l2 + P_idle * t    [J]
    e_flop = the GPU's ``e_flop_<precision>`` constant: dynamic energy (TDP - idle) / peak,
             defined once, in the GPU's chip module                     [J/FLOP, derived]

L2: when the intermediates of one pass fit in the GPU's L2 (``l2_bytes``; their size is
taken as half the unfused intermediate traffic, every intermediate written once and read at
least once), DRAM moves only the weights, inputs and outputs (the fused bytes) and the
intermediate traffic is charged at ``e_l2_byte``; otherwise every unfused byte goes to DRAM.

``u`` is the stated utilisation (fraction of peak FLOP/s and bandwidth reached; default
0.3, range 0.05-1.0: an assumption, not a measurement; small-batch attention runs far below
peak).  ``bytes`` is the unfused figure (eager PyTorch writes every intermediate, the N x N
attention map included); the low bound uses the fused figure (inputs, outputs and weights
only).  ``low_j``/``high_j`` evaluate every term at the ends of its constants' ranges that
minimise/maximise it (term-wise, so conservative).

Kernel launches: an eager forward pass launches one kernel per non-view aten op
(``Workload.kernels``, counted by torch's dispatcher), and a small workload cannot finish
faster than its launches: ``t = max(roofline, kernels * t_launch)`` with ``t_launch`` 5 us
(range 2-10 us; commonly reported eager PyTorch/CUDA launch overhead, an assumption [S]).
The low bound assumes one fully fused kernel (CUDA graph): ``max(roofline, t_launch_low)``.
The idle power is paid for the whole time.

When a CUDA GPU is present and the workload carries its torch model, :func:`measure_nvml`
runs the same forward pass with :mod:`hardware_models.nvml`'s protocol (warm-up, measured
idle baseline, >= 5 trials of >= 1 s, spread); the report then shows measured beside modelled.
Without one the report says "modelled only".
"""
from __future__ import annotations

from spikeattn.errors import ParameterError, require

from . import nvml
from .registry import get
from .report import EnergyReport

UTILISATION = {"value": 0.3, "low": 0.05, "high": 1.0}
KERNEL_LAUNCH_S = {"value": 5e-6, "low": 2e-6, "high": 10e-6}   # per eager kernel (assumption, see above)
PRECISION_KEYS = {"fp16": "peak_flops_fp16", "fp32": "peak_flops_fp32", "int8": "peak_flops_int8"}


def _pick(g, key: str, which: str) -> float:
    return g.c(key, which)


def cost_dense(workload, gpu: str = "h100", utilisation: float | None = None, precision: str = "fp16",
               measure: bool | str = "auto") -> EnergyReport:
    """Energy report of ``workload`` (a :class:`~hardware_models.dense_equivalent.Workload`) on
    ``gpu`` (see the module docstring for the equations and bounds)."""
    g = get(gpu)
    if g.kind != "gpu":
        raise ParameterError("cost_dense", "gpu", f"'{gpu}' is a {g.kind} model, not a GPU.",
                             "use a100, h100 or jetson_orin.")
    if precision not in PRECISION_KEYS or not g.has(PRECISION_KEYS[precision]) or not g.has(f"e_flop_{precision}"):
        raise ParameterError("cost_dense", "precision", f"is {precision!r}; {gpu} has "
                             f"{[p for p, k in PRECISION_KEYS.items() if g.has(k)]}.")
    util = dict(UTILISATION) if utilisation is None else {"value": utilisation, "low": utilisation,
                                                           "high": utilisation}
    if not all(0 < u <= 1 for u in util.values()):
        raise ParameterError("cost_dense", "utilisation", f"is {utilisation!r}; must be in (0, 1].")
    peak_key = PRECISION_KEYS[precision]
    flops, b_hi, b_lo = workload.flops, workload.bytes_high, workload.bytes_low
    intermediate = max(b_hi - b_lo, 0)
    fits_l2 = g.has("l2_bytes") and intermediate / 2 <= g.c("l2_bytes")
    if fits_l2:
        b_hi = b_lo
    l2_traffic = {"value": intermediate if fits_l2 else 0, "high": intermediate if fits_l2 else 0, "low": 0}
    opp = {"value": "value", "low": "high", "high": "low"}
    parts, times = {}, {}
    for w in ("value", "low", "high"):
        peak, bw = _pick(g, peak_key, opp[w]), _pick(g, "mem_bandwidth", opp[w])
        u = util[opp[w]]
        n_bytes = b_lo if w == "low" else b_hi
        kernels = min(workload.kernels, 1) if w == "low" else workload.kernels
        t = max(flops / (peak * u), n_bytes / (bw * u), kernels * KERNEL_LAUNCH_S[w])
        e_flop = _pick(g, f"e_flop_{precision}", w)
        parts[w] = {"dense_compute": flops * e_flop, "memory_dram": n_bytes * _pick(g, "e_dram_byte", w),
                    "memory_l2": l2_traffic[w] * (_pick(g, "e_l2_byte", w) if g.has("e_l2_byte") else 0.0),
                    "idle": _pick(g, "p_idle", w) * t}
        times[w] = t
    notes = list(g.notes) + [
        f"dense workload: {workload.name}; {flops:.4g} FLOP (torch FlopCounterMode), {b_hi:.4g} B unfused / "
        f"{b_lo:.4g} B fused, batch {workload.batch}",
        f"utilisation {util['value']:g} of peak FLOP/s and bandwidth (range {util['low']:g}-{util['high']:g}; "
        "an assumption)",
        f"e_flop = e_flop_{precision} of {g.name}: dynamic (TDP - idle) / peak (derived once, in the chip module); "
        "idle power x time",
        (f"intermediates ({intermediate / 2:.4g} B) fit in L2 ({g.c('l2_bytes'):.4g} B): DRAM moves the fused bytes "
         "only; intermediate traffic charged at e_l2_byte" if fits_l2 else
         "intermediates do not fit in L2 (or no L2 size): every unfused byte is charged to DRAM"),
        f"time >= {workload.kernels} kernel launches x {KERNEL_LAUNCH_S['value'] * 1e6:g} us (range "
        f"{KERNEL_LAUNCH_S['low'] * 1e6:g}-{KERNEL_LAUNCH_S['high'] * 1e6:g} us; low bound: one fused kernel)"]
    meta = {"kind": "gpu", "method": "roofline", "precision": precision, "utilisation": util, "fits_l2": fits_l2,
            "workload": workload.to_dict()}
    measured = None
    factory = getattr(workload, "factory", None)
    if measure and factory is not None:
        torch = require("torch", "torch", "NVML measurement of the dense baseline")
        if torch.cuda.is_available():
            model, inputs = factory()
            measured = measure_nvml(model, inputs, precision=precision)
    if measured is None:
        notes.append("modelled only: no GPU measurement (no CUDA device, or measure=False)")
    else:
        meta["measured"] = measured
        notes.append(f"measured with NVML on {measured['device']} ({measured['trials']} trials, idle "
                     f"{measured['idle_w']:.3g} W): median {measured['energy_j']['median']:.4g} J "
                     f"({measured['dynamic_j']['median']:.4g} J above idle) and {measured['time_s']['median']:.4g} s "
                     f"per forward pass (modelled {sum(parts['value'].values()):.4g} J, {times['value']:.4g} s)")
    return EnergyReport(hardware=g.name, title=g.title, total_j=sum(parts["value"].values()),
                        low_j=sum(parts["low"].values()), high_j=sum(parts["high"].values()),
                        breakdown=parts["value"], breakdown_low=parts["low"], breakdown_high=parts["high"],
                        latency_s=times["value"], latency_low_s=times["low"], latency_high_s=times["high"],
                        notes=notes, batch=workload.batch, steps=workload.steps, meta=meta)


def cost_by_batch(circuit, gpu: str = "h100", batches=(1, 8, 64), steps: int = 1, **options) -> list[EnergyReport]:
    """:func:`cost_dense` of the circuit's dense workload for each batch size."""
    from .dense_equivalent import dense_workload
    return [cost_dense(dense_workload(circuit, steps, int(b)), gpu, **options) for b in batches]


def measure_nvml(model, inputs: dict, precision: str = "fp16", **options) -> dict:
    """Measured energy per forward pass (see :func:`hardware_models.nvml.measure`)."""
    return nvml.measure(model, inputs, precision=precision, **options)


def measure_batches(circuit, gpu: str = "h100", batches=(1, 64, 1024), steps: int = 1, **options) -> list[dict]:
    """Measured beside modelled for each batch: ``[{"batch", "modelled", "measured"}]``, where
    ``modelled`` is :func:`cost_dense` without measurement (moved here from
    :mod:`hardware_models.nvml`, which only measures)."""
    from .dense_equivalent import dense_workload
    rows = []
    for b in batches:
        w = dense_workload(circuit, steps, int(b))
        rep = cost_dense(w, gpu, measure=False)
        model, inputs = w.factory()
        m = nvml.measure(model, inputs, **options)
        rows.append({"batch": int(b), "modelled": {"total_j": rep.total_j, "dynamic_j": rep.dynamic_j,
                                                    "latency_s": rep.latency_s},
                     "measured": {k: m[k] for k in ("device", "idle_w", "energy_j", "dynamic_j", "time_s", "trials")}})
    return rows
