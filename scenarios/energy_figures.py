"""Figures of the energy-vs-gpu scenario, drawn from the energy block alone.

``energy_vs_batch.png``      energy per inference against batch (1 ... the largest batch of the
                             table, log-log): each GPU as a curve (the dense workload priced at
                             every power of two, ``batch_study.gpu_curves``) with its 5-95 %
                             interval at the headline batches, each chip as a flat band (its
                             5-95 % interval; chips run samples in sequence) with its central
                             line, and each crossover batch marked where the GPU meets the chip.
``accuracy_vs_energy.png``   accuracy against energy per inference: each chip at the largest T
                             and each GPU at each headline batch (1, 64, 1024), energy with its
                             5-95 % interval, accuracy with its 95 % Wilson interval over the
                             test split.

The data each figure plots are prepared by :func:`batch_series` and
:func:`accuracy_energy_series` (plain dicts, tested against the block's numbers); the drawing
functions only draw them.
"""
from __future__ import annotations

import math
from pathlib import Path

from spikeattn.errors import ParameterError

BATCH_FIGURE = "energy_vs_batch.png"
ACCURACY_FIGURE = "accuracy_vs_energy.png"
COLOURS = {"loihi": "#1f77b4", "loihi2": "#17becf", "truenorth": "#8c564b", "spinnaker2": "#9467bd",
           "h100": "#d62728", "a100": "#ff7f0e", "jetson_orin": "#2ca02c"}


def _colour(name: str) -> str | None:
    """A model's colour; a quantised ANN (``<gpu>-q<bits>-int8``) a darker shade of its GPU's."""
    base = COLOURS.get(name.split("-q")[0])
    if base is None or "-q" not in name:
        return base
    return "#" + "".join(f"{int(base[i:i + 2], 16) // 2:02x}" for i in (1, 3, 5))


def _study(block) -> dict:
    study = (block or {}).get("batch_study")
    if not study or not study.get("gpu_curves"):
        raise ParameterError("energy figures", "energy.batch_study", "is missing or has no GPU curves: the block "
                             "was costed without a GPU or without the dense model's workload.",
                             "cost the run with at least one GPU and a recorded dense workload "
                             "(hardware_models.energy_block(..., batches=(1, 64, 1024))).")
    return study


def batch_series(block: dict) -> dict:
    """What :func:`energy_vs_batch` draws, from the energy block (``energy_block``):

    ``gpus``: name -> ``batch``, ``energy_j`` (dynamic + static per inference at every batch of
    ``gpu_curves``) and ``points`` (the headline batches with ``p5`` / ``p95``);
    ``chips``: name -> ``energy_j``, ``p5``, ``p95`` (per inference, flat in batch);
    ``crossovers``: one dict per chip and GPU (``chip``, ``gpu``, ``batch``: None for never);
    ``max_batch``: how far the crossover was searched."""
    study = _study(block)
    gpus = {g: {"batch": [q["batch"] for q in curve], "energy_j": [q["energy_j"] for q in curve],
                "points": [{"batch": p["batch"], "energy_j": p["energy_j"], "p5": p["energy_interval"]["p5"],
                            "p95": p["energy_interval"]["p95"]} if p.get("energy_interval") else
                           {"batch": p["batch"], "energy_j": p["energy_j"], "p5": None, "p95": None}
                           for p in study["points"][g]]}
            for g, curve in study["gpu_curves"].items()}
    chips = {}
    for name in study["crossover_batch"]:
        p = study["points"][name][0]
        iv = p.get("energy_interval") or {}
        chips[name] = {"energy_j": p["energy_j"], "p5": iv.get("p5"), "p95": iv.get("p95")}
    cross = [{"chip": c, "gpu": g, "batch": x["total"]}
             for c, per_gpu in study["crossover_batch"].items() for g, x in per_gpu.items()]
    return {"gpus": gpus, "chips": chips, "crossovers": cross, "max_batch": study["max_batch"],
            "baseline": study.get("baseline", "dense model")}


def wilson(k: float, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion ``k / n``."""
    if n <= 0:
        return (float("nan"), float("nan"))
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def accuracy_energy_series(rep: dict, block: dict) -> list[dict]:
    """What :func:`accuracy_vs_energy` draws: one dict per point (``label``, ``hardware``,
    ``batch`` (None for chips), ``accuracy``, ``acc_low`` / ``acc_high`` (95 % Wilson over
    ``rep["test_samples"]``), ``energy_j``, ``p5`` / ``p95``).  Chips at the spiking accuracy of
    the largest T, GPUs at the dense accuracy (the quantised ANN's for ``<gpu>-q<bits>-int8``)
    at each headline batch."""
    study = _study(block)
    n = int(rep["test_samples"])
    t_last = max(rep["spiking_accuracy"], key=int)
    out = []
    for name, pts in study["points"].items():
        gpu = name in study["gpu_curves"]
        quant = "-q" in name
        acc = rep["quantised_accuracy"] if quant else rep["dense_accuracy"] if gpu else rep["spiking_accuracy"][t_last]
        if acc is None:
            continue
        lo, hi = wilson(acc * n, n)
        for p in (pts if gpu else pts[:1]):
            iv = p.get("energy_interval") or {}
            what = ("quantised ANN" if quant else "dense") if gpu else f"spiking, T = {t_last}"
            out.append({"label": f"{name} {what}" + (f", batch {p['batch']}" if gpu else ""), "hardware": name,
                        "batch": p["batch"] if gpu else None, "accuracy": acc, "acc_low": lo, "acc_high": hi,
                        "energy_j": p["energy_j"], "p5": iv.get("p5"), "p95": iv.get("p95")})
    return out


def _err(v: float, lo, hi) -> list:
    return [[v - lo if lo is not None else 0.0], [hi - v if hi is not None else 0.0]]


def energy_vs_batch(series: dict, path, title: str = ""):
    """Draw :func:`batch_series` to ``path`` (PNG and SVG beside it); return the figure's path.
    The figure object is returned too (``(path, fig)``, closed) so tests can read its lines."""
    from spikeattn.plots.common import pyplot, save_figure
    plt = pyplot("the energy-vs-batch figure")
    fig, ax = plt.subplots(figsize=(8, 5.6))
    xmax = max(max(s["batch"]) for s in series["gpus"].values())
    for name, c in series["chips"].items():
        col = _colour(name)
        if c["p5"] is not None:
            ax.fill_between([1, xmax], [c["p5"]] * 2, [c["p95"]] * 2, color=col, alpha=0.18, lw=0,
                            label=f"_{name} band", gid=f"band:{name}")
        ax.plot([1, xmax], [c["energy_j"]] * 2, "-", color=col, lw=1.5, label=f"{name} (spiking; band 5-95 %)",
                gid=f"chip:{name}")
    for name, g in series["gpus"].items():
        col = _colour(name)
        ls = "--" if "-q" in name else "-"
        what = "quantised ANN" if ls == "--" else "dense"
        ax.plot(g["batch"], g["energy_j"], ls, color=col, lw=1.8, label=f"{name} ({what})", gid=f"gpu:{name}")
        pts = [p for p in g["points"] if p["p5"] is not None]
        if pts:
            ax.errorbar([p["batch"] for p in pts], [p["energy_j"] for p in pts],
                        yerr=[[p["energy_j"] - p["p5"] for p in pts], [p["p95"] - p["energy_j"] for p in pts]],
                        fmt="o", ms=4, color=col, capsize=3, lw=1, label=f"_{name} 5-95 %")
    found = {}
    for x in series["crossovers"]:
        found.setdefault(x["chip"], []).append(f"{x['gpu']} {'never' if x['batch'] is None else x['batch']}")
        if x["batch"] is None:
            continue
        e = series["chips"][x["chip"]]["energy_j"]
        ax.plot([x["batch"]], [e], marker="X", ms=9, mec="black", mew=0.7, color=_colour(x["gpu"]), ls="none",
                label=f"_crossover {x['chip']} {x['gpu']}", gid=f"crossover:{x['chip']}:{x['gpu']}")
    ax.plot([], [], marker="X", ms=9, mec="black", mew=0.7, color="white", ls="none",
            label="crossover (GPU colour)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlim(0.8, xmax * 1.25)
    ax.set_xlabel("batch size (samples per GPU pass; chips run samples one after another)")
    ax.set_ylabel("energy per inference (J, dynamic + static)")
    note = (f"Crossover batch (smallest batch where the GPU's energy per inference <= the chip's; never: not up to "
            f"{series['max_batch']}):\n" + "\n".join(f"{c}: " + ", ".join(v) for c, v in found.items()))
    ax.set_title(title or f"Energy per inference against batch ({series['baseline']})", fontsize=10)
    fig.text(0.01, 0.01, note, fontsize=7, color="#333", va="bottom")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout(rect=(0, 0.04 + 0.03 * len(found), 1, 1))
    return save_figure(fig, path), fig


def accuracy_vs_energy(points: list[dict], path, title: str = ""):
    """Draw :func:`accuracy_energy_series` to ``path`` (PNG and SVG); return ``(path, fig)``."""
    from spikeattn.plots.common import pyplot, save_figure
    plt = pyplot("the accuracy-vs-energy figure")
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    markers = {None: "o", 1: "s", 64: "D", 1024: "^"}
    for p in points:
        bars = ax.errorbar([p["energy_j"]], [p["accuracy"]], xerr=_err(p["energy_j"], p["p5"], p["p95"]),
                    yerr=_err(p["accuracy"], p["acc_low"], p["acc_high"]), fmt=markers.get(p["batch"], "v"), ms=6,
                    color=_colour(p["hardware"]), mfc="white" if "-q" in p["hardware"] else None, capsize=3, lw=1,
                    label=p["label"])
        bars.lines[0].set_gid(f"point:{p['label']}")              # the data point, not its caps
    ax.set_xscale("log")
    ax.set_xlabel("energy per inference (J, dynamic + static; bars 5-95 %)")
    ax.set_ylabel("test accuracy (bars: 95 % Wilson)")
    ax.set_title(title or "Accuracy against energy per inference (GPUs at batch 1, 64, 1024)", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return save_figure(fig, path), fig


def draw(rep: dict, block: dict, out_dir) -> list[Path]:
    """Both figures of the scenario into ``out_dir``; their PNG paths."""
    out_dir = Path(out_dir)
    p1, _ = energy_vs_batch(batch_series(block), out_dir / BATCH_FIGURE)
    p2, _ = accuracy_vs_energy(accuracy_energy_series(rep, block), out_dir / ACCURACY_FIGURE)
    return [p1, p2]


__all__ = ["batch_series", "accuracy_energy_series", "energy_vs_batch", "accuracy_vs_energy", "draw", "wilson",
           "BATCH_FIGURE", "ACCURACY_FIGURE"]
