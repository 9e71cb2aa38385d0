"""Bar charts of event counts per circuit element or per motif.

Elements are grouped into motifs by a name prefix (``group_by_prefix``: ``"gate.acc"`` ->
``"gate"``) or by a caller's mapping, and the chosen fields are drawn as grouped
horizontal bars (log scale when the values span more than two decades).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from ..counts import EventCounts
from ..errors import InputError
from .common import pyplot, save_figure

DEFAULT_FIELDS = ("synaptic_acs", "synaptic_macs", "spikes", "neuron_updates_active")
READABLE = {"synaptic_acs": "synaptic accumulates (AC)", "synaptic_macs": "synaptic multiply-accumulates (MAC)",
            "spikes": "spikes", "neuron_updates_active": "active neuron updates",
            "neuron_updates_idle": "idle neuron updates", "messages": "spike messages",
            "weight_bytes_read": "weight bytes read"}


def group_by_prefix(name: str, depth: int = 1) -> str:
    """Motif of an element: its first ``depth`` dot-separated name parts."""
    return ".".join(name.split(".")[:depth])


def counts_by_group(counts: EventCounts, fields: Sequence[str] = DEFAULT_FIELDS,
                    group: Callable[[str], str] | Mapping[str, str] | None = None, per_sample: bool = True) -> dict:
    """``{group: {field: total}}`` (per-sample mean when ``per_sample``); groups default to
    the element names themselves."""
    out: dict[str, dict[str, float]] = {}
    div = max(counts.batch, 1) if per_sample else 1
    for name, el in counts.elements.items():
        g = group(name) if callable(group) else (group.get(name, name) if group else name)
        row = out.setdefault(g, {f: 0.0 for f in fields})
        for f in fields:
            if f in el.fields:
                row[f] += el.total(f) / div
    return out


def counts_bar(counts: EventCounts, path, fields: Sequence[str] = DEFAULT_FIELDS, group=None,
               title: str | None = None, per_sample: bool = True) -> Path:
    """Grouped horizontal bars of ``fields`` per element/motif; writes PNG + SVG, returns the PNG path."""
    data = counts_by_group(counts, fields, group, per_sample)
    data = {g: v for g, v in data.items() if any(v.values())}
    if not data:
        raise InputError("counts_bar: every selected count is zero; nothing to draw.")
    fields = [f for f in fields if any(v[f] for v in data.values())]
    plt = pyplot("plotting event counts")
    groups = sorted(data)
    h = 0.8 / len(fields)
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.35 * len(groups) * max(1, len(fields) / 2)))
    y = np.arange(len(groups))
    for j, f in enumerate(fields):
        vals = [data[g][f] for g in groups]
        ax.barh(y + j * h - 0.4 + h / 2, vals, height=h, label=READABLE.get(f, f))
    vals = np.array([data[g][f] for g in groups for f in fields])
    pos = vals[vals > 0]
    if pos.size and pos.max() / pos.min() > 100:
        ax.set_xscale("log")
    ax.set_yticks(y)
    ax.set_yticklabels(groups, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("events per sample" if per_sample else "events (total)")
    ax.legend(fontsize=7, loc="lower right")
    if title:
        ax.set_title(title, fontsize=10)
    return save_figure(fig, path)
