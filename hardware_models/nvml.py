"""GPU energy measured with NVML's energy counter: warm-up, idle baseline, repeated trials.

Protocol (:func:`measure`), written to run unattended on a CUDA machine:

1. warm-up: ``warmup_s`` seconds of forward passes (clocks, caches, cuDNN autotuning settle);
2. idle baseline: the counter's increase over ``idle_s`` seconds with the GPU idle (after a
   synchronise), ``P_idle = dE / dt`` [W];
3. ``trials`` (>= 5) trials, each of at least ``min_trial_s`` (>= 1 s) of back-to-back
   passes, synchronised at its end; per trial ``E_pass = dE / n`` and
   ``E_dyn = (dE - P_idle * dt) / n`` [J per forward pass], ``t_pass = dt / n`` [s];
4. the summary (:func:`summarise`): median, min, max and the sample standard deviation of
   each over the trials.

NVML's ``nvmlDeviceGetTotalEnergyConsumption`` is in mJ since the driver loaded (Volta and
later) and refreshes every few ms, so 1 s trials keep its resolution below 1 %.
``pynvml`` (``nvidia-ml-py``, extra ``gpu``) and ``torch`` are imported lazily.
"""
from __future__ import annotations

import statistics
import time

from spikeattn.errors import ParameterError, require

MIN_TRIALS, MIN_TRIAL_S = 5, 1.0


def summarise(trials: list[dict], idle_w: float) -> dict:
    """Median / min / max / stdev over trials of per-pass energy, dynamic energy and time.

    Each trial is ``{"energy_j": dE, "time_s": dt, "passes": n}`` (counter increase, wall
    time, passes).  ``E_dyn = (dE - idle_w * dt) / n``."""
    if not trials:
        raise ParameterError("nvml.summarise", "trials", "is empty.", "run at least one trial.")
    rows = [{"energy_j": t["energy_j"] / t["passes"], "dynamic_j": (t["energy_j"] - idle_w * t["time_s"]) / t["passes"],
             "time_s": t["time_s"] / t["passes"], "power_w": t["energy_j"] / t["time_s"]} for t in trials]
    out = {"trials": len(rows), "idle_w": idle_w, "per_trial": rows}
    for key in ("energy_j", "dynamic_j", "time_s", "power_w"):
        xs = [r[key] for r in rows]
        out[key] = {"median": statistics.median(xs), "min": min(xs), "max": max(xs),
                    "stdev": statistics.stdev(xs) if len(xs) > 1 else 0.0}
    return out


def measure(model, inputs: dict, precision: str = "fp16", trials: int = MIN_TRIALS, min_trial_s: float = MIN_TRIAL_S,
            warmup_s: float = 2.0, idle_s: float = 2.0, device_index: int | None = None) -> dict:
    """Measure ``model(**inputs)`` per forward pass on the current CUDA GPU (protocol above)."""
    if trials < MIN_TRIALS or min_trial_s < MIN_TRIAL_S:
        raise ParameterError("nvml.measure", "trials/min_trial_s", f"are {trials}/{min_trial_s}.",
                             f"use at least {MIN_TRIALS} trials of at least {MIN_TRIAL_S} s.")
    torch = require("torch", "torch", "NVML measurement")
    if not torch.cuda.is_available():
        raise ParameterError("nvml.measure", "device", "no CUDA GPU is available.", "run on a machine with one.")
    pynvml = require("pynvml", "gpu", "NVML measurement", "pip install nvidia-ml-py")
    dtype = torch.float16 if precision == "fp16" else torch.float32
    dev = torch.device("cuda", device_index if device_index is not None else torch.cuda.current_device())
    model = model.to(dev, dtype).eval()
    inputs = {k: torch.as_tensor(v).to(dev, dtype) for k, v in inputs.items()}
    pynvml.nvmlInit()
    try:
        handle = pynvml.nvmlDeviceGetHandleByIndex(dev.index)
        name = pynvml.nvmlDeviceGetName(handle)
        name = name.decode() if isinstance(name, bytes) else name
        energy = lambda: pynvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1e3  # noqa: E731  (mJ -> J)
        with torch.no_grad():
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < warmup_s:
                model(**inputs)
                torch.cuda.synchronize()
            time.sleep(0.5)
            e0, t0 = energy(), time.perf_counter()
            time.sleep(idle_s)
            idle_w = (energy() - e0) / (time.perf_counter() - t0)
            runs = []
            for _ in range(trials):
                torch.cuda.synchronize()
                e0, t0, n = energy(), time.perf_counter(), 0
                while True:
                    for _ in range(10):
                        model(**inputs)
                    n += 10
                    torch.cuda.synchronize()
                    if time.perf_counter() - t0 >= min_trial_s:
                        break
                runs.append({"energy_j": energy() - e0, "time_s": time.perf_counter() - t0, "passes": n})
    finally:
        pynvml.nvmlShutdown()
    out = summarise(runs, idle_w)
    out.update(device=name, precision=precision, raw=runs,
               energy_j_median=out["energy_j"]["median"], time_s_median=out["time_s"]["median"])
    # flat keys kept for older readers of the report
    out["energy_j_flat"], out["passes"] = out["energy_j"]["median"], sum(r["passes"] for r in runs)
    return out

