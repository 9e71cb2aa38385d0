"""Figures of the wta-routing scenario: raster of one sample, events by motif, contrast sweep.

Every sample is one cue, so titles say "sample" and name the cue's intended stream and
the winner; the contrast figure has two panels (no twin axis) and explains why exact
accuracy falls below chance at low contrast: ties select several streams and count as
errors (the closed form is drawn with it)."""
from __future__ import annotations

import numpy as np

from spikeattn.circuits.routing import reference, winners_from_spikes

from .wta_closed_form import closed_form_accuracy

LABELS = {"cue": "cue neurons", "wta.acc": "k-WTA counters", "wta.winners": "k-WTA winners",
          "route.open": "gate open", "streams": "input streams", "route.relays": "relays", "route.out": "routed output"}


def figures(cfg, res, main, acc, sweep) -> list:
    from spikeattn.plots.counts import counts_bar, group_by_prefix
    from spikeattn.plots.common import pyplot, save_figure
    from spikeattn.plots.raster import raster

    p = cfg.p
    sel = winners_from_spikes(res.spikes["wta.winners"])[0]
    intended = cfg_intended(cfg, res)
    t_dec = int(reference.first_spike_times(res.spikes["wta.winners"])[0].min()) if sel.any() else None
    marks = {"cue window ends": p["cue_window"]}
    winner = ", ".join(str(i) for i in np.nonzero(sel)[0]) or "none"
    if t_dec is not None:
        marks[f"winner stream {winner} fires"] = t_dec
    names = ["cue", "wta.acc", "wta.winners", "route.open", "streams", "route.relays", "route.out"]
    groups = {"streams": ("stream", p["stream_size"]), "route.relays": ("stream", p["stream_size"])}
    f1 = raster(res.spikes, cfg.out_dir / "wta_routing_raster.png", sample=0, names=names, marks=marks,
                labels=LABELS, groups=groups,
                title=f"wta-routing, sample 0 of {res.batch}: intended stream {intended}, winner {winner}; "
                      f"accuracy {acc:.3f} over all samples (T = {res.steps} steps)")
    f2 = counts_bar(res.counts, cfg.out_dir / "wta_routing_counts.png", group=group_by_prefix,
                    title=f"wta-routing: events per sample (one cue each), mean of {res.batch} samples")
    if not sweep:
        return [f1, f2]
    plt = pyplot("drawing the wta-routing figures")
    pts = sweep["points"]
    x = np.array([q["p_high"] / sweep["p_low"] for q in pts])
    fine = np.linspace(sweep["p_low"], max(q["p_high"] for q in pts), 60)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8.4, 3.4))
    ax.plot(x, [q["selection_accuracy"] for q in pts], "o-", color="tab:blue", label="measured")
    ax.plot(fine / sweep["p_low"], [closed_form_accuracy(p["cue_window"], f, sweep["p_low"], p["streams"])
                                    for f in fine], "--", color="k", lw=0.9,
            label="closed form P(intended is the unique max)")
    ax.axhline(1 / p["streams"], color="tab:gray", lw=0.8, ls=":", label=f"chance 1/{p['streams']}")
    ax.set_xlabel("cue contrast p_high / p_low")
    ax.set_ylabel("exact selection accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("selection (ties count as errors: below chance at contrast 1)", fontsize=9)
    lat = [q["latency_steps"] for q in pts]
    ax2.plot(x, lat, "s-", color="tab:red")
    ax2.set_ylim(0, 1.1 * max(v for v in lat if v == v) if any(v == v for v in lat) else 1)
    ax2.set_xlabel("cue contrast p_high / p_low")
    ax2.set_ylabel("decision latency (steps)")
    ax2.set_title("mean first winner spike", fontsize=9)
    fig.suptitle(f"k-WTA over {sweep['cues']} samples per point ({p['streams']} streams, "
                 f"cue window W = {p['cue_window']} steps, p_low = {sweep['p_low']})", fontsize=10)
    fig.tight_layout()
    return [f1, f2, save_figure(fig, cfg.out_dir / "wta_routing_contrast.png")]


def cfg_intended(cfg, res) -> int:
    """Sample 0's intended stream (the seeded draw of the scenario)."""
    return int(np.random.default_rng(cfg.seed).integers(cfg.p["streams"], size=res.batch)[0])
