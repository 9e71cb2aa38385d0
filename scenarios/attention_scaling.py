"""Scenario ``attention-scaling``: how the event cost of spiking attention grows with the
sequence length N, checked against the mathematics.

1. Main run (on ``cfg.engine``; SDSA is LIF-only so every engine runs it): SDSA on N = verify_n
   (16) tokens of Bernoulli Q/K/V spikes; its output must equal the dense formula
   ``Q ⊙ LIF(sum_j K ⊙ V)`` spike for spike (``sdsa_matches_formula``).
2. Scaling (fused counters, identical on every engine): EventCounts of dense attention
   (FLOPs), SSA in both orders, SDSA and windowed SSA / SDSA for N in ``SCALING_N``; log-log
   least-squares exponents of the synaptic ops.  Checks: dense = 2 (+-0.01), SSA (QK^T)V in
   [1.8, 2.2], SSA Q(K^T V), SDSA and the windowed variants in [0.8, 1.25] (linear; small-N
   saturation of the column-sum neurons pulls them slightly above 1).  At N = verify_n every spiking variant is also run
   neuron by neuron on ``cfg.engine`` and its EventCounts must equal the fused ones
   (``fused_equals_neuron_level``; a variant the engine cannot run is verified on numpy and
   reported as reduced).  The float circuits run on Lava here too: their weights (1, 4,
   ``scale = 1/8``) and decays (1, 1/2) are small dyadic numbers, so every float sum is exact
   in double precision whatever the summation order (and the counts must match to pass).
3. On ``cfg.engine``: both SSA orders give identical output spikes (``ssa_orders_agree``) and
   SSA equals the dense ``(Q K^T) V`` formula (``ssa_matches_formula``).  Float SSA where the
   engine sums floats in the defined order (numpy, compiled, Brian2); otherwise (Lava) the
   Loihi fixed-point SSA against ``ssa_reference(..., fixed_point=True)``.
4. Metrics on a 2-layer, 2-head SSA stack (layer 2 attends over layer 1's output spikes) with
   rate-coded Q/K: per-head entropy of the spike-derived maps, Spearman alignment of layer
   1's map with dense softmax attention on the same rates (``alignment_with_softmax`` >= 0.8
   per head), and the synaptic-op reduction versus dense FLOPs of every variant at the
   largest N.  The stack runs on ``cfg.engine`` (fixed point on Lava, as in part 3).
   Figures: log-log scaling plot, per-head heatmaps (spike vs softmax), flow.
"""
from __future__ import annotations

import numpy as np

from spikeattn import Circuit, simulate
from spikeattn.circuits.attention import reference as ref
from spikeattn.circuits.attention import sdsa_attention, spike_map, ssa_attention
from spikeattn.engines.base import engine_class
from spikeattn.errors import ParameterError
from spikeattn.metrics.attention import AttentionAlignment, AttentionEntropy

from .attention_cost import VARIANTS, exponents, measure
from .base import ScenarioConfig, ScenarioOutcome, scenario
from .outcome import Outcome
from .params import Param

SCALING_N = (32, 64, 128, 256)
VERIFY_N = 16
DIM, HEADS, RATE = 8, 2, 0.25
LINEAR = (0.8, 1.25)
QUADRATIC = (1.8, 2.2)
NUMPY_PART_WHY = "the engine cannot run these circuits (missing features listed per part)"

PARAMS = [
    Param("steps", "int", 8, "time steps of every attention run (T)", low=1, high=256, unit="steps"),
    Param("batch", "int", 1, "samples (the scaling study uses one)", low=1, high=1, unit="samples"),
    Param("dim", "int", DIM, "channels per token d", low=2, high=64),
    Param("heads", "int", HEADS, "attention heads (d must divide by it)", low=1, high=16),
    Param("rate", "float", RATE, "spike probability per step of Q, K, V in the scaling rows", low=0.01, high=1),
    Param("scaling_n", "int_list", SCALING_N, "sequence lengths N of the scaling fit (at least 2)", low=2, high=1024),
    Param("verify_n", "int", VERIFY_N, "N of the engine run and the neuron-level verification", low=2, high=64),
]


def _check(p: dict) -> None:
    if p["dim"] % p["heads"]:
        raise ParameterError("scenario 'attention-scaling'", "heads", f"is {p['heads']}; dim = {p['dim']} is not "
                             "divisible by it.", "give heads dividing dim.")
    if len(set(p["scaling_n"])) < 2:
        raise ParameterError("scenario 'attention-scaling'", "scaling_n", f"is {list(p['scaling_n'])}; a fit "
                             "needs at least 2 different N.", "give e.g. scaling_n=32,64,128.")


def _qkv(rng, steps, n, d, rate):
    return {p: rng.random((steps, 1, n * d)) < rate for p in "qkv"}


def two_layer_stack(n: int, d: int, heads: int, fixed_point: bool = False) -> Circuit:
    """Layer 1: SSA over sources q, k, v; layer 2: SSA whose Q, K and V are layer 1's output."""
    c = Circuit("ssa_stack")
    for p in "qkv":
        c.add_source(p, (n, d))
    c.include(ssa_attention(n, d, heads, scale=0.25, fixed_point=fixed_point), "l1",
              bind={"q": "q", "k": "k", "v": "v"})
    c.include(ssa_attention(n, d, heads, scale=0.25, fixed_point=fixed_point), "l2",
              bind={"q": "l1.y", "k": "l1.y", "v": "l1.y"})
    return c


def ssa_mode(engine: str, n: int, d: int, heads: int) -> tuple[str | None, str]:
    """How SSA runs on ``engine``: ``("float", "")`` where the engine runs the float circuit and
    sums floats in the defined order, ``("fixed", "")`` where only the Loihi fixed-point circuit
    is exact (Lava), ``(None, why)`` where it runs neither (then numpy runs it)."""
    if engine == "numpy":
        return "float", ""
    eng = engine_class(engine)
    miss = eng.missing_features(ssa_attention(n, d, heads))
    if not miss and "float:order_exact" in eng.supported:
        return "float", ""
    miss_fx = eng.missing_features(ssa_attention(n, d, heads, fixed_point=True))
    if not miss_fx:
        return "fixed", ""
    el, f = (miss or miss_fx)[0]
    return None, f"engine '{engine}' cannot run SSA's {el}: it needs '{f}'"


@scenario("attention-scaling", "event cost of SSA (both orders), SDSA and windowed attention vs sequence length, "
          "fitted exponents checked (SDSA ~ N, (QK^T)V ~ N^2)", PARAMS, check=_check,
          parity={"numpy": "every part on numpy",
                  "lava": "every simulation at verify_n on Lava: SDSA (part 1, float LIF); the SSA "
                          "orders/formula checks and the 2-layer stack in Loihi fixed point (against the "
                          "fixed-point oracle), and each "
                          "spiking variant's neuron-level run (float; its weights and decays are small dyadic "
                          "numbers, so its sums are exact in any order), whose EventCounts must equal the fused "
                          "counters; the scaling rows (N in scaling_n, default 32-256) are the fused counters, "
                          "their equality with neuron-level Lava runs checked at verify_n",
                  "*": "every simulation at verify_n on the engine (SDSA, SSA orders/formula, neuron-level "
                       "verification of each variant, 2-layer stack); the scaling rows (N in scaling_n) are the "
                       "fused counters, their equality with neuron-level runs on this engine checked at "
                       "verify_n; a part the engine cannot run runs on numpy and is reported as reduced"})
def run(cfg: ScenarioConfig) -> ScenarioOutcome:
    p = cfg.p
    steps, rng = p["steps"], np.random.default_rng(cfg.seed)
    dim, heads, rate, scaling_n = p["dim"], p["heads"], p["rate"], tuple(sorted(set(p["scaling_n"])))
    o = Outcome()
    # 1. main run on the chosen engine
    n0 = p["verify_n"]
    inp = _qkv(rng, steps + 3, n0, dim, 0.5)
    sdsa = sdsa_attention(n0, dim)
    main = simulate(sdsa, inp, steps=steps + 3, engine=cfg.engine, seed=cfg.seed, progress=cfg.progress)
    shaped = {q: a.reshape(steps + 3, 1, n0, dim) for q, a in inp.items()}
    expect, _ = ref.sdsa_reference(shaped["q"], shaped["k"], shaped["v"])
    o.check("sdsa_matches_formula", np.array_equal(main.spikes["y"].reshape(expect.shape), expect),
            f"SDSA on {cfg.engine} == Q * LIF(sum_j K * V), spike for spike")
    # 3. SSA orders and formula, on the engine where it runs SSA exactly
    mode, why = ssa_mode(cfg.engine, n0, dim, heads)
    ssa_engine, fx = (cfg.engine if mode else "numpy"), mode == "fixed"
    if mode is None:
        cfg.reduce("ssa_numpy", f"parts 3-4 (SSA orders/formula, 2-layer stack) run on numpy, not '{cfg.engine}'",
                   f"{NUMPY_PART_WHY}: {why}")
    opts = {"fused": True} if ssa_engine == "numpy" else {}
    ys = [simulate(ssa_attention(n0, dim, heads, order=order, fixed_point=fx), inp, steps=steps + 4,
                   engine=ssa_engine, seed=cfg.seed, **opts).spikes["y"]
          for order in ("qk_v", "q_kv")]
    kind = "Loihi fixed-point " if fx else ""
    o.check("ssa_orders_agree", np.array_equal(ys[0], ys[1]),
            f"{kind}SSA (QK^T)V and Q(K^T V) on {ssa_engine} give identical spikes")
    expect = ref.ssa_reference(*(np.pad(shaped[q], ((0, 1), (0, 0), (0, 0), (0, 0))) for q in "qkv"), heads,
                               fixed_point=fx)
    o.check("ssa_matches_formula", np.array_equal(ys[0].reshape(expect.shape), expect),
            f"{kind}SSA on {ssa_engine} == dense (QK^T)V formula" + (" (fixed-point oracle)" if fx else ""))
    # 2. scaling
    from spikeattn.progress import progress_bar
    bar = progress_bar(len(VARIANTS) * len(scaling_n), cfg.progress, "attention-scaling: rows", unit="row")
    rows = []
    for v in VARIANTS:
        for n in scaling_n:
            rows.append(measure(v, n, dim, heads, steps, rate, seed=cfg.seed))
            bar.update(1)
    bar.close()
    verify = _verify(cfg, n0, dim, heads, steps, rate)
    on = sorted({r["verify_engine"] for r in verify})
    o.check("fused_equals_neuron_level", all(r.get("verified_equal_counts") for r in verify),
            f"fused EventCounts == neuron-level {' / '.join(on)} at N = {n0}, every spiking variant")
    exp_ops, exp_upd = exponents(rows), exponents(rows, "neuron_updates_active")
    o.check("dense_exponent_2", abs(exp_ops["dense"] - 2) < 0.01, "dense FLOPs ~ N^2", value=exp_ops["dense"],
            threshold=2, op="+-0.01")
    o.check("ssa_qk_v_quadratic", QUADRATIC[0] <= exp_ops["ssa_qk_v"] <= QUADRATIC[1], "SSA (QK^T)V ops ~ N^2",
            value=exp_ops["ssa_qk_v"], threshold=QUADRATIC[0], op="in", upper=QUADRATIC[1])
    for v in ("ssa_q_kv", "sdsa", "ssa_window", "sdsa_window"):
        o.check(f"{v}_linear", LINEAR[0] <= exp_ops[v] <= LINEAR[1], f"{v} ops ~ N", value=exp_ops[v],
                threshold=LINEAR[0], op="in", upper=LINEAR[1])
    n_max = max(scaling_n)
    reduction = {r["variant"]: r["dense_flops"] / r["synaptic_ops"] for r in rows
                 if r["n"] == n_max and r["variant"] != "dense"}
    # 4. metrics on the two-layer stack
    stack = two_layer_stack(n0, dim, heads, fixed_point=fx)
    rates_q, rates_k = rng.uniform(0.05, 0.95, (n0, dim)), rng.uniform(0.05, 0.95, (n0, dim))
    t_rate = 256
    qs = rng.random((t_rate, 1, n0 * dim)) < rates_q.ravel()
    ks = rng.random((t_rate, 1, n0 * dim)) < rates_k.ravel()
    vs = rng.random((t_rate, 1, n0 * dim)) < 0.5
    res = simulate(stack, {"q": qs, "k": ks, "v": vs}, steps=t_rate, engine=ssa_engine, seed=cfg.seed,
                   progress=cfg.progress)
    spec = ssa_attention(n0, dim, heads).meta["attention"]   # both layers have these parameters
    maps = [spike_map(res, stack, prefix=f"{layer}.", spec=spec) for layer in ("l1", "l2")]
    _, probs = ref.softmax_attention(rates_q, rates_k, heads=heads)
    al = AttentionAlignment("spearman")(maps[0], probs)
    ent = [AttentionEntropy()(m) for m in maps]
    o.check("alignment_with_softmax", np.all(al["per_head"] >= 0.8), "Spearman of layer-1 map vs softmax, every head",
            value=float(np.min(al["per_head"])), threshold=0.8, op=">=")
    for v, e in exp_ops.items():
        o.metric(f"exponent_{v}", e, "1", f"log-log slope of {'FLOPs' if v == 'dense' else 'synaptic ops'} vs N")
    for v, r in reduction.items():
        o.metric(f"reduction_vs_dense_{v}", r, "ratio", f"dense FLOPs / {v} synaptic ops at N = {n_max}")
    for h, a in enumerate(al["per_head"]):
        o.metric(f"alignment_head{h}", a, "1", f"Spearman alignment with softmax, head {h}")
    o.per_sample("sdsa_output_spikes", [int(np.asarray(main.spikes["y"]).sum())])
    o.details.update({
        "exponents_synaptic_ops": exp_ops, "exponents_neuron_updates_active": exp_upd,
        "tolerances": {"linear": LINEAR, "quadratic": QUADRATIC},
        "synaptic_op_reduction_vs_dense_at_n_max": {"n": n_max, **reduction},
        "entropy_per_head_nats": {"layer1": ent[0]["per_head"].tolist(), "layer2": ent[1]["per_head"].tolist(),
                                  "uniform": float(np.log(n0))},
        "rows": rows, "verification_rows": verify,
        "engines": {"sdsa": cfg.engine, "ssa_checks": ssa_engine, "ssa_arithmetic": "fixed" if fx else "float",
                    "stack": ssa_engine, "verification": {r["variant"]: r["verify_engine"] for r in verify}},
        "settings": {"dim": dim, "heads": heads, "rate": rate, "steps": steps, "scaling_n": list(scaling_n)}})
    figures = _figures(cfg, rows, exp_ops, maps, probs) if cfg.figures else []
    return ScenarioOutcome(result=main, outcome=o.to_dict(), figures=figures, circuit=sdsa)


def _verify(cfg, n0, dim, heads, steps, rate) -> list[dict]:
    """Neuron-level run of each spiking variant at ``n0`` on ``cfg.engine``; a variant the engine
    cannot run is verified on numpy instead, and listed in ``cfg.reduced["verification_numpy"]``."""
    rows, fallback = [], {}
    for v in VARIANTS[1:]:
        r = measure(v, n0, dim, heads, steps, rate, seed=cfg.seed, verify=True, verify_engine=cfg.engine)
        if r.get("verified_equal_counts") is None and cfg.engine != "numpy":
            fallback[v] = r["not_verified_why"]
            r = measure(v, n0, dim, heads, steps, rate, seed=cfg.seed, verify=True)
            r["not_verified_on_engine_why"] = fallback[v]
        rows.append(r)
    if fallback:
        cfg.reduce("verification_numpy", f"the neuron-level verification of {sorted(fallback)} ran on numpy, "
                   f"not '{cfg.engine}'", NUMPY_PART_WHY, per_variant=fallback)
    return rows


READABLE = {"dense": "dense softmax attention (FLOPs)", "ssa_qk_v": "SSA, (QK^T)V order",
            "ssa_q_kv": "SSA, Q(K^T V) order", "sdsa": "SDSA", "ssa_window": "SSA, local window",
            "sdsa_window": "SDSA, local window"}


def _figures(cfg, rows, exp_ops, maps, probs) -> list:
    from spikeattn.plots.attention import plot_attention_flow, plot_attention_heatmaps, plot_scaling

    series = {}
    for v in VARIANTS:
        sel = [r for r in rows if r["variant"] == v]
        series[READABLE.get(v, v)] = ([r["n"] for r in sel],
                                                          [r["flops" if v == "dense" else "synaptic_ops"] for r in sel],
                                                          exp_ops.get(v))
    out = cfg.out_dir
    p = cfg.p
    return [plot_scaling(series, out / "attention_scaling.png",
                         title=f"attention cost vs sequence length (T = {p['steps']} steps, spike rate {p['rate']:g}, "
                               f"d = {p['dim']}, {p['heads']} heads)",
                         ylabel="synaptic ops (spiking) / FLOPs (dense)"),
            plot_attention_heatmaps(maps[0][:, 0].sum(axis=0), probs, out / "attention_heatmaps.png",
                                    title=f"layer 1 of 2: spike-derived QK^T (T = 256 steps) vs dense softmax "
                                          f"on the rates, N = {cfg.p['verify_n']}"),
            plot_attention_flow([m[:, 0].sum(axis=0) for m in maps], out / "attention_flow.png",
                                title="2-layer SSA: strongest attended key per query, by head")]
