"""Scenario ``attention-scaling``: how the event cost of spiking attention grows with the
sequence length N, checked against the mathematics.

1. Main run (on ``cfg.engine``; SDSA is LIF-only so every engine runs it): SDSA on N = 16
   tokens of Bernoulli Q/K/V spikes; its output must equal the dense formula
   ``Q ⊙ LIF(sum_j K ⊙ V)`` spike for spike (``sdsa_matches_formula``).
2. Scaling (numpy, fused): EventCounts of dense attention (FLOPs), SSA in both orders, SDSA
   and windowed SSA / SDSA for N in ``SCALING_N``; log-log least-squares exponents of the
   synaptic ops.  Checks: dense = 2 (+-0.01), SSA (QK^T)V in [1.8, 2.2], SSA Q(K^T V), SDSA and
   the windowed variants in [0.8, 1.25] (linear; small-N saturation of the column-sum
   neurons pulls them slightly above 1).  At N = 16 every spiking variant is also run neuron
   by neuron and its EventCounts must equal the fused ones (``fused_equals_neuron_level``).
3. Both SSA orders give identical output spikes (``ssa_orders_agree``) and SSA equals the
   dense ``(Q K^T) V`` formula (``ssa_matches_formula``).
4. Metrics on a 2-layer, 2-head SSA stack (layer 2 attends over layer 1's output spikes) with
   rate-coded Q/K: per-head entropy of the spike-derived maps, Spearman alignment of layer
   1's map with dense softmax attention on the same rates (``alignment_with_softmax`` >= 0.8
   per head), and the synaptic-op reduction versus dense FLOPs of every variant at the
   largest N.  Figures: log-log scaling plot, per-head heatmaps (spike vs softmax), flow.
"""
from __future__ import annotations

import numpy as np

from spikeattn import Circuit, simulate
from spikeattn.circuits.attention import reference as ref
from spikeattn.circuits.attention import sdsa_attention, spike_map, ssa_attention
from spikeattn.circuits.attention.scaling import VARIANTS, exponents, measure
from spikeattn.metrics.attention import AttentionAlignment, AttentionEntropy

from .base import ScenarioConfig, ScenarioOutcome, scenario

SCALING_N = (32, 64, 128, 256)
VERIFY_N = 16
DIM, HEADS, RATE = 8, 2, 0.25
LINEAR = (0.8, 1.25)
QUADRATIC = (1.8, 2.2)


def _qkv(rng, steps, n, d, rate):
    return {p: rng.random((steps, 1, n * d)) < rate for p in "qkv"}


def two_layer_stack(n: int, d: int, heads: int) -> Circuit:
    """Layer 1: SSA over sources q, k, v; layer 2: SSA whose Q, K and V are layer 1's output."""
    c = Circuit("ssa_stack")
    for p in "qkv":
        c.add_source(p, (n, d))
    c.include(ssa_attention(n, d, heads, scale=0.25), "l1", bind={"q": "q", "k": "k", "v": "v"})
    c.include(ssa_attention(n, d, heads, scale=0.25), "l2", bind={"q": "l1.y", "k": "l1.y", "v": "l1.y"})
    return c


@scenario("attention-scaling", "event cost of SSA (both orders), SDSA and windowed attention vs sequence length, "
          "fitted exponents checked (SDSA ~ N, (QK^T)V ~ N^2)", default_steps=8, default_batch=1)
def run(cfg: ScenarioConfig) -> ScenarioOutcome:
    steps, rng = cfg.steps or 8, np.random.default_rng(cfg.seed)
    checks, outcome = {}, {}
    # 1. main run on the chosen engine
    n0 = VERIFY_N
    inp = _qkv(rng, steps + 3, n0, DIM, 0.5)
    sdsa = sdsa_attention(n0, DIM)
    main = simulate(sdsa, inp, steps=steps + 3, engine=cfg.engine, seed=cfg.seed, progress=cfg.progress)
    shaped = {p: a.reshape(steps + 3, 1, n0, DIM) for p, a in inp.items()}
    expect, _ = ref.sdsa_reference(shaped["q"], shaped["k"], shaped["v"])
    checks["sdsa_matches_formula"] = bool(np.array_equal(main.spikes["y"].reshape(expect.shape), expect))
    # 3. SSA orders and formula
    ya = simulate(ssa_attention(n0, DIM, HEADS), inp, steps=steps + 4, fused=True).spikes["y"]
    yb = simulate(ssa_attention(n0, DIM, HEADS, order="q_kv"), inp, steps=steps + 4, fused=True).spikes["y"]
    checks["ssa_orders_agree"] = bool(np.array_equal(ya, yb))
    expect = ref.ssa_reference(*(np.pad(shaped[p], ((0, 1), (0, 0), (0, 0), (0, 0))) for p in "qkv"), HEADS)
    checks["ssa_matches_formula"] = bool(np.array_equal(ya.reshape(expect.shape), expect))
    # 2. scaling
    rows = [measure(v, n, DIM, HEADS, steps, RATE, seed=cfg.seed) for v in VARIANTS for n in SCALING_N]
    verify = [measure(v, VERIFY_N, DIM, HEADS, steps, RATE, seed=cfg.seed, verify=True) for v in VARIANTS[1:]]
    checks["fused_equals_neuron_level"] = all(r.get("verified_equal_counts") for r in verify)
    exp_ops, exp_upd = exponents(rows), exponents(rows, "neuron_updates_active")
    checks["dense_exponent_2"] = abs(exp_ops["dense"] - 2) < 0.01
    checks["ssa_qk_v_quadratic"] = QUADRATIC[0] <= exp_ops["ssa_qk_v"] <= QUADRATIC[1]
    for v in ("ssa_q_kv", "sdsa", "ssa_window", "sdsa_window"):
        checks[f"{v}_linear"] = LINEAR[0] <= exp_ops[v] <= LINEAR[1]
    n_max = max(SCALING_N)
    reduction = {r["variant"]: r["dense_flops"] / r["synaptic_ops"] for r in rows
                 if r["n"] == n_max and r["variant"] != "dense"}
    # 4. metrics on the two-layer stack
    stack = two_layer_stack(n0, DIM, HEADS)
    rates_q, rates_k = rng.uniform(0.05, 0.95, (n0, DIM)), rng.uniform(0.05, 0.95, (n0, DIM))
    t_rate = 256
    qs = rng.random((t_rate, 1, n0 * DIM)) < rates_q.ravel()
    ks = rng.random((t_rate, 1, n0 * DIM)) < rates_k.ravel()
    vs = rng.random((t_rate, 1, n0 * DIM)) < 0.5
    res = simulate(stack, {"q": qs, "k": ks, "v": vs}, steps=t_rate, progress=cfg.progress)
    spec = ssa_attention(n0, DIM, HEADS).meta["attention"]   # both layers have these parameters
    maps = [spike_map(res, stack, prefix=f"{layer}.", spec=spec) for layer in ("l1", "l2")]
    _, probs = ref.softmax_attention(rates_q, rates_k, heads=HEADS)
    align = AttentionAlignment("spearman")
    al = align(maps[0], probs)
    ent = [AttentionEntropy()(m) for m in maps]
    checks["alignment_with_softmax"] = bool(np.all(al["per_head"] >= 0.8))
    outcome.update({
        "exponents_synaptic_ops": exp_ops, "exponents_neuron_updates_active": exp_upd,
        "tolerances": {"linear": LINEAR, "quadratic": QUADRATIC},
        "synaptic_op_reduction_vs_dense_at_n_max": {"n": n_max, **reduction},
        "alignment_spearman_per_head": al["per_head"].tolist(),
        "entropy_per_head_nats": {"layer1": ent[0]["per_head"].tolist(), "layer2": ent[1]["per_head"].tolist(),
                                  "uniform": float(np.log(n0))},
        "rows": rows, "verification_rows": verify,
        "settings": {"dim": DIM, "heads": HEADS, "rate": RATE, "steps": steps, "scaling_n": SCALING_N}})
    outcome["checks"] = checks
    outcome["passed"] = all(checks.values())
    figures = _figures(cfg, rows, exp_ops, maps, probs) if cfg.figures else []
    return ScenarioOutcome(result=main, outcome=outcome, figures=figures, circuit=sdsa)


def _figures(cfg, rows, exp_ops, maps, probs) -> list:
    from spikeattn.plots.attention import plot_attention_flow, plot_attention_heatmaps, plot_scaling

    series = {}
    for v in VARIANTS:
        sel = [r for r in rows if r["variant"] == v]
        series[v if v != "dense" else "dense (FLOPs)"] = ([r["n"] for r in sel],
                                                          [r["flops" if v == "dense" else "synaptic_ops"] for r in sel],
                                                          exp_ops.get(v))
    out = cfg.out_dir
    return [plot_scaling(series, out / "attention_scaling.png",
                         ylabel="synaptic ops (spiking, T steps) / FLOPs (dense)"),
            plot_attention_heatmaps(maps[0][:, 0].sum(axis=0), probs, out / "attention_heatmaps.png",
                                    title="layer 1: spike-derived QK^T vs dense softmax on the rates"),
            plot_attention_flow([m[:, 0].sum(axis=0) for m in maps], out / "attention_flow.png",
                                title="2-layer SSA: top-2 attended keys per query and head")]
