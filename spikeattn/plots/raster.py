"""Spike rasters: one panel per population/source, time on x, neuron on y.

matplotlib (extra ``viz``) is imported lazily with the Agg backend; the figure is written
atomically as PNG (200 dpi) and SVG and the PNG path returned.

A population larger than ``max_neurons`` is subsampled evenly (every ``ceil(size /
max_neurons)``-th neuron) and the panel says so ("every 4th neuron: 256 of 1024 shown");
the subsampling is also returned by :func:`raster_layout`.  ``groups`` draws separators
and labels inside a population (e.g. the 4 streams of 8 neurons of one source), ``labels``
gives readable panel names, and ``marks`` become dashed vertical lines explained in a
legend under the panels (never text above the title).
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import InputError
from .common import pyplot, save_figure

MARK_STYLES = [("tab:red", "--"), ("tab:blue", "-."), ("tab:green", ":"), ("tab:purple", "--")]


def raster_layout(size: int, max_neurons: int) -> tuple[np.ndarray, int]:
    """Neuron indices shown for a population of ``size`` (``stride`` 1 when it fits)."""
    stride = max(1, -(-size // max_neurons))
    return np.arange(0, size, stride), stride


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def raster(spikes: Mapping[str, np.ndarray], path, sample: int = 0, names: Sequence[str] | None = None,
           title: str | None = None, dt: float | None = None, marks: Mapping[str, float] | None = None,
           max_neurons: int = 256, labels: Mapping[str, str] | None = None,
           groups: Mapping[str, tuple[str, int]] | None = None) -> Path:
    """Draw the spikes of ``names`` (default: all) of sample ``sample`` and save PNG + SVG.

    ``spikes`` maps names to ``(steps, batch, size)`` arrays (e.g. ``SimResult.spikes``);
    ``dt`` labels the x axis in ms instead of steps; ``marks`` maps a legend label to a
    step (``{"decision": 31}``); ``labels`` maps a name to the panel label shown;
    ``groups[name] = (word, size)`` splits a panel into groups of ``size`` neurons labelled
    ``"word 0"``, ``"word 1"``, ...  Panels are sized by the number of neurons shown."""
    names = list(names or spikes)
    if not names:
        raise InputError("raster: nothing to draw (no names given and no spikes).")
    if not isinstance(max_neurons, int) or max_neurons < 1:
        raise InputError(f"raster: max_neurons is {max_neurons!r}; give a positive integer.")
    for n in names:
        if n not in spikes:
            raise InputError(f"raster: no spikes named '{n}'; have {sorted(spikes)[:20]}.")
        if np.ndim(spikes[n]) != 3 or not 0 <= sample < np.shape(spikes[n])[1]:
            raise InputError(f"raster: spikes['{n}'] has shape {np.shape(spikes[n])}; need (steps, batch, size) "
                             f"with sample {sample} < batch.")
    plt = pyplot("plotting spike rasters")
    layouts = [raster_layout(np.shape(spikes[n])[2], max_neurons) for n in names]
    ratios = [max(1.0, len(idx) ** 0.5) for idx, _ in layouts]
    fig, axes = plt.subplots(len(names), 1, sharex=True, squeeze=False,
                             figsize=(9, 1.2 + 0.45 * sum(ratios)), gridspec_kw={"height_ratios": ratios})
    scale = 1e3 * dt if dt else 1.0
    labels, groups = dict(labels or {}), dict(groups or {})
    for ax, n, (idx, stride) in zip(axes[:, 0], names, layouts):
        full = np.asarray(spikes[n])[:, sample, :] != 0
        s = full[:, idx]
        t, i = np.nonzero(s)
        ax.scatter(t * scale, i, s=6 if s.shape[1] > 32 else 14, marker="|", color="k", linewidths=1)
        ax.set_ylim(-0.5, s.shape[1] - 0.5)
        ax.set_ylabel(labels.get(n, n), rotation=0, ha="right", va="center", fontsize=8)
        ax.tick_params(labelsize=7)
        if stride > 1:
            ax.text(1.0, 1.0, f"every {_ordinal(stride)} neuron: {len(idx)} of {full.shape[1]} shown",
                    transform=ax.transAxes, ha="right", va="bottom", fontsize=6, color="tab:gray")
        if n in groups and stride == 1:
            word, size = groups[n]
            for g in range(1, -(-full.shape[1] // size)):
                ax.axhline(g * size - 0.5, color="tab:gray", lw=0.6)
            centres = [g * size + (size - 1) / 2 for g in range(-(-full.shape[1] // size))]
            ax.set_yticks(centres)
            ax.set_yticklabels([f"{word} {g}" for g in range(len(centres))], fontsize=6)
        for k, (_, x) in enumerate((marks or {}).items()):
            color, ls = MARK_STYLES[k % len(MARK_STYLES)]
            ax.axvline(x * scale, color=color, lw=0.9, ls=ls)
        ax.set_xlim(-0.5 * scale, s.shape[0] * scale)
    axes[-1, 0].set_xlabel("time (ms)" if dt else "time (steps)")
    if marks:
        handles = [plt.Line2D([], [], color=c, ls=ls, lw=0.9) for c, ls in
                   (MARK_STYLES[k % len(MARK_STYLES)] for k in range(len(marks)))]
        fig.legend(handles, [f"{lab} (step {x:g})" for lab, x in marks.items()], loc="lower center",
                   ncol=min(4, len(marks)), fontsize=7, frameon=False, bbox_to_anchor=(0.5, 0.0))
    if title:
        axes[0, 0].set_title(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.05 if marks else 0, 1, 1))
    return save_figure(fig, path)
