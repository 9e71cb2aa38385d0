"""Scenario ``wta-routing``: a cue selects which of K input streams reaches the output.

Task (synthetic, seeded): each sample (batch element) is one cue.  The cue population
(``K`` Poisson neurons) fires at ``p_high`` for the intended stream and ``p_low`` for the
others during a cue window of ``T`` steps; ``K`` streams of ``M`` Poisson neurons fire
throughout.  Circuit (all plain LIF/IF neurons)::

    cue --k-WTA (k = 1, count mode, window [0, T))--> wta.winners --select--> route
    streams --------------------------------------------------------------> route --> route.out

Outcome, each checked against the mathematics (:mod:`spikeattn.circuits.routing.reference`):

* ``wta_matches_topk``: the winner is the true arg-max of the windowed cue counts (ties
  kept, exactly as documented) for every cue;
* ``routing_matches_reference``: ``route.out`` equals, spike for spike, the selected stream
  delayed by the router latency from the step after the decision, and is silent before;
* ``closed_paths_silent``: the routed projection's synaptic events per cue equal the
  spikes of the selected stream alone (closed pathways performed none);
* ``selection_accuracy`` (winner == intended stream) >= 0.9 and every cue decided.

It also runs the disinhibition variant of the router and reports both gating costs, and
(numpy engine) sweeps the cue contrast: selection accuracy and decision latency per
``p_high`` (figure ``wta_routing_contrast.png``), each point checked against the exact top-1.  With
``--engine lava`` the circuit is built in Loihi fixed point (same selections, integer
weights; default batch 8, as Lava runs one network per sample).
"""
from __future__ import annotations

import numpy as np

from spikeattn import Circuit, simulate
from spikeattn.circuits.routing import gated_router, kwta, reference, required_steps, winners_from_spikes
from spikeattn.errors import ParameterError
from spikeattn.metrics.latency import DecisionLatency
from spikeattn.metrics.selection import SelectionAccuracy, selection_mask

from .base import ScenarioConfig, ScenarioOutcome, scenario

K, M, CUE_WINDOW = 4, 8, 16
P_HIGH, P_LOW, P_STREAM = 0.6, 0.15, 0.25
ROUTE_STEPS = 40
SWEEP_P_HIGH = (0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8)
LAVA_BATCH = 8          # Lava runs one network per sample: a smaller default batch


def build(mode: str = "coincidence", fixed_point: bool = False, dt: float = 1e-3) -> Circuit:
    """The cue -> k-WTA -> gated router circuit (sources ``cue`` and ``streams``);
    ``fixed_point`` builds it from Loihi fixed-point neurons (for Lava)."""
    c = Circuit("wta_routing", dt)
    c.add_source("cue", K, encoder="poisson", seed=1)
    c.add_source("streams", K * M, encoder="poisson", seed=2)
    c.include(kwta(K, 1, "count", window=CUE_WINDOW, fixed_point=fixed_point, name="wta"), "wta",
              bind={"in": "cue"})
    c.include(gated_router(K, M, mode, merge=True, fixed_point=fixed_point, name="route"), "route",
              bind={"in": "streams", "select": "wta.winners"})
    c.meta["wta_routing"] = {"K": K, "M": M, "cue_window": CUE_WINDOW, "mode": mode,
                             "decision_steps_max": required_steps({"kwta": kwta(K, 1, "count",
                                                                                window=CUE_WINDOW).meta["kwta"]})}
    return c


def cue_probabilities(intended: np.ndarray, p_high: float = P_HIGH) -> np.ndarray:
    """``(batch, K)`` cue firing probabilities: ``p_high`` on the intended stream."""
    p = np.full((intended.size, K), P_LOW)
    p[np.arange(intended.size), intended] = p_high
    return p


def contrast_sweep(cfg: ScenarioConfig, batch: int, steps: int) -> dict:
    """Selection accuracy and decision latency vs cue strength ``p_high`` (k-WTA alone,
    numpy engine); every point is also checked against the exact top-1 of the counts."""
    res_dt = 1e-3
    c = Circuit("wta_sweep", res_dt)
    c.add_source("cue", K, encoder="poisson", seed=1)
    c.include(kwta(K, 1, "count", window=CUE_WINDOW, name="wta"), "wta", bind={"in": "cue"})
    rows = []
    for i, p_high in enumerate(SWEEP_P_HIGH):
        intended = np.random.default_rng([cfg.seed, i]).integers(K, size=batch)
        r = simulate(c, {"cue": cue_probabilities(intended, p_high)}, steps=steps, seed=cfg.seed + i)
        sel = winners_from_spikes(r.spikes["wta.winners"])
        acc, lat = SelectionAccuracy(), DecisionLatency(dt=res_dt)
        acc(sel, selection_mask(intended, K))
        lat(r.spikes["wta.winners"])
        counts = reference.window_counts(r.spikes["cue"], 0, CUE_WINDOW)
        exact = np.array_equal(sel, reference.topk_with_ties(counts, 1))
        rows.append({"p_high": p_high, "selection_accuracy": acc.compute()["exact"],
                     "latency_steps": lat.compute()["mean_steps"], "matches_topk": bool(exact)})
    return {"p_low": P_LOW, "cues": batch, "points": rows}


def check_run(res, intended: np.ndarray) -> dict:
    """Compare one run with the references; return metrics and checks."""
    cue_counts = reference.window_counts(res.spikes["cue"], 0, CUE_WINDOW)
    expected = reference.topk_with_ties(cue_counts, 1)
    win_spikes = res.spikes["wta.winners"]
    selected = winners_from_spikes(win_spikes)
    t_sel = np.where(selected.any(axis=1), reference.first_spike_times(win_spikes).min(axis=1), np.inf)
    open_step = t_sel + 1                                     # router open_delay
    streams = np.asarray(res.spikes["streams"]).reshape(res.steps, res.batch, K, M)
    routed = reference.route(streams, selected, np.where(np.isfinite(open_step), open_step, res.steps), 2)
    out = np.asarray(res.spikes["route.out"]) != 0
    relay_ops = res.counts.per_sample("synaptic_acs", elements=["route.relays->out"])
    gated_in = (streams & selected[None, :, :, None]
                & (np.arange(res.steps)[:, None] >= open_step[None, :])[:, :, None, None])
    expected_ops = gated_in[:res.steps - 1].sum(axis=(0, 2, 3))   # relays spike one step after input
    acc = SelectionAccuracy()
    acc(selected, selection_mask(intended, K))
    lat = DecisionLatency("first_spikes", onset=0, dt=res.dt)
    lat(win_spikes)
    vs_topk = SelectionAccuracy()
    vs_topk(selected, expected)
    return {
        "selection": acc.compute(), "wta_vs_topk": vs_topk.compute(), "latency": lat.compute(),
        "ties_at_top": int((~reference.unique_topk(cue_counts, 1)).sum()),
        "routed_spikes_per_cue": float(out.sum() / res.batch),
        "checks": {
            "wta_matches_topk": bool(np.array_equal(selected, expected)),
            "routing_matches_reference": bool(np.array_equal(out, routed)),
            "closed_paths_silent": bool(np.array_equal(relay_ops, expected_ops)),
            "selection_accuracy_ge_0.9": acc.compute()["exact"] >= 0.9,
            "all_decided": lat.compute()["decided_fraction"] == 1.0,
        },
    }


@scenario("wta-routing", "a cue selects which of 4 spike streams is routed to the output (k-WTA + gating)",
          default_steps=CUE_WINDOW + 21 + ROUTE_STEPS, default_batch=128)
def run(cfg: ScenarioConfig) -> ScenarioOutcome:
    fixed = cfg.engine == "lava"        # Lava's LIF has no v_reset/subtract reset: use the fixed-point variant
    circuit = build("coincidence", fixed)
    steps = cfg.steps or CUE_WINDOW + 21 + ROUTE_STEPS
    need = circuit.meta["wta_routing"]["decision_steps_max"]
    if steps < need:
        raise ParameterError("scenario 'wta-routing'", "steps", f"is {steps}; the k-WTA needs up to {need} "
                             "steps to decide.", f"use --steps >= {need} (default {CUE_WINDOW + 21 + ROUTE_STEPS}).")
    batch = cfg.batch or (LAVA_BATCH if fixed else 128)
    intended = np.random.default_rng(cfg.seed).integers(K, size=batch)
    inputs = {"cue": cue_probabilities(intended), "streams": np.full((batch, K * M), P_STREAM)}
    res = simulate(circuit, inputs, steps=steps, engine=cfg.engine, seed=cfg.seed, progress=cfg.progress)
    main = check_run(res, intended)
    alt_circuit = build("disinhibition", fixed)
    alt = simulate(alt_circuit, inputs, steps=steps, engine=cfg.engine, seed=cfg.seed)
    alt_checks = check_run(alt, intended)["checks"]
    checks = dict(main["checks"])
    checks["disinhibition_variant_routes_identically"] = bool(
        all(alt_checks.values()) and np.array_equal(alt.spikes["route.out"], res.spikes["route.out"]))
    outcome = {
        "passed": all(checks.values()), "checks": checks,
        "selection_accuracy": main["selection"]["exact"], "wta_exact_vs_topk": main["wta_vs_topk"]["exact"],
        "decision_latency_steps": main["latency"]["mean_steps"],
        "decision_latency_max_steps": main["latency"]["max_steps"],
        "decision_latency_s": main["latency"]["mean_s"], "cues": batch, "ties_at_top": main["ties_at_top"],
        "arithmetic": "loihi fixed point" if fixed else "float",
        "routed_spikes_per_cue": main["routed_spikes_per_cue"],
        "synaptic_ops_per_cue": {"coincidence": res.counts.batch_mean("synaptic_acs"),
                                 "disinhibition": alt.counts.batch_mean("synaptic_acs")},
        "gating_ops_per_cue": {
            "coincidence": res.counts.batch_mean("synaptic_acs", elements=_gate_elements(circuit)),
            "disinhibition": alt.counts.batch_mean("synaptic_acs", elements=_gate_elements(alt_circuit))},
        "task": {"K": K, "M": M, "cue_window": CUE_WINDOW, "p_high": P_HIGH, "p_low": P_LOW,
                 "p_stream": P_STREAM},
    }
    if cfg.engine == "numpy":
        sweep = contrast_sweep(cfg, batch, steps)
        outcome["contrast_sweep"] = sweep
        checks["contrast_sweep_matches_topk"] = all(p["matches_topk"] for p in sweep["points"])
        outcome["passed"] = all(checks.values())
    figures = _figures(cfg, res, main, outcome.get("contrast_sweep")) if cfg.figures else []
    return ScenarioOutcome(result=res, outcome=outcome, figures=figures, circuit=circuit)


def _gate_elements(c: Circuit) -> list[str]:
    """Projections that implement the gate (not the routed data path)."""
    return [n for n, p in c.projections.items() if n.startswith("route.") and p.pre not in ("streams", "route.relays")]


def _figures(cfg: ScenarioConfig, res, main, sweep) -> list:
    from spikeattn.plots.counts import counts_bar, group_by_prefix
    from spikeattn.plots.raster import _pyplot, raster, save_figure

    sel = winners_from_spikes(res.spikes["wta.winners"])[0]
    t_dec = int(reference.first_spike_times(res.spikes["wta.winners"])[0].min()) if sel.any() else None
    marks = {"cue window end": CUE_WINDOW}
    if t_dec is not None:
        marks[f"winner {int(np.argmax(sel))}"] = t_dec
    names = ["cue", "wta.acc", "wta.winners", "route.open", "streams", "route.relays", "route.out"]
    f1 = raster(res.spikes, cfg.out_dir / "wta_routing_raster.png", sample=0, names=names, marks=marks,
                title=f"wta-routing, cue 0: selection accuracy {main['selection']['exact']:.3f} over "
                      f"{res.batch} cues")
    f2 = counts_bar(res.counts, cfg.out_dir / "wta_routing_counts.png",
                    group=group_by_prefix, title="wta-routing: events per cue by motif")
    if not sweep:
        return [f1, f2]
    plt = _pyplot()
    pts = sweep["points"]
    x = [p["p_high"] / P_LOW for p in pts]
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.plot(x, [p["selection_accuracy"] for p in pts], "o-", color="tab:blue")
    ax.axhline(1 / K, color="tab:gray", lw=0.8, ls=":")
    ax.set_xlabel("cue contrast p_high / p_low")
    ax.set_ylabel("selection accuracy", color="tab:blue")
    ax.set_ylim(0, 1.02)
    ax2 = ax.twinx()
    ax2.plot(x, [p["latency_steps"] for p in pts], "s--", color="tab:red")
    ax2.set_ylabel("decision latency (steps)", color="tab:red")
    ax.set_title(f"k-WTA cue selection over {sweep['cues']} cues per point ({K} streams, window {CUE_WINDOW})",
                 fontsize=9)
    fig.tight_layout()
    try:
        f3 = save_figure(fig, cfg.out_dir / "wta_routing_contrast.png")
    finally:
        plt.close(fig)
    return [f1, f2, f3]
