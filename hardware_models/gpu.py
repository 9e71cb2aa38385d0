"""GPU baseline: energy and time of the dense workload (``dense_equivalent.Workload``) on a GPU.

Roofline time and energy, per batch, with the GPU's constants from its chip module
(``hardware_models.get("a100" | "h100" | "jetson_orin")``)::

    t      = max(FLOPs / (peak * u),  bytes / (bandwidth * u))          [s]
    E      = FLOPs * e_flop + bytes * e_byte + P_idle * t               [J]
    e_flop = (P_TDP - P_idle) / peak        dynamic energy per FLOP     [J/FLOP, derived]
    e_byte = e_dram_byte                    DRAM (HBM/LPDDR) per byte   [J/B]

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
runs the same forward pass and reads NVML's energy counter
(``nvmlDeviceGetTotalEnergyConsumption``); the report then shows measured beside modelled.
Without one the report says "modelled only".
"""
from __future__ import annotations

import time

from spikeattn.errors import ParameterError, require

from .registry import get
from .report import EnergyReport

UTILISATION = {"value": 0.3, "low": 0.05, "high": 1.0}
KERNEL_LAUNCH_S = {"value": 5e-6, "low": 2e-6, "high": 10e-6}   # per eager kernel (assumption, see above)
PRECISION_KEYS = {"fp16": "peak_flops_fp16", "fp32": "peak_flops_fp32"}


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
    if precision not in PRECISION_KEYS or not g.has(PRECISION_KEYS[precision]):
        raise ParameterError("cost_dense", "precision", f"is {precision!r}; {gpu} has "
                             f"{[p for p, k in PRECISION_KEYS.items() if g.has(k)]}.")
    util = dict(UTILISATION) if utilisation is None else {"value": utilisation, "low": utilisation,
                                                           "high": utilisation}
    if not all(0 < u <= 1 for u in util.values()):
        raise ParameterError("cost_dense", "utilisation", f"is {utilisation!r}; must be in (0, 1].")
    peak_key = PRECISION_KEYS[precision]
    flops, b_hi, b_lo = workload.flops, workload.bytes_high, workload.bytes_low
    opp = {"value": "value", "low": "high", "high": "low"}
    parts, times = {}, {}
    for w in ("value", "low", "high"):
        peak, bw = _pick(g, peak_key, opp[w]), _pick(g, "mem_bandwidth", opp[w])
        u = util[opp[w]]
        n_bytes = b_lo if w == "low" else b_hi
        kernels = min(workload.kernels, 1) if w == "low" else workload.kernels
        t = max(flops / (peak * u), n_bytes / (bw * u), kernels * KERNEL_LAUNCH_S[w])
        e_flop = max(_pick(g, "p_tdp", w) - _pick(g, "p_idle", opp[w]), 0.0) / peak
        parts[w] = {"dense_compute": flops * e_flop, "memory_dram": n_bytes * _pick(g, "e_dram_byte", w),
                    "idle": _pick(g, "p_idle", w) * t}
        times[w] = t
    notes = list(g.notes) + [
        f"dense workload: {workload.name}; {flops:.4g} FLOP (torch FlopCounterMode), {b_hi:.4g} B unfused / "
        f"{b_lo:.4g} B fused, batch {workload.batch}",
        f"utilisation {util['value']:g} of peak FLOP/s and bandwidth (range {util['low']:g}-{util['high']:g}; "
        "an assumption)",
        "e_flop = (TDP - idle) / peak (derived); idle power x time",
        f"time >= {workload.kernels} kernel launches x {KERNEL_LAUNCH_S['value'] * 1e6:g} us (range "
        f"{KERNEL_LAUNCH_S['low'] * 1e6:g}-{KERNEL_LAUNCH_S['high'] * 1e6:g} us; low bound: one fused kernel)"]
    meta = {"kind": "gpu", "method": "roofline", "precision": precision, "utilisation": util,
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
        notes.append(f"measured with NVML on {measured['device']}: {measured['energy_j']:.4g} J and "
                     f"{measured['time_s']:.4g} s per forward pass (modelled {sum(parts['value'].values()):.4g} J, "
                     f"{times['value']:.4g} s); the measured figure includes idle power and launch overheads")
    return EnergyReport(hardware=g.name, title=g.title, total_j=sum(parts["value"].values()),
                        low_j=sum(parts["low"].values()), high_j=sum(parts["high"].values()),
                        breakdown=parts["value"], breakdown_low=parts["low"], breakdown_high=parts["high"],
                        latency_s=times["value"], latency_low_s=times["low"], latency_high_s=times["high"],
                        notes=notes, batch=workload.batch, steps=workload.steps, meta=meta)


def cost_by_batch(circuit, gpu: str = "h100", batches=(1, 8, 64), steps: int = 1, **options) -> list[EnergyReport]:
    """:func:`cost_dense` of the circuit's dense workload for each batch size."""
    from .dense_equivalent import dense_workload
    return [cost_dense(dense_workload(circuit, steps, int(b)), gpu, **options) for b in batches]


def measure_nvml(model, inputs: dict, precision: str = "fp16", min_seconds: float = 2.0,
                 warmup: int = 10) -> dict:
    """Measured energy and time of one forward pass ``model(**inputs)`` on the current CUDA GPU.

    Runs the pass repeatedly for at least ``min_seconds`` (NVML's energy counter is in mJ and
    refreshes every few ms) and divides the counter's increase by the number of passes.  The
    figure includes the board's idle power and kernel-launch overheads."""
    torch = require("torch", "torch", "NVML measurement")
    pynvml = require("pynvml", "gpu", "NVML measurement", "pip install nvidia-ml-py")
    dtype = torch.float16 if precision == "fp16" else torch.float32
    dev = torch.device("cuda")
    model = model.to(dev, dtype)
    inputs = {k: torch.as_tensor(v).to(dev, dtype) for k, v in inputs.items()}
    pynvml.nvmlInit()
    try:
        handle = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda.current_device())
        name = pynvml.nvmlDeviceGetName(handle)
        name = name.decode() if isinstance(name, bytes) else name
        with torch.no_grad():
            for _ in range(warmup):
                model(**inputs)
            torch.cuda.synchronize()
            idle_w = pynvml.nvmlDeviceGetPowerUsage(handle) / 1e3
            e0, t0, n = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle), time.perf_counter(), 0
            while True:
                for _ in range(10):
                    model(**inputs)
                n += 10
                torch.cuda.synchronize()
                if time.perf_counter() - t0 >= min_seconds:
                    break
            dt = time.perf_counter() - t0
            e1 = pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    finally:
        pynvml.nvmlShutdown()
    return {"device": name, "passes": n, "energy_j": (e1 - e0) / 1e3 / n, "time_s": dt / n,
            "mean_power_w": (e1 - e0) / 1e3 / dt, "power_before_w": idle_w, "precision": precision}
