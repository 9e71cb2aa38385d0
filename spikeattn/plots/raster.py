"""Spike rasters: one panel per population/source, time on x, neuron on y.

matplotlib (extra ``viz``) is imported lazily with the Agg backend; the figure is written
atomically to a PNG and its path returned.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import InputError
from .common import pyplot, save_figure


def _pyplot():
    return pyplot("plotting spike rasters")


def raster(spikes: Mapping[str, np.ndarray], path, sample: int = 0, names: Sequence[str] | None = None,
           title: str | None = None, dt: float | None = None, marks: Mapping[str, float] | None = None,
           max_neurons: int = 256) -> Path:
    """Draw the spikes of ``names`` (default: all) of sample ``sample`` and save a PNG.

    ``spikes`` maps names to ``(steps, batch, size)`` arrays (e.g. ``SimResult.spikes``);
    ``dt`` labels the x axis in ms instead of steps; ``marks`` draws labelled vertical
    lines (e.g. ``{"decision": 31}``, in steps).  Panels are sized by neuron count."""
    names = list(names or spikes)
    if not names:
        raise InputError("raster: nothing to draw (no names given and no spikes).")
    for n in names:
        if n not in spikes:
            raise InputError(f"raster: no spikes named '{n}'; have {sorted(spikes)[:20]}.")
        if np.ndim(spikes[n]) != 3 or not 0 <= sample < np.shape(spikes[n])[1]:
            raise InputError(f"raster: spikes['{n}'] has shape {np.shape(spikes[n])}; need (steps, batch, size) "
                             f"with sample {sample} < batch.")
    plt = _pyplot()
    sizes = [min(np.shape(spikes[n])[2], max_neurons) for n in names]
    ratios = [max(1.0, s ** 0.5) for s in sizes]
    fig, axes = plt.subplots(len(names), 1, sharex=True, squeeze=False,
                             figsize=(9, 1.0 + 0.45 * sum(ratios)), gridspec_kw={"height_ratios": ratios})
    scale = 1e3 * dt if dt else 1.0
    for ax, n, size in zip(axes[:, 0], names, sizes):
        s = np.asarray(spikes[n])[:, sample, :size] != 0
        t, i = np.nonzero(s)
        ax.scatter(t * scale, i, s=6 if s.shape[1] > 32 else 14, marker="|", color="k", linewidths=1)
        ax.set_ylim(-0.5, size - 0.5)
        ax.set_ylabel(n, rotation=0, ha="right", va="center", fontsize=8)
        ax.tick_params(labelsize=7)
        for label, x in (marks or {}).items():
            ax.axvline(x * scale, color="tab:red", lw=0.8, ls="--")
        ax.set_xlim(-0.5 * scale, s.shape[0] * scale)
    top = axes[0, 0]
    for i, (label, x) in enumerate((marks or {}).items()):   # staggered so close marks stay legible
        top.text(x * scale, 1.0 + 0.3 * (i % 2), f" {label}", color="tab:red", fontsize=7, va="bottom",
                 transform=top.get_xaxis_transform())
    axes[-1, 0].set_xlabel("time (ms)" if dt else "time (steps)")
    if title:
        top.set_title(title, fontsize=10, pad=22 if marks else 6)
    try:
        return save_figure(fig, path)
    finally:
        plt.close(fig)
