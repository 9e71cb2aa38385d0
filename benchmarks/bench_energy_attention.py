"""Energy of one spiking attention circuit on every hardware model, next to its peers.

An SDSA circuit (relay delays, so SANA-FE can run it) on random Q/K/V spike trains:
for each neuromorphic / ASIC / CPU model the literature formula (E_MAC*MACs + E_AC*ACs at
4.6 / 0.9 pJ) beside spikeattn's full model (total with low-high bounds and its largest
terms); SANA-FE (silicon-calibrated) on its Loihi and TrueNorth architectures; the dense
equivalent on the GPUs; and the crossover spike rate against the H100.

Usage: ``python benchmarks/bench_energy_attention.py [--tokens 32] [--dim 16] [--steps 16]``.
Writes ``benchmarks/results/energy_attention.json``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import hardware_models as hm
import spikeattn as sa
from hardware_models.cli import energy_block
from spikeattn.circuits.attention import sdsa_attention
from spikeattn.fileio import atomic_write_json

CHIPS = ["loihi", "loihi2", "truenorth", "spinnaker2", "asic45nm", "cpu"]
GPUS = ["h100", "a100", "jetson_orin"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--dim", type=int, default=16)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--rate", type=float, default=0.2, help="Q/K/V spike probability per step")
    args = ap.parse_args()
    n, d, T, B = args.tokens, args.dim, args.steps, args.batch
    rng = np.random.default_rng(0)
    circuit = sdsa_attention(n, d, delay_mode="relay")
    qkv = {p: rng.random((T, B, n * d)) < args.rate for p in ("q", "k", "v")}
    result = sa.simulate(circuit, qkv, steps=T)
    totals = result.counts.totals()
    lit = hm.literature_energy(totals["synaptic_macs"], totals["synaptic_acs"])
    block = energy_block(circuit, result, ["literature"] + CHIPS + GPUS)
    print(f"SDSA {n} tokens x {d} channels, T = {T}, batch {B}: {totals['synaptic_acs']:,} ACs, "
          f"{totals['spikes']:,} spikes, {totals['neuron_updates_active']:,} active updates")
    print(f"literature formula (4.6 pJ/MAC, 0.9 pJ/AC): {lit:.3e} J for the whole batch\n")
    print(f"{'model':<12} {'total J':>10} {'low J':>10} {'high J':>10} {'/ literature':>12}  largest terms")
    rows = {}
    for name in CHIPS + GPUS:
        r = block[name]
        top = sorted(r["breakdown"].items(), key=lambda kv: -kv[1])[:3]
        rows[name] = {"total_j": r["total_j"], "low_j": r["low_j"], "high_j": r["high_j"],
                      "ratio_to_literature": r["total_j"] / lit if lit else None, "top_terms": top}
        print(f"{name:<12} {r['total_j']:>10.3e} {r['low_j']:>10.3e} {r['high_j']:>10.3e} "
              f"{r['total_j'] / lit:>12.1f}  " + ", ".join(f"{k} {v:.2e}" for k, v in top))
    sens = {k: v["crossover_rate_at_T0"] for k, v in block.get("sensitivity", {}).items()}
    print(f"\nmeasured spike rate {next(iter(block['sensitivity'].values()))['rate0']:.4f} per neuron per step; "
          "crossover rate against the first GPU (h100), same T:")
    for k, v in sens.items():
        print(f"  {k:<12} {'never wins' if v is None else f'{v:.4f}'}")
    peers = {}
    try:
        from hardware_models.sanafe_engine import run_sanafe
        from hardware_models.sanafe_arch.compare import compare_with_model
        for arch in ("loihi", "truenorth"):
            try:
                run = run_sanafe(circuit, result=result, arch=arch)
                cmp = compare_with_model(run, circuit, result, "loihi" if arch == "loihi" else "truenorth")
                peers[arch] = {"sanafe_total_j": run.energy_j["total"], "spikes_match": run.spikes_match,
                               "ratio_spikeattn_over_sanafe": cmp.get("ratio"),
                               "terms": {k: v for k, v in run.energy_j.items()}}
                print(f"SANA-FE {arch}: {run.energy_j['total']:.3e} J (spikes match: {run.spikes_match}); "
                      f"spikeattn/SANA-FE total ratio {cmp.get('ratio')}")
            except sa.SpikeattnError as exc:
                peers[arch] = {"refused": str(exc)}
                print(f"SANA-FE {arch}: refused: {exc}")
    except ImportError as exc:
        peers["error"] = f"sanafe not installed: {exc}"
        print(peers["error"])
    out = Path(__file__).resolve().parent / "results" / "energy_attention.json"
    atomic_write_json(out, {"circuit": {"kind": "sdsa", "tokens": n, "dim": d, "steps": T, "batch": B,
                                        "rate": args.rate}, "counts": totals, "literature_j": lit,
                            "models": rows, "crossover_rate_vs_h100": sens, "sanafe": peers})
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
