"""Scenario ``moe-routing``: a spiking gate sends each token to k of E experts.

Task (synthetic, seeded): token ``b`` belongs to class ``y_b`` in ``0 .. E-1``; its ``D``
input neurons fire (Poisson) at ``p_on`` on the ``D / E`` channels of its class and at
``p_off`` elsewhere.  The gate scores ``g = G @ c`` with ``G[e, j] = 1`` on class e's
channels (counts ``c`` over the gate window), keeps the top ``k`` experts (k-WTA), and
dispatches the token's later spikes to them only; each expert is a two-layer IF network.

Checks against the mathematics (:mod:`spikeattn.circuits.routing.reference`):

* ``gate_matches_topk``: selected experts == top-k of the integer gate scores, every token;
* ``unselected_experts_zero_ops``: every projection of every unselected expert performed
  exactly 0 synaptic events for that token (per-sample EventCounts);
* ``experts_match_dense_reference``: each selected expert's spikes and synaptic op counts
  equal a dense numpy integrate-and-fire computation on the dispatched spikes;
* ``class_expert_selected_ge_0.9``: the token's class expert is among the selected ones.

Conditional computation is measured against the same layer with ``k = E`` (every expert
runs): ``expert_ops_saving = 1 - routed expert ops / dense expert ops``.

With ``--engine lava`` gate, dispatch and experts are built in Loihi fixed point (experts
reset to 0 instead of subtracting), reported under ``reduced``.  The class-expert check is an exact binomial
test on the number of tokens run (see :func:`scenarios.outcome.binomial_check`).
"""
from __future__ import annotations

import numpy as np

from spikeattn import simulate
from spikeattn.circuits.routing import expert_elements, feedforward_expert, moe_layer, reference
from spikeattn.circuits.routing import winners_from_spikes
from spikeattn.errors import ParameterError
from spikeattn.metrics.latency import DecisionLatency
from spikeattn.metrics.selection import SelectionAccuracy, selection_mask

from .base import ScenarioConfig, ScenarioOutcome, scenario
from .outcome import Outcome, binomial_check
from .params import Param, common_params

E, D, HIDDEN, D_OUT, K, WINDOW = 4, 16, 16, 8, 2, 8
P_ON, P_OFF = 0.6, 0.1
RUN_AFTER_DECISION = 30
DEFAULTS = {"experts": E, "channels_per_expert": D // E, "hidden": HIDDEN, "d_out": D_OUT, "k": K, "window": WINDOW}

PARAMS = common_params(None, 64) + [
    Param("experts", "int", E, "number of experts E (and token classes)", low=2, high=16),
    Param("channels_per_expert", "int", D // E, "input channels per class (D = E x this)", low=1, high=64),
    Param("k", "int", K, "experts selected per token (k-WTA k)", low=1, high=16),
    Param("window", "int", WINDOW, "gate window: steps of input counted by the gate", low=1, high=256, unit="steps"),
    Param("hidden", "int", HIDDEN, "hidden neurons per expert", low=1, high=512),
    Param("d_out", "int", D_OUT, "output neurons per expert", low=1, high=512),
    Param("p_on", "float", P_ON, "spike probability per step on the token's class channels", low=0, high=1),
    Param("p_off", "float", P_OFF, "spike probability per step on the other channels", low=0, high=1),
    Param("run_after_decision", "int", RUN_AFTER_DECISION, "steps simulated after the gate's latest decision "
          "(sets the default steps)", low=1, high=10_000, unit="steps"),
    Param("class_threshold", "float", 0.9, "rate of tokens whose class expert is selected, tested by a "
          "binomial check", low=0, high=1),
]
PARAMS[0] = Param("steps", "int", None, "simulation time steps (default: gate steps + run_after_decision)",
                  low=1, high=100_000, unit="steps")


def _check(p: dict) -> None:
    if p["k"] > p["experts"]:
        raise ParameterError("scenario 'moe-routing'", "k", f"is {p['k']} > experts = {p['experts']}.",
                             "give k <= experts.")
    if p["p_on"] <= p["p_off"]:
        raise ParameterError("scenario 'moe-routing'", "p_on", f"is {p['p_on']} <= p_off = {p['p_off']}.",
                             "give p_on > p_off.")


def gate_weights(p: dict | None = None) -> np.ndarray:
    """``(E, D)``: 1 on the ``D / E`` channels of each class."""
    p = p or DEFAULTS
    return np.kron(np.eye(p["experts"]), np.ones((1, p["channels_per_expert"])))


def build(k: int = K, fixed_point: bool = False, p: dict | None = None):
    p = p or DEFAULTS
    return moe_layer(gate_weights(p), lambda e: expert(e, fixed_point, p), k=k, window=p["window"],
                     fixed_point=fixed_point, name="moe")


def expert(e: int, fixed_point: bool = False, p: dict | None = None):
    p = p or DEFAULTS
    return feedforward_expert(p["experts"] * p["channels_per_expert"], p["hidden"], p["d_out"], seed=100 + e,
                              fixed_point=fixed_point)


def tokens(rng, batch: int, steps: int, p: dict):
    n_e, c = p["experts"], p["channels_per_expert"]
    y = rng.integers(n_e, size=batch)
    prob = np.where(np.repeat(np.eye(n_e, dtype=bool)[y], c, axis=1), p["p_on"], p["p_off"])
    return y, rng.random((steps, batch, n_e * c)) < prob[None]


def expert_ops(res, circuit, n_experts: int) -> np.ndarray:
    """``(batch, E)`` synaptic ops inside each expert."""
    return np.stack([sum(res.counts.per_sample("synaptic_acs", elements=[n]) for n in expert_elements(circuit, e))
                     for e in range(n_experts)], axis=1)


def check_experts(res, x, selected, fixed_point: bool, p: dict) -> bool:
    t_win = reference.first_spike_times(res.spikes["gate.winners"])
    t = np.arange(res.steps)[:, None, None]
    for e in range(p["experts"]):
        meta = expert(e, fixed_point, p).meta["expert"]
        gated = x & selected[None, :, e, None] & (t >= t_win[None, :, e, None] + 1)
        disp = np.zeros_like(x)
        disp[1:] = gated[:-1]
        hid, ops1 = reference.if_layer(disp, np.array(meta["w1"]), meta["vth"], reset=meta["reset"])
        out, ops2 = reference.if_layer(hid, np.array(meta["w2"]), meta["vth"], reset=meta["reset"])
        ok = (np.array_equal(res.spikes[f"expert{e}.hidden"], hid) and np.array_equal(res.spikes[f"expert{e}.out"], out)
              and np.array_equal(res.counts.per_sample("synaptic_acs", elements=[f"expert{e}.w1"]), ops1)
              and np.array_equal(res.counts.per_sample("synaptic_acs", elements=[f"expert{e}.w2"]), ops2))
        if not ok:
            return False
    return True


@scenario("moe-routing", "a spiking gate routes each token to k of E experts; unselected experts do no work",
          PARAMS, check=_check,
          parity={"lava": "same experiment in Loihi fixed point (experts reset to 0), reported as reduced: "
                          "arithmetic", "brian2": "same experiment", "compiled": "same experiment"})
def run(cfg: ScenarioConfig) -> ScenarioOutcome:
    p, fixed = cfg.p, cfg.engine == "lava"     # Lava's LIF has no v_reset/subtract reset: fixed-point variant
    if fixed:
        cfg.reduce("arithmetic", "Loihi fixed point: gate, dispatch and experts with integer weights, experts "
                   "reset to 0 instead of subtracting", "Lava's LIF has no reset by subtraction")
    n_e = p["experts"]
    circuit = build(p["k"], fixed, p)
    need = circuit.meta["moe"]["steps_min"]
    steps = p["steps"] = p["steps"] or need + p["run_after_decision"]
    if steps < need:
        raise ParameterError("scenario 'moe-routing'", "steps", f"is {steps}; the gate needs up to {need} steps.",
                             f"use steps >= {need}.")
    batch = p["batch"]
    y, x = tokens(np.random.default_rng(cfg.seed), batch, steps, p)
    res = simulate(circuit, {"token": x}, steps=steps, engine=cfg.engine, seed=cfg.seed, progress=cfg.progress)
    selected = winners_from_spikes(res.spikes["gate.winners"])
    scores = reference.window_counts(x, 0, p["window"]) @ gate_weights(p).T
    ops = expert_ops(res, circuit, n_e)
    dense_circuit = build(n_e, fixed, p)
    dense = simulate(dense_circuit, {"token": x}, steps=steps, engine=cfg.engine, seed=cfg.seed,
                     progress=cfg.progress)
    dense_ops = expert_ops(dense, dense_circuit, n_e)
    hit = selected[np.arange(batch), y]
    lat = DecisionLatency("first_spikes", dt=res.dt)
    lat(res.spikes["gate.winners"])
    top1 = SelectionAccuracy()
    top1(selected, selection_mask(y, n_e))
    o = Outcome()
    o.check("gate_matches_topk", np.array_equal(selected, reference.topk_with_ties(scores, p["k"])),
            "selected experts == top-k of the integer gate scores (ties kept), every token")
    o.check("unselected_experts_zero_ops", np.all(ops[~selected] == 0),
            "every unselected expert performed exactly 0 synaptic events for that token")
    o.check("experts_match_dense_reference", check_experts(res, x, selected, fixed, p),
            "selected experts' spikes and op counts == dense integrate-and-fire on the dispatched spikes")
    bt = binomial_check(int(hit.sum()), batch, p["class_threshold"])
    o.check("class_expert_selected_ge_threshold", bt["passed"],
            f"one-sided binomial test of class-expert rate >= {p['class_threshold']} on {batch} tokens (alpha 0.01)",
            value=float(hit.mean()), threshold=p["class_threshold"], op=">=", p_value=bt["p_value"],
            min_correct=bt["min_successes"])
    o.check("dense_run_has_all_experts", winners_from_spikes(dense.spikes["gate.winners"]).all(),
            "with k = E every expert is selected for every token")
    routed, full = int(ops.sum()), int(dense_ops.sum())
    o.metric("class_expert_selected", float(hit.mean()), "fraction", "tokens whose class expert is selected")
    o.metric("selection_precision_vs_class", top1.compute()["precision"], "fraction", "precision vs the class")
    o.metric("ties_at_kth", int((~reference.unique_topk(scores, p["k"])).sum()), "tokens", "ties at the k-th score")
    o.metric("experts_per_token", float(selected.sum(axis=1).mean()), "experts", "mean experts selected")
    o.metric("expert_ops_per_token_routed", routed / batch, "ops", "expert synaptic events per token, routed")
    o.metric("expert_ops_per_token_dense", full / batch, "ops", "expert synaptic events per token, k = E")
    o.metric("expert_ops_saving", 1.0 - routed / full if full else None, "fraction", "1 - routed / dense")
    o.metric("total_ops_per_token_routed", res.counts.batch_mean("synaptic_acs"), "ops", "all events, routed")
    o.metric("total_ops_per_token_dense", dense.counts.batch_mean("synaptic_acs"), "ops", "all events, k = E")
    o.metric("gate_latency_steps", lat.compute()["mean_steps"], "steps", "mean first gate winner spike")
    o.metric("gate_latency_s", lat.compute()["mean_s"], "s", "mean gate latency at dt = 1 ms")
    o.per_sample("class_expert_selected", hit)
    o.per_sample("expert_ops", ops.sum(axis=1))
    o.per_sample("synaptic_ops", res.counts.per_sample("synaptic_acs"))
    o.details.update({"tokens": batch, "arithmetic": "loihi fixed point" if fixed else "float",
                      "expert_load": selected.sum(axis=0).tolist(), "binomial": bt})
    figures = _figures(cfg, res, ops, dense_ops) if cfg.figures else []
    return ScenarioOutcome(result=res, outcome=o.to_dict(), figures=figures, circuit=circuit)


def _figures(cfg, res, ops, dense_ops):
    from spikeattn.plots.counts import counts_bar, group_by_prefix
    from spikeattn.plots.common import pyplot, save_figure
    from spikeattn.plots.raster import raster

    n_e, k = cfg.p["experts"], cfg.p["k"]
    names = ["token", "gate.acc", "gate.winners", "open"] + [f"expert{e}.hidden" for e in range(n_e)] + ["out"]
    labels = {"token": "token input", "gate.acc": "gate counters", "gate.winners": "gate winners",
              "open": "dispatch open", "out": "merged output",
              **{f"expert{e}.hidden": f"expert {e} hidden" for e in range(n_e)}}
    y0 = int(np.random.default_rng(cfg.seed).integers(n_e, size=res.batch)[0])
    chosen = ", ".join(str(e) for e in np.nonzero(winners_from_spikes(res.spikes["gate.winners"])[0])[0])
    f1 = raster(res.spikes, cfg.out_dir / "moe_routing_raster.png", sample=0, names=names, labels=labels,
                marks={"gate window ends": cfg.p["window"]},
                title=f"moe-routing, sample 0 of {res.batch} (token class {y0}; experts {chosen} selected; "
                      f"T = {res.steps} steps)")
    f2 = counts_bar(res.counts, cfg.out_dir / "moe_routing_counts.png", group=group_by_prefix,
                    title=f"moe-routing: events per sample (one token each), mean of {res.batch}")
    plt = pyplot("drawing the moe-routing figures")
    fig, ax = plt.subplots(figsize=(6, 3.2))
    xs = np.arange(n_e)
    ax.bar(xs - 0.2, dense_ops.mean(axis=0), 0.4, label="every expert runs (k = E)")
    ax.bar(xs + 0.2, ops.mean(axis=0), 0.4, label=f"routed (k = {k})")
    ax.set_xticks(xs)
    ax.set_xticklabels([f"expert {e}" for e in range(n_e)])
    ax.set_ylabel("synaptic ops per token")
    ax.set_title(f"conditional computation: expert work per token (mean of {res.batch})", fontsize=10)
    ax.set_ylim(0, 1.3 * max(dense_ops.mean(axis=0).max(), 1))
    ax.legend(fontsize=8, loc="upper center", ncol=2)
    return [f1, f2, save_figure(fig, cfg.out_dir / "moe_routing_expert_ops.png")]
