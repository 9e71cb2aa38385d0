"""Uncertainty propagated per constant: seeded Monte Carlo over every constant's own range.

The corner bounds of :func:`hardware_models.cost` move every constant to the same end at
once, which is the extreme case of perfectly correlated errors and gives ranges of about two
orders of magnitude.  Here each constant with ``low < high`` is drawn independently from a
two-piece uniform distribution with its median at ``value``: with probability 1/2 uniform on
``[low, value]``, otherwise uniform on ``[value, high]`` (a side of zero width is a point mass
at ``value``: where the central figure is a bound, e.g. Loihi's synaptic op, half the draws
keep it).  So every constant's median is its central figure and its range is its stated
range; a constant known as one number stays fixed.  The model is evaluated for every draw
(vectorised: the cost terms are sums of products), and the report gives the median with the
5-95 % interval of the total, the dynamic part and the latency.  Seeded:
``numpy.random.default_rng(seed)``; ``n`` draws (default 4000).

GPU baselines (:func:`dense_samples`) draw the GPU's constants the same way plus the two
stated assumptions of :mod:`hardware_models.gpu`: utilisation (0.05 / 0.3 / 1.0) and
kernel-launch time (2 / 5 / 10 us); bytes follow the central (unfused, L2-aware) path.

Limitation (stated): constants derived from one shared assumption (Loihi 2's 0.25-1.0
scale of every Loihi 1 figure) are drawn independently, which narrows that model's interval.
"""
from __future__ import annotations

import numpy as np

from .cost import evaluate, prepare
from .registry import get
from .report import STATIC_KEYS, EnergyReport
from .workload import as_view

N_DRAWS, SEED, PCTS = 4000, 0, (5.0, 50.0, 95.0)


def draw(constant, n: int, rng) -> np.ndarray:
    """``n`` draws of one constant: two-piece uniform with median ``value`` (module docstring),
    or the value if fixed.  Quantile q: ``value - (value - low)(1 - 2q)`` for q < 1/2, else
    ``value + (high - value)(2q - 1)``."""
    lo, mid, hi = float(constant.low), float(constant.value), float(constant.high)
    if hi <= lo:
        return np.full(n, mid)
    q = rng.random(n)
    return np.where(q < 0.5, mid - (mid - lo) * (1 - 2 * q), mid + (hi - mid) * (2 * q - 1))


def summary(x) -> dict:
    """``{"median", "p5", "p95"}`` of an array of draws (None stays None)."""
    if x is None:
        return None
    x = np.broadcast_to(np.asarray(x, float), (np.size(x),))
    p5, p50, p95 = np.percentile(x, PCTS)
    return {"median": float(p50), "p5": float(p5), "p95": float(p95)}


class _Draws:
    """Lazily drawn constants of one model, keyed as the cost model asks for them."""

    def __init__(self, hw, n: int, seed: int):
        self.hw, self.n, self.rng, self.cache = hw, n, np.random.default_rng(seed), {}
        # draw in a fixed order so a seed gives the same numbers whatever is asked first
        for k in sorted(hw.constants):
            self.cache[k] = draw(hw.constants[k], n, self.rng)
        for m in hw.memory_levels:
            self.cache[f"memory:{m.name}"] = draw(m.energy_per_byte, n, self.rng)

    def __call__(self, key: str):
        return self.cache[key]


def chip_draws(counts, hardware, circuit=None, placement=None, n: int = N_DRAWS, seed: int = SEED) -> dict:
    """The Monte Carlo draws themselves: ``{"total", "static": arrays of n, "latency": array or
    None, "batch"}`` (whole batch), for summing over segments before summarising."""
    hw = get(hardware)
    view = as_view(counts)
    placement, traffic, loads, _, view = prepare(hw, view, circuit, placement)
    d = _Draws(hw, n, seed)
    b, lat, _ = evaluate(hw, view, "value", traffic, loads, placement, getc=d)
    zero = np.zeros(n)
    total = sum((np.broadcast_to(v, (n,)) for v in b.values()), zero)
    static = sum((np.broadcast_to(v, (n,)) for k, v in b.items() if k in STATIC_KEYS), zero)
    return {"total": total, "static": static, "latency": None if lat is None else np.broadcast_to(lat, (n,)),
            "batch": max(view.batch, 1)}


def summarise_draws(dr: dict, n: int, seed: int, per: int | None = None) -> dict:
    """:func:`monte_carlo`'s dict from :func:`chip_draws`' arrays (``per``: samples per inference)."""
    total, static, lat = dr["total"], dr["static"], dr["latency"]
    per = max(dr["batch"] if per is None else per, 1)
    return {"total_j": summary(total), "dynamic_j": summary(total - static), "static_j": summary(static),
            "latency_s": None if lat is None else summary(lat),
            "per_inference_j": summary(total / per), "per_inference_dynamic_j": summary((total - static) / per),
            "n": n, "seed": seed, "method": "Monte Carlo, each constant two-piece uniform (median = value) over its range, independent"}


def monte_carlo(counts, hardware, circuit=None, placement=None, n: int = N_DRAWS, seed: int = SEED) -> dict:
    """Median and 5-95 % interval of a chip's total, dynamic energy and latency (whole batch).

    Returns ``{"total_j", "dynamic_j", "static_j", "latency_s": {"median", "p5", "p95"},
    "per_inference_j", "per_inference_dynamic_j", "n", "seed", "method"}``."""
    return summarise_draws(chip_draws(counts, hardware, circuit, placement, n, seed), n, seed)


def dense_samples(workload, gpu, precision: str = "fp16", n: int = N_DRAWS, seed: int = SEED) -> dict:
    """Monte Carlo of :func:`hardware_models.gpu.cost_dense`'s central path (module docstring)."""
    from .constants import ranged
    from .gpu import KERNEL_LAUNCH_S, PRECISION_KEYS, UTILISATION
    g = get(gpu)
    d = _Draws(g, n, seed)
    u = draw(ranged(UTILISATION["value"], UTILISATION["low"], UTILISATION["high"], "1", "assumption", "D"), n, d.rng)
    tl = draw(ranged(KERNEL_LAUNCH_S["value"], KERNEL_LAUNCH_S["low"], KERNEL_LAUNCH_S["high"], "s", "assumption",
                     "D"), n, d.rng)
    flops, b_hi, b_lo = workload.flops, workload.bytes_high, workload.bytes_low
    inter = max(b_hi - b_lo, 0)
    fits = g.has("l2_bytes") and inter / 2 <= g.c("l2_bytes")
    dram, l2 = (b_lo, inter) if fits else (b_hi, 0)
    t = np.maximum.reduce([flops / (d(PRECISION_KEYS[precision]) * u), dram / (d("mem_bandwidth") * u),
                           workload.kernels * tl])
    dyn = flops * d(f"e_flop_{precision}") + dram * d("e_dram_byte") + (l2 * d("e_l2_byte") if l2 else 0.0)
    total = dyn + d("p_idle") * t
    per = max(workload.batch, 1)
    return {"total_j": summary(total), "dynamic_j": summary(dyn), "static_j": summary(total - dyn),
            "latency_s": summary(t), "per_inference_j": summary(total / per),
            "per_inference_dynamic_j": summary(dyn / per), "n": n, "seed": seed,
            "method": "Monte Carlo, each constant and the utilisation / launch-time assumptions two-piece uniform"}


def attach(report: EnergyReport, mc: dict) -> EnergyReport:
    """Store a Monte Carlo summary in ``report.meta["uncertainty"]`` and return the report."""
    report.meta["uncertainty"] = mc
    return report
