"""Attention figures (PNG at 200 dpi + SVG, matplotlib Agg, imported lazily: extra ``viz``).

- :func:`plot_attention_heatmaps` — per head, spike-derived map next to the dense map.
- :func:`plot_attention_flow` — attention flow across layers, one panel per head (token
  columns, lines coloured and weighted by attention, one colour scale).
- :func:`plot_scaling` — event counts / FLOPs versus sequence length on log-log axes with
  the fitted exponents.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from .common import pyplot, save_figure


def _plt():
    return pyplot("plotting attention figures")


def _save(fig, path) -> Path:
    return save_figure(fig, path)


def _rownorm(m):
    m = np.asarray(m, float)
    s = m.sum(-1, keepdims=True)
    return np.divide(m, s, out=np.zeros_like(m), where=s > 0)


def plot_attention_heatmaps(spike_maps, dense_maps, path, title: str = "attention maps",
                            labels=("spike-derived", "dense softmax")) -> Path:
    """Two rows of heatmaps, one column per head: row-normalised ``spike_maps`` and
    ``dense_maps``, both ``(H, N_q, N_k)``.  Every panel shares one colour scale
    ``[0, max over all panels]`` and one colour bar (the fraction of a query's attention)."""
    s, d = np.asarray(spike_maps, float), np.asarray(dense_maps, float)
    if s.ndim == 2:
        s, d = s[None], d[None]
    if s.shape != d.shape or s.ndim != 3:
        raise InputError(f"plot_attention_heatmaps: maps {s.shape} and {d.shape}; expected equal (H, N_q, N_k).")
    plt = _plt()
    h = s.shape[0]
    rows = [(_rownorm(s), labels[0]), (_rownorm(d), labels[1])]
    vmax = max(float(m.max()) for m, _ in rows) or 1.0
    fig, axes = plt.subplots(2, h, figsize=(3.0 * h + 1.2, 6.0), squeeze=False, constrained_layout=True)
    im = None
    for row, (maps, lab) in enumerate(rows):
        for j in range(h):
            ax = axes[row, j]
            im = ax.imshow(maps[j], cmap="viridis", vmin=0, vmax=vmax, aspect="auto")
            ax.set_title(f"{lab}, head {j}", fontsize=9)
            ax.set_xlabel("key token", fontsize=8)
            ax.set_ylabel("query token", fontsize=8)
            ax.tick_params(labelsize=7)
    cb = fig.colorbar(im, ax=axes, fraction=0.04, pad=0.02)
    cb.set_label("share of the query's attention (row-normalised)", fontsize=8)
    cb.ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def plot_attention_flow(layer_maps, path, title: str = "attention flow", top_k: int = 1) -> Path:
    """Attention flow, one panel per head: a column of tokens per layer boundary; for
    layer l and query token i (column l+1), a line joins the ``top_k`` most attended key
    tokens j (column l), its width and opacity proportional to the weight relative to the
    row's maximum; the colour is the share of the query's attention (one scale for all
    panels).  ``layer_maps`` is a list of ``(H, N, N)`` maps, one per layer."""
    maps = [np.asarray(m, float) for m in layer_maps]
    if not maps or any(m.ndim != 3 or m.shape != maps[0].shape for m in maps):
        raise InputError("plot_attention_flow: give a non-empty list of (H, N, N) maps of one shape.")
    plt = _plt()
    n, n_layers, heads = maps[0].shape[1], len(maps), maps[0].shape[0]
    norm = [_rownorm(m) for m in maps]
    vmax = max(float(w.max()) for w in norm) or 1.0
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(1, heads, figsize=(2.6 * heads * (n_layers + 1) / 2 + 1.5, max(3.2, 0.22 * n + 1.2)),
                             squeeze=False, constrained_layout=True)
    for h, ax in enumerate(axes[0]):
        for layer, w in enumerate(norm):
            for i in range(n):
                top = w[h, i].max()
                if top <= 0:
                    continue
                for j in np.argsort(-w[h, i], kind="stable")[:top_k]:
                    rel = w[h, i, j] / top
                    ax.plot([layer, layer + 1], [j, i], color=cmap(w[h, i, j] / vmax), alpha=float(0.35 + 0.6 * rel),
                            lw=0.6 + 1.8 * rel)
        for x in range(n_layers + 1):
            ax.scatter(np.full(n, x), np.arange(n), s=10, color="k", zorder=3)
        ax.set_xticks(range(n_layers + 1))
        ax.set_xticklabels(["input"] + [f"layer {l + 1}" for l in range(n_layers)], fontsize=8)
        ax.set_ylabel("token index", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.invert_yaxis()
        ax.set_title(f"head {h}", fontsize=9)
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, vmax))
    cb = fig.colorbar(sm, ax=axes, fraction=0.05, pad=0.02)
    cb.set_label("share of the query's attention", fontsize=8)
    cb.ax.tick_params(labelsize=7)
    fig.suptitle(title + f" (top {top_k} key{'s' if top_k > 1 else ''} per query)", fontsize=10)
    return _save(fig, path)


def plot_scaling(series: dict, path, title: str = "attention cost vs sequence length",
                 ylabel: str = "operations per inference") -> Path:
    """Log-log plot of ``series[name] = (n_values, values, exponent or None)``; the fitted
    power law is drawn dashed and its exponent shown in the legend."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for k, (name, (x, y, slope)) in enumerate(series.items()):
        x, y = np.asarray(x, float), np.asarray(y, float)
        ok = y > 0
        col = plt.get_cmap("tab10")(k % 10)
        lab = name if slope is None else f"{name}  (N^{slope:.2f})"
        ax.loglog(x[ok], y[ok], "o-", color=col, label=lab, ms=4)
        if slope is not None and ok.sum() >= 2:
            c = np.mean(np.log(y[ok]) - slope * np.log(x[ok]))
            ax.loglog(x[ok], np.exp(c) * x[ok] ** slope, "--", color=col, lw=0.8)
    ax.set_xlabel("sequence length N (tokens)")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=10)
    return _save(fig, path)
