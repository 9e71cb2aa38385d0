"""Scenario ``hierarchical-attention``: coarse-to-fine token selection ("needle" recall).

Task (synthetic, seeded): ``N = R * G`` tokens in ``R`` regions of ``G``.  In each sample
one needle region is brighter (its tokens fire at ``p_region``, the rest at ``p_bg``) and
within it ``K_TOKENS`` needle tokens fire at ``p_needle``.  The coarse stage picks the top
region by pooled spike count over ``[0, Tc)``; only that region is relayed to the fine
stage, which picks the top ``K_TOKENS`` tokens by count in its own window.

Checks against the mathematics (:mod:`spikeattn.circuits.routing.reference`):

* ``matches_two_level_reference``: regions and tokens equal
  :func:`~spikeattn.circuits.routing.reference.two_level_topk` of the same spikes;
* ``fine_stage_only_selected_regions``: no relay outside the selected regions ever spikes,
  and the fine stage's input events per sample equal the selected regions' spikes from
  the step after the coarse decision (exact integers);
* ``needle_recall_ge_0.9``: the selected tokens are the needle tokens (exact set) for at
  least 90 % of the samples.

Cost: synaptic events of the fine stage vs a flat k-WTA over all ``N`` tokens on the same
window (:func:`~spikeattn.circuits.routing.flat_selector`), and of the whole hierarchy.

Part 2, coarse-to-fine *attention*
(:func:`~spikeattn.circuits.routing.hierarchical.coarse_to_fine_attention`): tokens are
``(N, D)`` spike patterns; the coarse stage picks the brightest region and Spikformer SSA
attends only over its relayed tokens.  Checks: ``attention_matches_ssa_reference`` (the
SSA output equals ``ssa_reference`` of the relayed spikes, exactly) and
``attention_only_selected_regions``; cost: SSA synaptic events vs SSA over all ``N``
tokens fed the same steps.

With ``--engine lava`` both parts run in Loihi fixed point (Lava ``fixed_pt``, bit-exact with
the numpy engine on the same circuits): part 1 from :class:`~spikeattn.ir.LoihiLIF` timers,
part 2 as ``coarse_to_fine_attention(..., fixed_point=True)`` (fixed-point k-WTA and router,
SSA with LoihiLIF coincidences, LoihiGradedReLU accumulators and gates, a LoihiLIF output),
with the same batch, checks and figures; ``attention_matches_ssa_reference`` then compares
with ``ssa_reference(..., fixed_point=True)``.  Only the arithmetic is reported as reduced.
"""
from __future__ import annotations

import numpy as np

from spikeattn import simulate
from spikeattn.circuits.routing import flat_selector, hierarchical_selector, reference, winners_from_spikes
from spikeattn.circuits.routing.hierarchical import coarse_to_fine_attention
from spikeattn.errors import EngineError, ParameterError, UnsupportedFeatureError
from spikeattn.metrics.latency import DecisionLatency
from spikeattn.metrics.selection import SelectionAccuracy

from .base import ScenarioConfig, ScenarioOutcome, scenario
from .outcome import Outcome, binomial_check
from .params import Param, common_params

R, G, K_TOKENS, COARSE_WINDOW, FINE_WINDOW = 8, 4, 2, 8, 12
P_BG, P_REGION, P_NEEDLE = 0.1, 0.3, 0.8
ATTN_D, ATTN_WINDOW, ATTN_AFTER, ATTN_BATCH = 4, 4, 20, 16
ATTN_CHECKS = ["attention_matches_ssa_reference", "attention_only_selected_regions", "attention_region_is_brightest"]
DEFAULTS = {"regions": R, "region_size": G, "k_tokens": K_TOKENS, "coarse_window": COARSE_WINDOW,
            "fine_window": FINE_WINDOW, "p_bg": P_BG, "p_region": P_REGION, "p_needle": P_NEEDLE}

PARAMS = common_params(None, 64) + [
    Param("regions", "int", R, "regions R (coarse stage picks 1)", low=2, high=64),
    Param("region_size", "int", G, "tokens per region G (N = R x G)", low=2, high=64),
    Param("k_tokens", "int", K_TOKENS, "needle tokens, selected by the fine stage", low=1, high=63),
    Param("coarse_window", "int", COARSE_WINDOW, "coarse window: steps of pooled counts", low=1, high=256,
          unit="steps"),
    Param("fine_window", "int", FINE_WINDOW, "fine window length", low=1, high=256, unit="steps"),
    Param("p_bg", "float", P_BG, "background token spike probability per step", low=0, high=1),
    Param("p_region", "float", P_REGION, "spike probability of the needle region's tokens", low=0, high=1),
    Param("p_needle", "float", P_NEEDLE, "spike probability of the needle tokens", low=0, high=1),
    Param("needle_threshold", "float", 0.9, "exact needle recall tested by a binomial check", low=0, high=1),
    Param("attention", "bool", True, "also run part 2, coarse-to-fine SSA attention (Loihi fixed point on Lava)"),
]
PARAMS[0] = Param("steps", "int", None, "simulation time steps (default: what the two stages need)",
                  low=1, high=100_000, unit="steps")


def _check(p: dict) -> None:
    if p["k_tokens"] >= p["region_size"]:
        raise ParameterError("scenario 'hierarchical-attention'", "k_tokens", f"is {p['k_tokens']} >= "
                             f"region_size = {p['region_size']}.", "give k_tokens < region_size.")
    if not p["p_needle"] > p["p_region"] > p["p_bg"]:
        raise ParameterError("scenario 'hierarchical-attention'", "p_needle", "p_needle > p_region > p_bg "
                             f"does not hold ({p['p_needle']}, {p['p_region']}, {p['p_bg']}).",
                             "give p_needle > p_region > p_bg.")


def build(fixed_point: bool = False, p: dict | None = None):
    p = p or DEFAULTS
    return hierarchical_selector(p["regions"], p["region_size"], 1, p["k_tokens"], coarse_window=p["coarse_window"],
                                 fine_window=p["fine_window"], fixed_point=fixed_point, name="hierarchical")


def task(rng, batch: int, steps: int, p: dict | None = None):
    """``(needle_tokens mask (batch, N), spikes (steps, batch, N))``."""
    p = p or DEFAULTS
    r, g, k = p["regions"], p["region_size"], p["k_tokens"]
    region = rng.integers(r, size=batch)
    prob = np.full((batch, r, g), p["p_bg"])
    prob[np.arange(batch), region] = p["p_region"]
    needle = np.zeros((batch, r, g), bool)
    for b in range(batch):
        needle[b, region[b], rng.choice(g, k, replace=False)] = True
    prob[needle] = p["p_needle"]
    prob = prob.reshape(batch, r * g)
    return needle.reshape(batch, r * g), rng.random((steps, batch, r * g)) < prob[None]


@scenario("hierarchical-attention", "coarse-to-fine: pick the brightest region, then the top tokens inside it",
          PARAMS, check=_check,
          parity={"lava": "same experiment (batch, checks, figures) with both parts in Loihi fixed point; part 2 "
                          "checked against the fixed-point SSA oracle; reported as reduced: arithmetic",
                  "brian2": "same experiment", "compiled": "same experiment"})
def run(cfg: ScenarioConfig) -> ScenarioOutcome:
    p, fixed = cfg.p, cfg.engine == "lava"     # Lava's LIF has no v_reset/subtract reset: fixed-point variant
    if fixed:
        cfg.reduce("arithmetic", "Loihi fixed-point neurons for parts 1 and 2 (integer weights; SSA output LIF "
                   "v halves with truncation toward 0)", "Lava's LIF has no float reset")
    r, g, k = p["regions"], p["region_size"], p["k_tokens"]
    circuit = build(fixed, p)
    m = circuit.meta["hierarchical"]
    steps = p["steps"] = p["steps"] or m["steps"]
    if steps < m["steps"]:
        raise ParameterError("scenario 'hierarchical-attention'", "steps", f"is {steps}; the two stages need "
                             f"up to {m['steps']} steps.", f"use steps >= {m['steps']}.")
    batch = p["batch"]
    needle, x = task(np.random.default_rng(cfg.seed), batch, steps, p)
    res = simulate(circuit, {"tokens": x}, steps=steps, engine=cfg.engine, seed=cfg.seed, progress=cfg.progress)
    regions = winners_from_spikes(res.spikes["coarse.winners"])
    tokens = winners_from_spikes(res.spikes["fine.winners"])
    pooled = reference.window_counts(x, 0, p["coarse_window"]).reshape(batch, r, g).sum(axis=2)
    exp_regions, exp_tokens = reference.two_level_topk(pooled, 1, reference.window_counts(x, *m["token_window"]),
                                                       g, k)
    inside = np.repeat(regions, g, axis=1)
    open_from = np.repeat(reference.first_spike_times(res.spikes["coarse.winners"]), g, axis=1) + 1
    relayed = x & inside[None] & (np.arange(steps)[:, None, None] >= open_from[None])
    relays = np.asarray(res.spikes["regions.relays"])
    fine_in = res.counts.per_sample("synaptic_acs", elements=["fine.in->gate"])

    flat = flat_selector(r * g, k, m["fine_window"], fixed_point=fixed)
    rf = simulate(flat, {"tokens": x}, steps=steps, engine=cfg.engine, seed=cfg.seed, progress=cfg.progress)
    flat_tokens = winners_from_spikes(rf.spikes["fine.winners"])
    fine_names = [n for n in circuit.projections if n.startswith("fine.")]
    flat_names = [n for n in flat.projections if n.startswith("fine.")]
    correct = (tokens == needle).all(axis=1)
    acc, acc_flat = SelectionAccuracy(), SelectionAccuracy()
    acc(tokens, needle)
    acc_flat(flat_tokens, needle)
    lat_c, lat_f = DecisionLatency(dt=res.dt), DecisionLatency(dt=res.dt)
    lat_c(res.spikes["coarse.winners"])
    lat_f(res.spikes["fine.winners"])
    o = Outcome()
    o.check("matches_two_level_reference", np.array_equal(regions, exp_regions) and np.array_equal(tokens, exp_tokens),
            "regions and tokens == two-level top-k of the same spikes")
    o.check("fine_stage_only_selected_regions", not relays[:, ~inside].any()
            and np.array_equal(fine_in, relayed[:-1].sum(axis=(0, 2))),
            "no relay outside the selected region spikes; fine-stage input events == relayed spikes")
    bt = binomial_check(int(correct.sum()), batch, p["needle_threshold"])
    o.check("needle_recall_ge_threshold", bt["passed"],
            f"one-sided binomial test of exact needle recall >= {p['needle_threshold']} on {batch} samples "
            "(alpha 0.01)", value=float(correct.mean()), threshold=p["needle_threshold"], op=">=",
            p_value=bt["p_value"], min_correct=bt["min_successes"])
    o.check("flat_matches_reference", np.array_equal(
        flat_tokens, reference.topk_with_ties(reference.window_counts(x, *m["token_window"]), k)),
        "the flat k-WTA over all tokens == top-k of the windowed counts")
    o.metric("needle_exact", acc.compute()["exact"], "fraction", "samples whose selected tokens are the needles")
    o.metric("needle_jaccard", acc.compute()["jaccard"], "fraction", "mean Jaccard of selected vs needle tokens")
    o.metric("flat_needle_exact", acc_flat.compute()["exact"], "fraction", "same, flat selector")
    o.metric("needle_region_found", float(regions[np.arange(batch), needle.reshape(batch, r, g).any(2).argmax(1)]
                                          .mean()), "fraction", "samples whose needle region was selected")
    o.metric("coarse_latency_steps", lat_c.compute()["mean_steps"], "steps", "mean coarse decision")
    o.metric("fine_latency_steps", lat_f.compute()["mean_steps"], "steps", "mean fine decision")
    o.metric("fine_latency_s", lat_f.compute()["mean_s"], "s", "mean fine decision at dt = 1 ms")
    for name, val, what in (("fine_stage_ops_per_sample", res.counts.batch_mean("synaptic_acs", elements=fine_names),
                             "fine stage"),
                            ("flat_stage_ops_per_sample", rf.counts.batch_mean("synaptic_acs", elements=flat_names),
                             "flat k-WTA over all tokens"),
                            ("hierarchy_total_ops_per_sample", res.counts.batch_mean("synaptic_acs"), "whole hierarchy"),
                            ("flat_total_ops_per_sample", rf.counts.batch_mean("synaptic_acs"), "whole flat selector")):
        o.metric(name, val, "ops", f"synaptic events per sample, {what}")
    o.per_sample("needle_exact", correct)
    o.per_sample("synaptic_ops", res.counts.per_sample("synaptic_acs"))
    o.details.update({"samples": batch, "arithmetic": "loihi fixed point" if fixed else "float", "binomial": bt})
    attn = None
    if p["attention"]:
        try:
            attn = attention_part(cfg, fixed)
            for name, ok in attn.pop("checks").items():
                o.check(name, ok, "part 2: coarse-to-fine SSA attention")
            o.details["attention"] = attn
        except (UnsupportedFeatureError, EngineError) as exc:    # an engine lacking a feature part 2 uses
            cfg.reduce("attention", "part 2 (coarse-to-fine SSA attention) not run",
                       f"engine '{cfg.engine}' cannot run it: {exc}", checks_not_run=ATTN_CHECKS,
                       figures_not_drawn=["hierarchical_ops"])
            attn = None
    if attn is None:
        why = cfg.reduced.get("attention", {}).get("why", "attention=false was given")
        for name in ATTN_CHECKS:
            o.skip(name, why)
        if "attention" in cfg.reduced:
            cfg.reduced["attention"].update(checks_not_run=ATTN_CHECKS, figures_not_drawn=["hierarchical_ops"])
    outcome = o.to_dict()
    figures = _figures(cfg, res, m, outcome) if cfg.figures else []
    return ScenarioOutcome(result=res, outcome=outcome, figures=figures, circuit=circuit)


def attention_part(cfg: ScenarioConfig, fixed: bool = False) -> dict:
    """Coarse-to-fine SSA vs SSA over all tokens on the same steps (module docstring);
    ``fixed``: both circuits and the oracle in Loihi fixed point."""
    from spikeattn.circuits.attention import ssa_attention
    from spikeattn.circuits.attention.reference import ssa_reference

    R, G, P_BG, P_REGION = cfg.p["regions"], cfg.p["region_size"], cfg.p["p_bg"], cfg.p["p_region"]  # noqa: N806
    c = coarse_to_fine_attention(R, G, ATTN_D, 1, coarse_window=ATTN_WINDOW, fixed_point=fixed)
    m = c.meta["coarse_to_fine"]
    steps, batch, n = m["decision_steps_max"] + ATTN_AFTER, min(cfg.batch or ATTN_BATCH, ATTN_BATCH), R * G
    rng = np.random.default_rng(cfg.seed + 1)
    region = rng.integers(R, size=batch)
    p = np.full((batch, R, G * ATTN_D), P_BG)
    p[np.arange(batch), region] = P_REGION
    x = rng.random((steps, batch, n * ATTN_D)) < p.reshape(batch, -1)[None]
    res = simulate(c, {"x": x}, steps=steps, engine=cfg.engine, seed=cfg.seed, progress=cfg.progress)
    regions = winners_from_spikes(res.spikes["coarse.winners"])
    open_from = np.repeat(reference.first_spike_times(res.spikes["coarse.winners"]), G * ATTN_D, axis=1) + 1
    t = np.arange(steps)[:, None, None]
    relayed = np.zeros_like(x)
    relayed[1:] = (x & np.repeat(regions, G * ATTN_D, axis=1)[None] & (t >= open_from[None]))[:-1]
    q = relayed.reshape(steps, batch, n, ATTN_D)
    y = np.asarray(res.spikes["attn.y"]).reshape(steps, batch, n, ATTN_D)
    full = ssa_attention(n, ATTN_D, fixed_point=fixed, name="attn")   # every token, the same post-decision steps
    first_open = open_from.min(axis=1)
    xf = np.zeros_like(x)
    xf[1:] = (x & (t >= first_open[None, :, None]))[:-1]
    rf = simulate(full, {"q": xf, "k": xf, "v": xf}, steps=steps, engine=cfg.engine, seed=cfg.seed,
                  progress=cfg.progress)

    def ops(counts, names):
        return counts.batch_mean("synaptic_acs", elements=names) + counts.batch_mean("synaptic_macs", elements=names)

    attn_ops = ops(res.counts, [k for k in c.projections if k.startswith("attn.")])
    full_ops = ops(rf.counts, list(full.projections))
    outside = ~np.repeat(regions, G, axis=1)                                   # (batch, n) tokens
    return {
        "checks": {
            "attention_matches_ssa_reference": bool(np.array_equal(y, ssa_reference(q, q, q, fixed_point=fixed))),
            "attention_only_selected_regions": bool(np.array_equal(res.spikes["regions.relays"], relayed)
                                                    and not y.transpose(1, 2, 0, 3)[outside].any()),
            "attention_region_is_brightest": bool(np.array_equal(
                regions, reference.topk_with_ties(
                    reference.window_counts(x, 0, ATTN_WINDOW).reshape(batch, R, -1).sum(axis=2), 1))),
        },
        "samples": batch, "steps": steps, "tokens": n, "dim": ATTN_D,
        "arithmetic": "loihi fixed point" if fixed else "float",
        "ssa_ops_per_sample_coarse_to_fine": attn_ops, "ssa_ops_per_sample_all_tokens": full_ops,
        "ssa_ops_ratio": attn_ops / full_ops if full_ops else None,
        "total_ops_per_sample_coarse_to_fine": ops(res.counts, list(c.projections)),
        "output_spikes_per_sample": float(y.sum() / batch),
    }


def _figures(cfg, res, m, outcome):
    from spikeattn.plots.counts import counts_bar, group_by_prefix
    from spikeattn.plots.common import pyplot, save_figure
    from spikeattn.plots.raster import raster

    names = ["tokens", "coarse.acc", "coarse.winners", "regions.open", "regions.relays", "fine.acc", "fine.winners"]
    labels = {"tokens": "input tokens", "coarse.acc": "coarse counters", "coarse.winners": "coarse winner",
              "regions.open": "region gates", "regions.relays": "relayed tokens", "fine.acc": "fine counters",
              "fine.winners": "fine winners"}
    g = cfg.p["region_size"]
    f1 = raster(res.spikes, cfg.out_dir / "hierarchical_raster.png", sample=0, names=names, labels=labels,
                groups={"tokens": ("region", g), "regions.relays": ("region", g)},
                marks={"coarse window ends": m["coarse_window"], "fine window starts": m["fine_window"][0]},
                title=f"hierarchical-attention, sample 0 of {res.batch}: coarse region, then tokens inside it "
                      f"(T = {res.steps} steps)")
    f2 = counts_bar(res.counts, cfg.out_dir / "hierarchical_counts.png", group=group_by_prefix,
                    title=f"hierarchical-attention: events per sample by stage, mean of {res.batch}")
    a = outcome["details"].get("attention")
    if not a:
        return [f1, f2]
    mt = {k: v["value"] for k, v in outcome["metrics"].items()}
    plt = pyplot("drawing the hierarchical-attention figures")
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, (title, vals) in zip(axes, [
            ("token selection (k-WTA stage)", {"flat, all tokens": mt["flat_stage_ops_per_sample"],
                                               "fine stage, selected region": mt["fine_stage_ops_per_sample"],
                                               "whole hierarchy": mt["hierarchy_total_ops_per_sample"]}),
            (f"SSA over {a['tokens']} tokens x {a['dim']} channels",
             {"all tokens": a["ssa_ops_per_sample_all_tokens"],
              "selected region only": a["ssa_ops_per_sample_coarse_to_fine"],
              "coarse + routing + SSA": a["total_ops_per_sample_coarse_to_fine"]})]):
        ax.bar(range(len(vals)), list(vals.values()), color=["tab:gray", "tab:blue", "tab:orange"])
        ax.set_xticks(range(len(vals)))
        ax.set_xticklabels(list(vals), fontsize=7, rotation=12)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("synaptic ops per sample", fontsize=8)
    fig.tight_layout()
    return [f1, f2, save_figure(fig, cfg.out_dir / "hierarchical_ops.png")]
