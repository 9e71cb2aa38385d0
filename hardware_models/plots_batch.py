"""Figure of the batch study: energy per inference against batch size, per model.

Solid line: dynamic + static (central estimate) with its 5-95 % Monte Carlo band; dashed:
dynamic only.  A marker on each chip's line shows where each GPU overtakes it (crossover
batch).  Colours are fixed per model (:data:`hardware_models.plots.MODEL_COLOURS`, re-exported
here) so every chart agrees.  Writes a PNG and an SVG beside it; ``linear=True`` draws the
energy axis linearly.
"""
from __future__ import annotations

from pathlib import Path

from spikeattn.fileio import atomic_savefig

from .plots import MODEL_COLOURS, pyplot


def save_both(fig, path) -> list[Path]:
    """PNG at ``path`` and an SVG beside it (same stem)."""
    path = Path(path)
    return [Path(atomic_savefig(fig, path, dpi=130)),
            Path(atomic_savefig(fig, path.with_suffix(".svg"), format="svg"))]


__all__ = ["MODEL_COLOURS", "batch_chart", "save_both"]


def batch_chart(study: dict, path, linear: bool = False, title: str | None = None) -> list[Path]:
    """The batch study (:func:`hardware_models.batching.batch_study`) as a figure (module docstring)."""
    plt = pyplot()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 5.4))
    for name, pts in study["points"].items():
        col = MODEL_COLOURS.get(name, None)
        b = [p["batch"] for p in pts]
        curve = study.get("gpu_curves", {}).get(name)
        if curve:                       # the GPU's curve on every power of two, markers at the batches asked
            ax.plot([q["batch"] for q in curve], [q["energy_j"] for q in curve], "-", color=col,
                    label=f"{name} (dynamic + static)")
            ax.plot([q["batch"] for q in curve], [q["dynamic_j"] for q in curve], "--", color=col, lw=1)
            ax.plot(b, [p["energy_j"] for p in pts], "o", ms=3, color=col)
        else:
            ax.plot(b, [p["energy_j"] for p in pts], "-o", ms=3, color=col, label=f"{name} (dynamic + static)")
            ax.plot(b, [p["dynamic_j"] for p in pts], "--", color=col, lw=1)
        ax.fill_between(b, [p["energy_interval"]["p5"] for p in pts], [p["energy_interval"]["p95"] for p in pts],
                        color=col, alpha=0.12, lw=0)
        lat = [(p["batch"], p["latency_s"]) for p in pts if p["latency_s"] is not None]
        if lat:
            ax2.plot(*zip(*lat), "-o", ms=3, color=col, label=name)
    for chip, per_gpu in study["crossover_batch"].items():
        e = study["points"][chip][0]["energy_j"]
        for gpu, x in per_gpu.items():
            if x["total"] is not None:
                ax.plot([x["total"]], [e], marker="x", ms=9, mew=2, color=MODEL_COLOURS.get(gpu))
    ax.set_xscale("log", base=2)
    if not linear:
        ax.set_yscale("log")
    ax.set(xlabel="batch size (samples per pass)", ylabel="energy per inference (J)",
           title="solid: dynamic + static (band 5-95 %); dashed: dynamic; x: GPU overtakes the chip")
    ax.title.set_fontsize(8)
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    bound = study.get("server_bound_s")
    if bound:
        ax2.axhline(bound, color="k", ls=":", lw=0.8, label=f"server bound {bound * 1e3:g} ms")
    ax2.set(xscale="log", yscale="log", xlabel="batch size (samples per pass)", ylabel="latency of the batch (s)")
    ax2.set_xscale("log", base=2)
    ax2.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=4, frameon=False)
    fig.suptitle(title or f"Energy and latency per batch ({study.get('baseline', 'softmax')} GPU baseline)",
                 fontsize=10)
    fig.tight_layout()
    out = save_both(fig, path)
    plt.close(fig)
    return out
