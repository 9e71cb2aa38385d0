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
reset to 0 instead of subtracting; default batch 4, as Lava runs one network per sample).
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

E, D, HIDDEN, D_OUT, K, WINDOW = 4, 16, 16, 8, 2, 8
P_ON, P_OFF = 0.6, 0.1
RUN_AFTER_DECISION = 30
LAVA_BATCH = 4          # Lava runs one network per sample: a smaller default batch


def gate_weights() -> np.ndarray:
    """``(E, D)``: 1 on the ``D / E`` channels of each class."""
    return np.kron(np.eye(E), np.ones((1, D // E)))


def build(k: int = K, fixed_point: bool = False):
    return moe_layer(gate_weights(), lambda e: expert(e, fixed_point), k=k, window=WINDOW,
                     fixed_point=fixed_point, name="moe")


def expert(e: int, fixed_point: bool = False):
    return feedforward_expert(D, HIDDEN, D_OUT, seed=100 + e, fixed_point=fixed_point)


def tokens(rng, batch: int, steps: int):
    y = rng.integers(E, size=batch)
    p = np.where(np.repeat(np.eye(E, dtype=bool)[y], D // E, axis=1), P_ON, P_OFF)
    return y, rng.random((steps, batch, D)) < p[None]


def expert_ops(res, circuit) -> np.ndarray:
    """``(batch, E)`` synaptic ops inside each expert."""
    return np.stack([sum(res.counts.per_sample("synaptic_acs", elements=[n]) for n in expert_elements(circuit, e))
                     for e in range(E)], axis=1)


def check_experts(res, x, selected, fixed_point: bool = False) -> bool:
    t_win = reference.first_spike_times(res.spikes["gate.winners"])
    t = np.arange(res.steps)[:, None, None]
    for e in range(E):
        meta = expert(e, fixed_point).meta["expert"]
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


@scenario("moe-routing", "a spiking gate routes each token to 2 of 4 experts; unselected experts do no work",
          default_steps=75, default_batch=64)
def run(cfg: ScenarioConfig) -> ScenarioOutcome:
    fixed = cfg.engine == "lava"        # Lava's LIF has no v_reset/subtract reset: use the fixed-point variant
    circuit = build(K, fixed)
    need = circuit.meta["moe"]["steps_min"]
    steps = cfg.steps or need + RUN_AFTER_DECISION
    if steps < need:
        raise ParameterError("scenario 'moe-routing'", "steps", f"is {steps}; the gate needs up to {need} steps.",
                             f"use --steps >= {need}.")
    batch = cfg.batch or (LAVA_BATCH if fixed else 64)
    y, x = tokens(np.random.default_rng(cfg.seed), batch, steps)
    res = simulate(circuit, {"token": x}, steps=steps, engine=cfg.engine, seed=cfg.seed, progress=cfg.progress)
    selected = winners_from_spikes(res.spikes["gate.winners"])
    scores = reference.window_counts(x, 0, WINDOW) @ gate_weights().T
    ops = expert_ops(res, circuit)
    dense_circuit = build(E, fixed)
    dense = simulate(dense_circuit, {"token": x}, steps=steps, engine=cfg.engine, seed=cfg.seed)
    dense_ops = expert_ops(dense, dense_circuit)
    hit = selected[np.arange(batch), y]
    lat = DecisionLatency("first_spikes", dt=res.dt)
    lat(res.spikes["gate.winners"])
    top1 = SelectionAccuracy()
    top1(selected, selection_mask(y, E))
    checks = {
        "gate_matches_topk": bool(np.array_equal(selected, reference.topk_with_ties(scores, K))),
        "unselected_experts_zero_ops": bool(np.all(ops[~selected] == 0)),
        "experts_match_dense_reference": check_experts(res, x, selected, fixed),
        "class_expert_selected_ge_0.9": float(hit.mean()) >= 0.9,
        "dense_run_has_all_experts": bool(winners_from_spikes(dense.spikes["gate.winners"]).all()),
    }
    routed, full = int(ops.sum()), int(dense_ops.sum())
    outcome = {
        "passed": all(checks.values()), "checks": checks, "tokens": batch,
        "arithmetic": "loihi fixed point" if fixed else "float",
        "class_expert_selected": float(hit.mean()), "selection_precision_vs_class": top1.compute()["precision"],
        "ties_at_kth": int((~reference.unique_topk(scores, K)).sum()),
        "experts_per_token": float(selected.sum(axis=1).mean()),
        "expert_load": selected.sum(axis=0).tolist(),
        "expert_ops_per_token_routed": routed / batch, "expert_ops_per_token_dense": full / batch,
        "expert_ops_saving": 1.0 - routed / full if full else None,
        "total_ops_per_token_routed": res.counts.batch_mean("synaptic_acs"),
        "total_ops_per_token_dense": dense.counts.batch_mean("synaptic_acs"),
        "gate_latency_steps": lat.compute()["mean_steps"], "gate_latency_s": lat.compute()["mean_s"],
        "task": {"E": E, "D": D, "k": K, "window": WINDOW, "p_on": P_ON, "p_off": P_OFF},
    }
    figures = []
    if cfg.figures:
        figures = _figures(cfg, res, ops, dense_ops)
    return ScenarioOutcome(result=res, outcome=outcome, figures=figures, circuit=circuit)


def _figures(cfg, res, ops, dense_ops):
    from spikeattn.plots.counts import counts_bar, group_by_prefix
    from spikeattn.plots.raster import _pyplot, raster, save_figure

    names = ["token", "gate.acc", "gate.winners", "open"] + [f"expert{e}.hidden" for e in range(E)] + ["out"]
    f1 = raster(res.spikes, cfg.out_dir / "moe_routing_raster.png", sample=0, names=names,
                marks={"gate window end": WINDOW}, title="moe-routing, token 0")
    f2 = counts_bar(res.counts, cfg.out_dir / "moe_routing_counts.png", group=group_by_prefix,
                    title="moe-routing: events per token by motif")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    xs = np.arange(E)
    ax.bar(xs - 0.2, dense_ops.mean(axis=0), 0.4, label="every expert runs (k = E)")
    ax.bar(xs + 0.2, ops.mean(axis=0), 0.4, label=f"routed (k = {K})")
    ax.set_xticks(xs)
    ax.set_xticklabels([f"expert {e}" for e in range(E)])
    ax.set_ylabel("synaptic ops per token")
    ax.set_title("conditional computation: expert work per token", fontsize=10)
    ax.set_ylim(0, 1.3 * max(dense_ops.mean(axis=0).max(), 1))
    ax.legend(fontsize=8, loc="upper center", ncol=2)
    try:
        f3 = save_figure(fig, cfg.out_dir / "moe_routing_expert_ops.png")
    finally:
        plt.close(fig)
    return [f1, f2, f3]
