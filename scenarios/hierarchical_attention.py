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

With ``--engine lava`` part 1 runs in Loihi fixed point (default batch 4); part 2 (float
LIF timers + graded SSA neurons) runs where the engine supports every feature it uses
(numpy, Brian2) and is reported as skipped, with the engine's reason, where it does not
(Lava: reset by subtraction / refractory timers are float features its LIF lacks).
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

R, G, K_TOKENS, COARSE_WINDOW, FINE_WINDOW = 8, 4, 2, 8, 12
P_BG, P_REGION, P_NEEDLE = 0.1, 0.3, 0.8
ATTN_D, ATTN_WINDOW, ATTN_AFTER, ATTN_BATCH = 4, 4, 20, 16
LAVA_BATCH = 4          # Lava runs one network per sample: a smaller default batch


def build(fixed_point: bool = False):
    return hierarchical_selector(R, G, 1, K_TOKENS, coarse_window=COARSE_WINDOW, fine_window=FINE_WINDOW,
                                 fixed_point=fixed_point, name="hierarchical")


def task(rng, batch: int, steps: int):
    """``(needle_tokens mask (batch, N), spikes (steps, batch, N))``."""
    region = rng.integers(R, size=batch)
    p = np.full((batch, R, G), P_BG)
    p[np.arange(batch), region] = P_REGION
    needle = np.zeros((batch, R, G), bool)
    for b in range(batch):
        needle[b, region[b], rng.choice(G, K_TOKENS, replace=False)] = True
    p[needle] = P_NEEDLE
    p = p.reshape(batch, R * G)
    return needle.reshape(batch, R * G), rng.random((steps, batch, R * G)) < p[None]


@scenario("hierarchical-attention", "coarse-to-fine: pick the brightest region, then the top tokens inside it",
          default_steps=hierarchical_selector(R, G, 1, K_TOKENS, COARSE_WINDOW, FINE_WINDOW).meta["hierarchical"]["steps"],
          default_batch=64)
def run(cfg: ScenarioConfig) -> ScenarioOutcome:
    fixed = cfg.engine == "lava"        # Lava's LIF has no v_reset/subtract reset: use the fixed-point variant
    circuit = build(fixed)
    m = circuit.meta["hierarchical"]
    steps = cfg.steps or m["steps"]
    if steps < m["steps"]:
        raise ParameterError("scenario 'hierarchical-attention'", "steps", f"is {steps}; the two stages need "
                             f"up to {m['steps']} steps.", f"use --steps >= {m['steps']}.")
    batch = cfg.batch or (LAVA_BATCH if fixed else 64)
    needle, x = task(np.random.default_rng(cfg.seed), batch, steps)
    res = simulate(circuit, {"tokens": x}, steps=steps, engine=cfg.engine, seed=cfg.seed, progress=cfg.progress)
    regions = winners_from_spikes(res.spikes["coarse.winners"])
    tokens = winners_from_spikes(res.spikes["fine.winners"])
    pooled = reference.window_counts(x, 0, COARSE_WINDOW).reshape(batch, R, G).sum(axis=2)
    exp_regions, exp_tokens = reference.two_level_topk(pooled, 1, reference.window_counts(x, *m["token_window"]),
                                                       G, K_TOKENS)
    inside = np.repeat(regions, G, axis=1)
    open_from = np.repeat(reference.first_spike_times(res.spikes["coarse.winners"]), G, axis=1) + 1
    relayed = x & inside[None] & (np.arange(steps)[:, None, None] >= open_from[None])
    relays = np.asarray(res.spikes["regions.relays"])
    fine_in = res.counts.per_sample("synaptic_acs", elements=["fine.in->gate"])

    flat = flat_selector(R * G, K_TOKENS, m["fine_window"], fixed_point=fixed)
    rf = simulate(flat, {"tokens": x}, steps=steps, engine=cfg.engine, seed=cfg.seed)
    flat_tokens = winners_from_spikes(rf.spikes["fine.winners"])
    fine_names = [n for n in circuit.projections if n.startswith("fine.")]
    flat_names = [n for n in flat.projections if n.startswith("fine.")]
    acc, acc_flat = SelectionAccuracy(), SelectionAccuracy()
    acc(tokens, needle)
    acc_flat(flat_tokens, needle)
    lat_c, lat_f = DecisionLatency(dt=res.dt), DecisionLatency(dt=res.dt)
    lat_c(res.spikes["coarse.winners"])
    lat_f(res.spikes["fine.winners"])
    checks = {
        "matches_two_level_reference": bool(np.array_equal(regions, exp_regions)
                                            and np.array_equal(tokens, exp_tokens)),
        "fine_stage_only_selected_regions": bool(not relays[:, ~inside].any()
                                                 and np.array_equal(fine_in, relayed[:-1].sum(axis=(0, 2)))),
        "needle_recall_ge_0.9": acc.compute()["exact"] >= 0.9,
        "flat_matches_reference": bool(np.array_equal(
            flat_tokens, reference.topk_with_ties(reference.window_counts(x, *m["token_window"]), K_TOKENS))),
    }
    outcome = {
        "passed": all(checks.values()), "checks": checks, "samples": batch,
        "needle_exact": acc.compute()["exact"], "needle_jaccard": acc.compute()["jaccard"],
        "flat_needle_exact": acc_flat.compute()["exact"],
        "needle_region_found": float(regions[np.arange(batch), needle.reshape(batch, R, G).any(2).argmax(1)].mean()),
        "coarse_latency_steps": lat_c.compute()["mean_steps"], "fine_latency_steps": lat_f.compute()["mean_steps"],
        "fine_latency_s": lat_f.compute()["mean_s"],
        "fine_stage_ops_per_sample": res.counts.batch_mean("synaptic_acs", elements=fine_names),
        "flat_stage_ops_per_sample": rf.counts.batch_mean("synaptic_acs", elements=flat_names),
        "hierarchy_total_ops_per_sample": res.counts.batch_mean("synaptic_acs"),
        "flat_total_ops_per_sample": rf.counts.batch_mean("synaptic_acs"),
        "arithmetic": "loihi fixed point" if fixed else "float",
        "task": {"R": R, "G": G, "k_tokens": K_TOKENS, "coarse_window": COARSE_WINDOW,
                 "fine_window": m["fine_window"], "p_bg": P_BG, "p_region": P_REGION, "p_needle": P_NEEDLE},
    }
    try:
        attn = attention_part(cfg)
        outcome["checks"].update(attn.pop("checks"))
    except (UnsupportedFeatureError, EngineError) as exc:    # e.g. Lava: float timer features
        attn = {"skipped": f"engine '{cfg.engine}' cannot run the coarse-to-fine attention circuit (float "
                           f"LIF timers + graded SSA neurons): {exc}"}
    outcome["attention"] = attn
    outcome["passed"] = all(outcome["checks"].values())
    figures = _figures(cfg, res, m, outcome) if cfg.figures else []
    return ScenarioOutcome(result=res, outcome=outcome, figures=figures, circuit=circuit)


def attention_part(cfg: ScenarioConfig) -> dict:
    """Coarse-to-fine SSA vs SSA over all tokens on the same steps (module docstring)."""
    from spikeattn.circuits.attention import ssa_attention
    from spikeattn.circuits.attention.reference import ssa_reference

    c = coarse_to_fine_attention(R, G, ATTN_D, 1, coarse_window=ATTN_WINDOW)
    m = c.meta["coarse_to_fine"]
    steps, batch, n = m["decision_steps_max"] + ATTN_AFTER, min(cfg.batch or ATTN_BATCH, ATTN_BATCH), R * G
    rng = np.random.default_rng(cfg.seed + 1)
    region = rng.integers(R, size=batch)
    p = np.full((batch, R, G * ATTN_D), P_BG)
    p[np.arange(batch), region] = P_REGION
    x = rng.random((steps, batch, n * ATTN_D)) < p.reshape(batch, -1)[None]
    res = simulate(c, {"x": x}, steps=steps, engine=cfg.engine, seed=cfg.seed)
    regions = winners_from_spikes(res.spikes["coarse.winners"])
    open_from = np.repeat(reference.first_spike_times(res.spikes["coarse.winners"]), G * ATTN_D, axis=1) + 1
    t = np.arange(steps)[:, None, None]
    relayed = np.zeros_like(x)
    relayed[1:] = (x & np.repeat(regions, G * ATTN_D, axis=1)[None] & (t >= open_from[None]))[:-1]
    q = relayed.reshape(steps, batch, n, ATTN_D)
    y = np.asarray(res.spikes["attn.y"]).reshape(steps, batch, n, ATTN_D)
    full = ssa_attention(n, ATTN_D, name="attn")      # every token, fed the same (post-decision) steps
    first_open = open_from.min(axis=1)
    xf = np.zeros_like(x)
    xf[1:] = (x & (t >= first_open[None, :, None]))[:-1]
    rf = simulate(full, {"q": xf, "k": xf, "v": xf}, steps=steps, engine=cfg.engine, seed=cfg.seed)

    def ops(counts, names):
        return counts.batch_mean("synaptic_acs", elements=names) + counts.batch_mean("synaptic_macs", elements=names)

    attn_ops = ops(res.counts, [k for k in c.projections if k.startswith("attn.")])
    full_ops = ops(rf.counts, list(full.projections))
    outside = ~np.repeat(regions, G, axis=1)                                   # (batch, n) tokens
    return {
        "checks": {
            "attention_matches_ssa_reference": bool(np.array_equal(y, ssa_reference(q, q, q))),
            "attention_only_selected_regions": bool(np.array_equal(res.spikes["regions.relays"], relayed)
                                                    and not y.transpose(1, 2, 0, 3)[outside].any()),
            "attention_region_is_brightest": bool(np.array_equal(
                regions, reference.topk_with_ties(
                    reference.window_counts(x, 0, ATTN_WINDOW).reshape(batch, R, -1).sum(axis=2), 1))),
        },
        "samples": batch, "steps": steps, "tokens": n, "dim": ATTN_D,
        "ssa_ops_per_sample_coarse_to_fine": attn_ops, "ssa_ops_per_sample_all_tokens": full_ops,
        "ssa_ops_ratio": attn_ops / full_ops if full_ops else None,
        "total_ops_per_sample_coarse_to_fine": ops(res.counts, list(c.projections)),
        "output_spikes_per_sample": float(y.sum() / batch),
    }


def _figures(cfg, res, m, outcome):
    from spikeattn.plots.counts import counts_bar, group_by_prefix
    from spikeattn.plots.raster import _pyplot, raster, save_figure

    names = ["tokens", "coarse.acc", "coarse.winners", "regions.open", "regions.relays", "fine.acc", "fine.winners"]
    f1 = raster(res.spikes, cfg.out_dir / "hierarchical_raster.png", sample=0, names=names,
                marks={"coarse window end": m["coarse_window"], "fine window": m["fine_window"][0]},
                title="hierarchical-attention, sample 0: coarse region, then tokens inside it")
    f2 = counts_bar(res.counts, cfg.out_dir / "hierarchical_counts.png", group=group_by_prefix,
                    title="hierarchical-attention: events per sample by stage")
    if "skipped" in outcome["attention"]:
        return [f1, f2]
    plt = _pyplot()
    a = outcome["attention"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, (title, vals) in zip(axes, [
            ("token selection (k-WTA stage)", {"flat, all tokens": outcome["flat_stage_ops_per_sample"],
                                               "fine stage, selected region": outcome["fine_stage_ops_per_sample"],
                                               "whole hierarchy": outcome["hierarchy_total_ops_per_sample"]}),
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
    try:
        f3 = save_figure(fig, cfg.out_dir / "hierarchical_ops.png")
    finally:
        plt.close(fig)
    return [f1, f2, f3]
