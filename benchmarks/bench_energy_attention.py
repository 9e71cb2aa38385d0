"""Energy of one SDSA attention circuit on every hardware model, with the comparisons a
reviewer asks for (issue 9).

1. Per model: dynamic energy beside dynamic + static, the 5-95 % Monte Carlo interval, latency
   (the circuit with synaptic delays, as it would be deployed; the literature formula beside).
2. SANA-FE (silicon-calibrated Loihi) on the *same placement* as spikeattn's model, term by
   term: synapse, soma, network, dynamic, total and latency ratios.  SANA-FE has only delay-1
   synapses, so this comparison uses the relay version of the circuit (delays built from relay
   neurons), costed by both tools; section 1 does not.
3. Batch axis: energy per inference against batch (1 .. 4096) and the crossover batch at which
   each GPU overtakes each chip.
4. The three GPU baselines (softmax; the same SDSA algorithm dense over T steps; a
   ceil(log2(T+1))-bit quantised ANN) and the Eyeriss-style ANN accelerator, per inference at
   batch 1, 64 and 1024, beside Loihi.
5. With a CUDA GPU present: NVML-measured energy beside modelled at batch 1, 64 and 1024.

Usage: ``python benchmarks/bench_energy_attention.py [--tokens 32] [--dim 16] [--steps 16]``.
Writes ``benchmarks/results/energy_attention.json`` and ``energy_attention_batch.png/.svg``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import hardware_models as hm
import spikeattn as sa
from hardware_models.baselines import matched_baselines
from hardware_models.batching import batch_study
from hardware_models.uncertainty import monte_carlo
from spikeattn.circuits.attention import sdsa_attention
from spikeattn.fileio import atomic_write_json

CHIPS = ["loihi", "loihi2", "truenorth", "spinnaker2", "asic45nm", "cpu"]
GPUS = ["h100", "a100", "jetson_orin"]


def iv(x):
    return f"[{x['p5']:.2e}, {x['p95']:.2e}]" if x else "n/a"


def section_models(circuit, result, lit):
    from hardware_models.baseline import dense_gpu_report
    print(f"{'model':<12} {'dynamic J':>10} {'dyn+static J':>12} {'5-95 % total':>22} {'latency s':>10} "
          f"{'/ literature':>12}  largest terms")
    rows = {}
    for name in CHIPS + GPUS:
        hw = hm.get(name)
        if hw.kind == "gpu":
            r = dense_gpu_report(circuit, result.counts, name)
            from hardware_models.uncertainty import dense_samples
            from hardware_models.dense_equivalent import dense_workload
            mc = dense_samples(dense_workload(circuit, result.steps, result.batch), name)
        else:
            r = hm.cost(result.counts, name, circuit=circuit)
            mc = monte_carlo(result.counts, name, circuit=circuit)
        top = sorted(r.breakdown.items(), key=lambda kv: -kv[1])[:2]
        lat = "n/a" if r.latency_s is None else f"{r.latency_s:.3e}"
        rows[name] = {"dynamic_j": r.dynamic_j, "total_j": r.total_j, "interval_total_j": mc["total_j"],
                      "interval_dynamic_j": mc["dynamic_j"], "latency_s": r.latency_s,
                      "ratio_to_literature": r.total_j / lit if lit else None, "top_terms": top}
        print(f"{name:<12} {r.dynamic_j:>10.3e} {r.total_j:>12.3e} {iv(mc['total_j']):>22} {lat:>10} "
              f"{r.total_j / lit:>12.1f}  " + ", ".join(f"{k} {v:.2e}" for k, v in top))
    return rows


def section_sanafe(n, d, T, B, rate):
    try:
        from hardware_models.placement import place
        from hardware_models.sanafe_engine import compare_with_model, run_sanafe
    except ImportError as exc:
        print(f"SANA-FE not available: {exc}")
        return {"error": str(exc)}
    circuit = sdsa_attention(n, d, delay_mode="relay")
    rng = np.random.default_rng(0)
    res = sa.simulate(circuit, {p: rng.random((T, B, n * d)) < rate for p in ("q", "k", "v")}, steps=T)
    pl = place(circuit, "loihi", res)
    out = {}
    print(f"{'placement':<22} {'synapse':>8} {'soma':>8} {'network':>8} {'dynamic':>8} {'total':>8} {'latency':>8}"
          "   (spikeattn / SANA-FE)")
    for label, placement in (("matched (spikeattn's)", pl), ("SANA-FE fill_cores", None)):
        run = run_sanafe(circuit, result=res, placement=placement)
        cmp = compare_with_model(run, circuit, res, "loihi", placement=placement)
        tr = cmp["term_ratio"]
        print(f"{label:<22} {tr['synapse']:>8.3f} {tr['soma']:>8.3f} {tr['network']:>8.3f} "
              f"{cmp['ratio_dynamic']:>8.3f} {cmp['ratio']:>8.3f} {cmp['latency_ratio']:>8.3f}")
        out[label] = {"spikes_match": run.spikes_match, "term_ratio": tr, "ratio_dynamic": cmp["ratio_dynamic"],
                      "ratio_total": cmp["ratio"], "latency_ratio": cmp["latency_ratio"],
                      "sanafe_total_j": cmp["sanafe_total_j"], "spikeattn_total_j": cmp["spikeattn_total_j"],
                      "sanafe_latency_s": cmp["sanafe_latency_s"], "spikeattn_latency_s": cmp["spikeattn_latency_s"],
                      "placement_matched": cmp["placement_matched"]}
    print("  total differs by spikeattn's static power (SANA-FE models none); dynamic is the like-for-like figure")
    return out


def section_batches(circuit, result, out_dir):
    st = batch_study(circuit, result.counts, ["loihi", "loihi2", "truenorth", "spinnaker2"] + GPUS,
                     batches=[2 ** k for k in range(13)], n=2000)
    print(f"{'chip':<12} " + " ".join(f"{g:>22}" for g in GPUS) + "   (crossover batch: total / dynamic only)")
    for chip, per in st["crossover_batch"].items():
        cells = [f"{str(per[g]['total']):>10} / {str(per[g]['dynamic']):<9}" for g in GPUS]
        print(f"{chip:<12} " + " ".join(f"{c:>22}" for c in cells))
    try:
        from hardware_models.plots_batch import batch_chart
        st["figures"] = [str(p) for p in batch_chart(st, out_dir / "energy_attention_batch.png")]
    except sa.SpikeattnError as exc:           # matplotlib missing
        st["figures"] = [f"not drawn: {exc}"]
    return st


def section_baselines(circuit, result):
    loihi = hm.cost(result.counts, "loihi", circuit=circuit)
    per_l = loihi.total_j / result.batch
    print(f"Loihi (spiking circuit): {loihi.dynamic_j / result.batch:.3e} J dynamic, {per_l:.3e} J dynamic + static "
          "per inference (flat in batch)")
    print(f"{'baseline':<18} {'batch':>6} {'dynamic J/inf':>13} {'total J/inf':>12} {'Loihi / this':>12}  what it is")
    out = {}
    for b in (1, 64, 1024):
        reps = matched_baselines(circuit, result.steps, b, "h100")
        for k, r in reps.items():
            tot = r.total_j / b
            out.setdefault(k, {})[b] = {"dynamic_j": r.dynamic_j / b, "total_j": tot, "latency_s": r.latency_s,
                                        "label": r.meta["baseline"]["label"]}
            where = "h100" if r.meta.get("kind") == "gpu" else "eyeriss"
            print(f"{k:<18} {b:>6} {r.dynamic_j / b:>13.3e} {tot:>12.3e} {per_l / tot:>12.3g}  "
                  f"[{where}] {r.meta['baseline']['label']}")
    return out


def section_nvml(circuit, steps):
    try:
        import torch
        if not torch.cuda.is_available():
            raise RuntimeError("no CUDA device")
        from hardware_models.gpu import measure_batches
    except Exception as exc:   # noqa: BLE001 - report and go on: the measurement is optional
        print(f"NVML measurement not run: {exc}")
        return {"ran": False, "why": str(exc)}
    rows = measure_batches(circuit, "h100", (1, 64, 1024), steps)
    for r in rows:
        m = r["measured"]
        print(f"batch {r['batch']:>5}: measured {m['energy_j']['median']:.3e} J/pass (dynamic "
              f"{m['dynamic_j']['median']:.3e}, idle {m['idle_w']:.1f} W, {m['trials']} trials), modelled "
              f"{r['modelled']['total_j']:.3e} J ({r['modelled']['dynamic_j']:.3e} dynamic)")
    return {"ran": True, "rows": rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--dim", type=int, default=16)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--rate", type=float, default=0.2, help="Q/K/V spike probability per step")
    args = ap.parse_args()
    n, d, T, B = args.tokens, args.dim, args.steps, args.batch
    out_dir = Path(__file__).resolve().parent / "results"
    rng = np.random.default_rng(0)
    circuit = sdsa_attention(n, d)
    qkv = {p: rng.random((T, B, n * d)) < args.rate for p in ("q", "k", "v")}
    result = sa.simulate(circuit, qkv, steps=T)
    totals = result.counts.totals()
    lit = hm.literature_energy(totals["synaptic_macs"], totals["synaptic_acs"])
    print(f"SDSA {n} tokens x {d} channels, T = {T}, batch {B}, synaptic delays: {totals['synaptic_acs']:,} ACs, "
          f"{totals['spikes']:,} spikes, {totals['neuron_updates_active']:,} active updates")
    print(f"literature formula (4.6 pJ/MAC, 0.9 pJ/AC): {lit:.3e} J for the whole batch\n")
    print("== 1. every model (whole batch; interval: 5-95 % Monte Carlo per constant)")
    models = section_models(circuit, result, lit)
    print("\n== 2. SANA-FE agreement (relay-delay circuit, both tools; ratios spikeattn / SANA-FE)")
    peers = section_sanafe(n, d, T, B, args.rate)
    print("\n== 3. crossover batch: smallest batch at which the GPU's energy per inference <= the chip's")
    batches = section_batches(circuit, result, out_dir)
    print("\n== 4. algorithm-matched baselines, per inference")
    baselines = section_baselines(circuit, result)
    print("\n== 5. NVML")
    nvml = section_nvml(circuit, T)
    out = out_dir / "energy_attention.json"
    atomic_write_json(out, {"circuit": {"kind": "sdsa", "tokens": n, "dim": d, "steps": T, "batch": B,
                                        "rate": args.rate, "delay_mode": "synaptic"}, "counts": totals,
                            "literature_j": lit, "models": models, "sanafe": peers, "batch_study": batches,
                            "baselines": baselines, "nvml": nvml})
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
