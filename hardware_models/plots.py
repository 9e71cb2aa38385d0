"""Figures of energy reports: breakdown bar chart and the sensitivity (crossover) plot.

matplotlib (extra ``viz``) is imported lazily with the Agg backend.  Every figure is written as
a PNG and an SVG beside it (same stem), atomically; the PNG path is returned.  Term colours
(:data:`COLOURS`) are fixed, so a term has the same colour in every chart (the SANA-FE
comparison maps its synapse / soma / network terms onto them), and so are model colours
(:data:`MODEL_COLOURS`, shared with :mod:`hardware_models.plots_batch`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from spikeattn.errors import require
from spikeattn.fileio import atomic_savefig

from .report import EnergyReport
from .sensitivity import DAMPFHOFFER_SPS, YAN_RATE_T5, Sensitivity

COLOURS = {"synaptic_compute": "#1f77b4", "neuron_updates": "#ff7f0e", "spike_generation": "#9467bd",
           "routing_intra_core": "#2ca02c", "routing_inter_core": "#98df8a", "static": "#7f7f7f",
           "all_in": "#8c564b", "dense_compute": "#d62728", "memory_dram": "#e377c2", "memory_l2": "#f7b6d2",
           "memory_weights_dram": "#e377c2", "memory_state_dram": "#f7b6d2", "memory_weights_sram_8kb": "#17becf",
           "memory_state_sram_8kb": "#9edae5", "memory_weights_sram_32kb": "#bcbd22",
           "memory_state_sram_32kb": "#dbdb8d", "memory_weights_sram_1mb": "#c49c94",
           "memory_state_sram_1mb": "#c5b0d5", "idle": "#c7c7c7", "mac_compute": "#d62728",
           "register_file": "#ff9896", "global_buffer": "#aec7e8"}
# SANA-FE's terms drawn in the colour of the spikeattn term they correspond to
SANAFE_COLOURS = {"synapse": COLOURS["synaptic_compute"], "soma": COLOURS["neuron_updates"],
                  "network": COLOURS["routing_inter_core"], "dendrite": "#8172b2"}
# one colour per hardware model, the same in every chart (sensitivity, batch study)
MODEL_COLOURS = {"loihi": "#1f77b4", "loihi2": "#17becf", "truenorth": "#8c564b", "spinnaker1": "#bcbd22",
                 "spinnaker2": "#9467bd", "asic45nm": "#7f7f7f", "cpu": "#e377c2", "literature": "#000000",
                 "h100": "#d62728", "a100": "#ff7f0e", "jetson_orin": "#2ca02c", "eyeriss": "#e7ba52"}


def pyplot():
    """matplotlib's pyplot with the Agg backend (extra ``viz``; MissingExtraError without it)."""
    mpl = require("matplotlib", "viz", "plotting energy figures")
    mpl.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save(fig, path, dpi: int = 130) -> Path:
    """Write ``path`` (PNG) and the same figure as SVG beside it; return the PNG path."""
    path = Path(path)
    out = Path(atomic_savefig(fig, path, dpi=dpi))
    atomic_savefig(fig, path.with_suffix(".svg"), format="svg")
    return out


def breakdown_chart(reports: Sequence[EnergyReport], path, title: str | None = None, linear: bool = False) -> Path:
    """Left: each model's energy split into components (share of its total, stacked).
    Right: per model two bars, dynamic (events and ops) and dynamic + static (static / idle
    power x time), with the 5-95 % Monte Carlo interval when the report carries one (else the
    corner bounds) as whiskers; value labels sit right of the whiskers.  ``linear``: linear
    energy axis (default log)."""
    plt = pyplot()
    reports = list(reports)
    names = [r.hardware for r in reports]
    comps = []
    for r in reports:
        comps += [k for k in r.breakdown if k not in comps]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 0.7 * len(reports) + 2.4), sharey=True)
    y = np.arange(len(reports))
    left = np.zeros(len(reports))
    cmap = plt.get_cmap("tab20")
    for i, comp in enumerate(comps):
        share = np.array([r.breakdown.get(comp, 0.0) / r.total_j if r.total_j > 0 else 0.0 for r in reports])
        ax1.barh(y, share * 100, left=left, color=COLOURS.get(comp, cmap(i % 20)), label=comp)
        left += share * 100
    ax1.set_yticks(y, names)
    ax1.set_xlabel("share of dynamic + static energy (%)")
    ax1.set_xlim(0, 100)
    ax1.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    h = 0.38
    for off, key, col, lab in ((-h / 2, "dynamic", "#9ecae1", "dynamic"), (h / 2, "total", "#3182bd",
                                                                           "dynamic + static")):
        vals, lo, hi = [], [], []
        for r in reports:
            mc = r.meta.get("uncertainty", {}).get("dynamic_j" if key == "dynamic" else "total_j")
            v = r.dynamic_j if key == "dynamic" else r.total_j
            a, b = ((mc["p5"], mc["p95"]) if mc else
                    ((r.dynamic_low_j, r.dynamic_high_j) if key == "dynamic" else (r.low_j, r.high_j)))
            vals.append(v)
            lo.append(min(a, v))
            hi.append(max(b, v))
        vals, lo, hi = map(np.asarray, (vals, lo, hi))
        ax2.barh(y + off, vals, h, color=col, label=lab)
        ax2.errorbar(vals, y + off, xerr=[vals - lo, hi - vals], fmt="none", ecolor="k", capsize=2, lw=0.8)
        for yi, v, top in zip(y + off, vals, hi):
            x = top * 1.25 if not linear else top + 0.02 * max(hi.max(), 1e-30)
            ax2.text(x, yi, f"{v:.2e} J", va="center", fontsize=6.5)
    if not linear:
        ax2.set_xscale("log")
        ax2.set_xlim(right=ax2.get_xlim()[1] * 20)      # room for the labels right of the whiskers
    else:
        ax2.set_xlim(0, ax2.get_xlim()[1] * 1.3)
    ax2.set_xlabel("energy per batch (J); whiskers: 5-95 % Monte Carlo (or corner bounds)")
    ax2.legend(fontsize=7, loc="lower right", frameon=False)
    fig.suptitle(title or "Energy by hardware model", fontsize=10)
    fig.tight_layout()
    out = save(fig, path)
    plt.close(fig)
    return out


def sensitivity_chart(sens: Sequence[Sensitivity], path, title: str | None = None) -> Path:
    """Left: energy ratio (chip / GPU) versus spike rate at the measured T0, per chip, with the
    low-high band; the ratio-1 line is the crossover; the feasible rates (0-1 spike per neuron
    per step) are shaded.  Right: crossover spike rate versus T (same unit), with the feasible
    region shaded, Yan et al.'s 5.7 % at T = 5 and Dampfhoffer et al.'s 0.15-1.38 spikes per
    synapse per inference converted to a rate band for this circuit."""
    plt = pyplot()
    sens = list(sens)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.6))
    rates = np.logspace(-4, 1, 250)
    cmap = plt.get_cmap("tab10")
    t0 = sens[0].steps0 if sens else 1
    for ax in (ax1,):
        ax.axvspan(1e-4, 1.0, color="#e5f5e0", alpha=0.6, lw=0, label="feasible: 0-1 spike/neuron/step")
    for i, s in enumerate(sens):
        col = MODEL_COLOURS.get(s.hardware, cmap(i % 10))
        ax1.plot(rates, s.ratio(rates, s.steps0), color=col, label=f"{s.hardware} vs {s.gpu}")
        ax1.fill_between(rates, s.ratio(rates, s.steps0, "low"), s.ratio(rates, s.steps0, "high"), color=col,
                         alpha=0.15)
        ax1.plot([s.rate0], [s.ratio(s.rate0, s.steps0)], "o", color=col)
    ax1.axhline(1.0, color="k", lw=0.8, ls="--")
    ax1.axvline(YAN_RATE_T5[0], color="r", lw=0.8, ls=":", label="Yan 2024: 5.7 % (T=5)")
    ax1.set(xscale="log", yscale="log", xlabel="spike rate (spikes per neuron per step)",
            ylabel="energy ratio chip / GPU (<1: chip wins)", title=f"at the measured T0 = {t0} (dot: measured)")
    ax1.legend(fontsize=7)
    steps = np.unique(np.round(np.logspace(0, np.log10(max(64, 4 * t0)), 40)).astype(int))
    ax2.axhspan(1e-4, 1.0, color="#e5f5e0", alpha=0.6, lw=0, label="feasible: 0-1 spike/neuron/step")
    for i, s in enumerate(sens):
        r = [s.crossover_rate(t) for t in steps]
        r = np.array([np.nan if (x is None or not np.isfinite(x)) else x for x in r])
        ax2.plot(steps, r, color=MODEL_COLOURS.get(s.hardware, cmap(i % 10)), label=s.hardware)
    if sens and sens[0].synapses and sens[0].synops0:
        s = sens[0]
        per = s.synops0 / (s.synapses * s.batch) / s.rate0 / s.steps0  # spikes/synapse/inference per (rate x T)
        ax2.fill_between(steps, DAMPFHOFFER_SPS[0] / (per * steps), DAMPFHOFFER_SPS[1] / (per * steps),
                         color="orange", alpha=0.2, label="Dampfhoffer 2023: 0.15-1.38 spikes/synapse")
    ax2.plot([YAN_RATE_T5[1]], [YAN_RATE_T5[0]], "r*", ms=10, label="Yan 2024: 5.7 % at T=5")
    ax2.set(xscale="log", yscale="log", xlabel="time steps T",
            ylabel="crossover spike rate (spikes per neuron per step)",
            title="below a line the chip uses less energy; above 1 is not a rate")
    ax2.legend(fontsize=7)
    fig.suptitle(title or "Where the neuromorphic chip stops winning", fontsize=10)
    fig.tight_layout()
    out = save(fig, path)
    plt.close(fig)
    return out
