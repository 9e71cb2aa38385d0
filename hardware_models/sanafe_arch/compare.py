"""SANA-FE beside spikeattn's own model: the energy SANA-FE should report, predicted from
spikeattn's EventCounts and the architecture's unit costs, and a term-by-term comparison with
``hardware_models.cost`` (JSON + PNG with :func:`write_comparison`)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from spikeattn.dynamics import fixed_point as fx
from spikeattn.ir import Circuit

from ..cost import cost
from . import arch_costs
from .mapping import placement_map


def sanafe_active_updates(circuit: Circuit, result) -> int:
    """Neuron updates SANA-FE counts as active: ``v[t-1] != 0`` or input arrived at t or bias != 0.

    spikeattn's ``neuron_updates_active`` counts a neuron that carries a value into the step
    after its decays (``u * (1 - du) != 0`` or ``v * (1 - dv) != 0``): it also counts a decaying
    current while v is 0, and skips a non-zero v that ``dv = 1`` clears (memoryless
    coincidence neurons), which SANA-FE counts.  This re-runs the numpy engine on the same
    input spikes with ``v`` probed to count by SANA-FE's rule.  Input arrives ``delay`` steps
    after a spike on any synapse; a neuron model without a bias (e.g. ``LoihiGradedReLU``)
    counts as bias 0."""
    import scipy.sparse as sp

    from spikeattn import simulate
    probed = circuit.copy()
    probed.probes = []
    for src in probed.sources.values():          # replay the encoded spikes as they are
        src.encoder = "spikes"
    for n in probed.populations:
        probed.probe(n, ("v",))
    ref = simulate(probed, {n: result.spikes[n] for n in circuit.sources}, steps=result.steps)
    total = 0
    for n, pop in circuit.populations.items():
        v = ref.probes[n]["v"]
        prev = np.concatenate([np.zeros_like(v[:1]), v[:-1]]) != 0
        got = np.zeros(v.shape, bool)
        for p in circuit.projections.values():
            if p.post != n:
                continue
            pre = (np.asarray(result.spikes[p.pre]) != 0).astype(np.float64)          # (T, B, n_pre)
            structure = sp.csr_matrix(abs(p.weights) != 0).astype(np.float64)        # post x pre
            arrive = np.asarray((structure @ pre.reshape(-1, pre.shape[-1]).T).T)
            arrive = arrive.reshape(pre.shape[:2] + (-1,)) > 0
            d = int(p.delay)
            if d < arrive.shape[0]:
                got[d:] |= arrive[:arrive.shape[0] - d]
        total += int((prev | got | np.broadcast_to(_bias(pop.model) != 0, (pop.size,))).sum())
    return total


def _bias(model) -> np.ndarray:
    """The bias a neuron model adds every step (fixed point: the effective mantissa x 2**exp);
    0 for a model without one."""
    if getattr(model, "fixed_point", False) and hasattr(model, "bias_mant"):
        return np.asarray(fx.effective_bias(model.bias_mant, model.bias_exp))
    return np.asarray(getattr(model, "bias", 0.0))


def predict_from_counts(circuit: Circuit, result, arch: str = "loihi", placement=None) -> dict:
    """SANA-FE's energy terms predicted from spikeattn's own events and the arch's unit costs.

    ``synapse = synaptic_acs * energy_process_spike``;
    ``soma = neurons * steps * energy_access_neuron + neuron_updates_active * energy_update_neuron
    + spikes * energy_spike_out``; ``network = packets * energy_message_out + hops * hop energy``
    where a packet is one (spike, destination core) pair and hops are the mesh distance
    between the tiles (x = tile // mesh height, y = tile % mesh height).  Equal to what
    SANA-FE reports when the lowering maps every spikeattn event one-to-one (tested); for a
    circuit SANA-FE refuses (graded spikes, other neuron models) it is SANA-FE's cost
    equations on the same events and cores."""
    import scipy.sparse as sp
    c = arch_costs(arch)
    cores = placement_map(circuit, placement, arch)
    counts = result.counts
    n_steps = sum(p.size for p in circuit.populations.values()) * counts.steps * counts.batch
    syn = counts.total("synaptic_acs") + counts.total("synaptic_macs")
    active = sanafe_active_updates(circuit, result)
    spikes = counts.total("spikes", kind="population")
    packets = hops_ew = hops_ns = 0
    cpt, h = c["cores_per_tile"], c["mesh_height"]
    for name in circuit.nodes():
        targets = [p for p in circuit.projections.values() if p.pre == name]
        if not targets:
            continue
        s = (np.asarray(result.spikes[name]) != 0).sum(axis=(0, 1)).astype(np.int64)   # spikes per pre neuron
        n_cores = int(max(int(cores[p.post].max()) for p in targets)) + 1
        dst = None                                                          # pre neuron x destination core
        for p in targets:
            w = sp.coo_matrix(abs(p.weights) != 0)                         # post x pre
            m = sp.csr_matrix((np.ones(w.nnz), (w.col, cores[p.post][w.row])), shape=(len(s), n_cores))
            dst = m if dst is None else dst + m
        dst = sp.coo_matrix(dst)
        keep = dst.data > 0
        i, d = dst.row[keep], dst.col[keep]
        src_tile, dst_tile = np.asarray(cores[name])[i] // cpt, d // cpt
        packets += int(s[i].sum())
        hops_ew += int((s[i] * np.abs(dst_tile // h - src_tile // h)).sum())
        hops_ns += int((s[i] * np.abs(dst_tile % h - src_tile % h)).sum())
    terms = {"synapse": syn * c["energy_process_spike"],
             "dendrite": syn * c["energy_update"],
             "soma": n_steps * c["energy_access_neuron"] + active * c["energy_update_neuron"]
             + spikes * c["energy_spike_out"],
             "network": packets * c["energy_message_out"] + hops_ew * c["energy_east_hop"]
             + hops_ns * c["energy_north_hop"]}
    terms["total"] = sum(terms.values())
    return {"energy_j": terms, "events": {"synaptic_ops": syn, "neuron_steps": n_steps, "active_updates": active,
                                          "spikeattn_active_updates": counts.total("neuron_updates_active"),
                                          "spikes": spikes, "packets": packets, "hops_ew": hops_ew,
                                          "hops_ns": hops_ns}, "unit_costs_j": c}


# spikeattn breakdown keys grouped under the SANA-FE term they correspond to
TERM_MAP = {"synapse": ("synaptic", "weight", "all_in"), "soma": ("neuron", "state", "spike"),
            "network": ("routing", "message", "hop"), "dendrite": ("dendrite",)}


def compare_with_model(run, circuit: Circuit, result, hardware: str = "loihi",
                       placement=None, tolerance: float = 0.15) -> dict:
    """SANA-FE's energy beside spikeattn's own model (``hardware_models.cost``), term by term.

    Latencies are for the whole batch, samples one after another (SANA-FE's simulated time
    summed over samples; spikeattn's ``latency_s``).
    Returns ``agree`` (total energies within ``tolerance``), the ratio, a table of
    ``{term: {"sanafe_j", "spikeattn_j", "spikeattn_keys"}}`` and one explanation line per
    term: the events, SANA-FE's unit cost and spikeattn's effective cost per event."""
    if not run.spikes_match:
        return {"comparable": False, "agree": False, "reason": "spikes differ: " + "; ".join(run.mismatches[:3])}
    placement = placement if placement is not None else getattr(run, "placement", None)
    pl_obj = placement if hasattr(placement, "traffic") else None
    # spikeattn's model uses the Placement given (or places the circuit itself); SANA-FE's terms
    # are predicted on the very cores SANA-FE ran with (run.cores, which follow that placement)
    report = cost(result.counts, hardware, circuit=circuit if pl_obj is None else None, placement=pl_obj)
    pred = predict_from_counts(circuit, result, run.arch, placement=run.cores)
    ev, uc = pred["events"], pred["unit_costs_j"]
    table, used = {}, set()
    for term, keys in TERM_MAP.items():
        ks = [k for k in report.breakdown if k not in used and any(s in k for s in keys)]
        used.update(ks)
        table[term] = {"sanafe_j": run.energy_j[term], "spikeattn_j": float(sum(report.breakdown[k] for k in ks)),
                       "spikeattn_keys": ks}
    rest = [k for k in report.breakdown if k not in used]
    table["not_in_sanafe"] = {"sanafe_j": 0.0, "spikeattn_j": float(sum(report.breakdown[k] for k in rest)),
                              "spikeattn_keys": rest}

    def per(x, n):
        return f"{x / n * 1e12:.1f} pJ" if n else "n/a"
    syn, neu = ev["synaptic_ops"], ev["neuron_steps"]
    explain = {
        "synapse": f"{syn} synaptic events: SANA-FE {uc['energy_process_spike'] * 1e12:.1f} pJ each; spikeattn "
                   f"{per(table['synapse']['spikeattn_j'], syn)} each",
        "soma": f"{neu} neuron-steps ({ev['active_updates']} active) and {ev['spikes']} spikes: SANA-FE "
                f"{uc['energy_access_neuron'] * 1e12:.1f} pJ access every step + {uc['energy_update_neuron'] * 1e12:.1f}"
                f" pJ per active update + {uc['energy_spike_out'] * 1e12:.1f} pJ per spike; spikeattn "
                f"{per(table['soma']['spikeattn_j'], neu)} per neuron-step in all",
        "network": f"{ev['packets']} packets, {ev['hops_ew'] + ev['hops_ns']} hops: SANA-FE "
                   f"{uc['energy_message_out'] * 1e12:.1f} pJ per packet + hops; spikeattn "
                   f"{per(table['network']['spikeattn_j'], ev['packets'])} per packet",
        "not_in_sanafe": f"{rest}: SANA-FE has no such term (e.g. static power x modelled run time)",
    }
    total_s, total_m = run.energy_j["total"], report.total_j
    ratio = total_m / total_s if total_s else float("inf")
    dyn_m = total_m - table["not_in_sanafe"]["spikeattn_j"]
    ratio_dyn = dyn_m / total_s if total_s else float("inf")
    for term, row in table.items():
        row["gap_j"] = row["spikeattn_j"] - row["sanafe_j"]
    explain["summary"] = (f"total: spikeattn/SANA-FE = {ratio:.3f}; without the terms SANA-FE does not model "
                          f"({rest}) = {ratio_dyn:.3f}")
    term_ratio = {t: (row["spikeattn_j"] / row["sanafe_j"] if row["sanafe_j"] else None)
                  for t, row in table.items() if t != "not_in_sanafe"}
    return {"comparable": True, "agree": bool(abs(ratio - 1.0) <= tolerance), "ratio": ratio,
            "term_ratio": term_ratio, "placement_matched": pl_obj is not None,
            "agree_dynamic": bool(abs(ratio_dyn - 1.0) <= tolerance), "ratio_dynamic": ratio_dyn,
            "events": ev, "unit_costs_j": uc,
            "sanafe_total_j": total_s, "spikeattn_total_j": total_m,
            "spikeattn_low_j": report.low_j, "spikeattn_high_j": report.high_j,
            "sanafe_within_bounds": bool(report.low_j <= total_s <= report.high_j),
            "sanafe_latency_s": float(sum(run.sim_time_s)), "sanafe_latency_per_sample_s": run.latency_s,
            "spikeattn_latency_s": report.latency_s,
            "latency_ratio": (report.latency_s / sum(run.sim_time_s)) if report.latency_s and sum(run.sim_time_s)
            else None,
            "terms": table, "explanation": explain, "sanafe_predicted_from_counts": pred["energy_j"]}


def write_comparison(comparisons: dict, out_dir, name: str = "sanafe_vs_spikeattn") -> list[Path]:
    """Write ``{label: compare_with_model(...)}`` as JSON and a PNG (+ SVG) bar chart of the terms.

    One group of bars per circuit: SANA-FE's synapse/soma/network terms stacked beside
    spikeattn's; spikeattn's static energy (no SANA-FE counterpart) is written above its bar.
    Returns the paths written."""
    from spikeattn.fileio import atomic_write_bytes
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    js = out_dir / f"{name}.json"
    atomic_write_bytes(js, json.dumps(comparisons, indent=2, default=float).encode())
    paths = [js]
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return paths
    ok = {k: v for k, v in comparisons.items() if v.get("comparable")}
    if not ok:
        return paths
    fig, ax = plt.subplots(figsize=(1.8 + 1.8 * len(ok), 4.4))
    from ..plots import SANAFE_COLOURS as colours
    top = 0.0
    for i, (label, cmp) in enumerate(ok.items()):
        for j, side in enumerate(("sanafe_j", "spikeattn_j")):
            x, bottom = i + (j - 0.5) * 0.38, 0.0
            for term, row in cmp["terms"].items():
                if term == "not_in_sanafe" or row[side] <= 0:
                    continue
                ax.bar(x, row[side] * 1e6, 0.36, bottom=bottom, color=colours.get(term, "#999999"),
                       edgecolor="white", label=term)
                bottom += row[side] * 1e6
            extra = cmp["terms"]["not_in_sanafe"]["spikeattn_j"] * 1e6 if j else 0.0
            ax.text(x, bottom, ("SANA-FE" if j == 0 else "spikeattn") + (f"\n+{extra:.3g} uJ static" if extra else ""),
                    ha="center", va="bottom", fontsize=7)
            top = max(top, bottom)
    ax.set_ylim(0, top * 1.25)
    ax.set_xticks(range(len(ok)))
    ax.set_xticklabels([f"{k}\ndynamic x{v['ratio_dynamic']:.2f}, total x{v['ratio']:.2f}" for k, v in ok.items()],
                       fontsize=8)
    ax.set_ylabel("dynamic energy per run (uJ)")
    ax.set_title("Loihi: SANA-FE (silicon-calibrated) vs spikeattn's model, term by term", fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    ax.legend(uniq.values(), uniq.keys(), fontsize=8, loc="upper left")
    fig.tight_layout()
    from ..plots import save
    png = save(fig, out_dir / f"{name}.png")
    plt.close(fig)
    paths += [png, png.with_suffix(".svg")]
    return paths
