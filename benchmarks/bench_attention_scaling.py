"""Event counts and wall time of spiking attention versus sequence length N.

Variants (``scenarios.attention_cost``): dense softmax attention (FLOPs of the
formula), Spikformer SSA in both association orders ((QK^T)V: N x N map, Q(K^T V): c x c
map), spike-driven self-attention (SDSA) and sliding-window SSA / SDSA (radius 4).
D = 16 channels, H = 2 heads, T = 4 steps, Bernoulli(0.2) Q/K/V spikes, one sample.

Spiking variants run on the numpy engine's fused path: SSA in closed form (the circuit of
``ssa_attention`` would need 2 H N^2 c + H N^2 neurons: 17 M at N = 1024, so it is not built;
the closed form gives the counts that circuit produces — tests check equality at small N),
SDSA through the fused gather/scatter runner on the built circuit.  For N <= 64 every
spiking variant is also run neuron by neuron (``verified_equal_counts``, and the
neuron-level wall time next to the fused one).  Exponents are least-squares slopes of
log(count) against log(N) over all N measured.

    .venv/bin/python benchmarks/bench_attention_scaling.py [--max-n 4096] [--max-n-quadratic 2048]

Writes ``benchmarks/results/attention_scaling.json``, ``.csv`` and ``.png``.
"""
from __future__ import annotations

import argparse
import csv
import io
import platform
import sys
import time
from pathlib import Path

import numpy as np

from scenarios.attention_cost import FIELDS, VARIANTS, exponents, measure
from spikeattn.fileio import atomic_write_bytes, atomic_write_json
from spikeattn.plots.attention import plot_scaling

RESULTS = Path(__file__).resolve().parent / "results"
VERIFY_MAX_N = 64


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-n", type=int, default=4096, help="largest N for the linear variants")
    ap.add_argument("--max-n-quadratic", type=int, default=2048, help="largest N for SSA (QK^T)V")
    ap.add_argument("--dim", type=int, default=16)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--rate", type=float, default=0.2)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    ns = [16 * 2 ** i for i in range(20) if 16 * 2 ** i <= args.max_n]
    rows = []
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    jobs = [(v, n) for v in VARIANTS for n in ns if not (v == "ssa_qk_v" and n > args.max_n_quadratic)]
    bar = tqdm(total=len(jobs), desc="attention scaling") if tqdm else None
    t_all = time.perf_counter()
    for v, n in jobs:
        row = measure(v, n, args.dim, args.heads, args.steps, args.rate, verify=n <= VERIFY_MAX_N)
        rows.append(row)
        if bar:
            bar.set_postfix_str(f"{v} N={n} {row['wall_s']:.2f}s")
            bar.update(1)
    if bar:
        bar.close()
    exp = {f: exponents(rows, f) for f in ("synaptic_ops", "neuron_updates_active", "spikes", "messages")}
    exp_wall = {v: float(np.polyfit(np.log([r["n"] for r in rows if r["variant"] == v and r["n"] >= 128]),
                                    np.log([max(r["wall_s"], 1e-6) for r in rows if r["variant"] == v
                                            and r["n"] >= 128]), 1)[0])
                for v in VARIANTS[1:] if sum(r["variant"] == v and r["n"] >= 128 for r in rows) >= 2}
    verified = [r for r in rows if "verified_equal_counts" in r]
    doc = {"benchmark": "attention_scaling", "settings": vars(args) | {"out": str(args.out), "n": ns},
           "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                       "numpy": np.__version__},
           "exponents": exp, "wall_time_exponents_n_ge_128": exp_wall,
           "all_verified_equal": all(r["verified_equal_counts"] for r in verified),
           "verified_runs": len(verified), "total_wall_s": time.perf_counter() - t_all, "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out / "attention_scaling.json", doc)
    keys = ["variant", "n", "dim", "heads", "steps", "rate", "method", "neurons", "flops", "dense_flops",
            *FIELDS, "wall_s", "neuron_level_wall_s", "verified_equal_counts"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    atomic_write_bytes(args.out / "attention_scaling.csv", buf.getvalue().encode())
    series = {}
    for v in VARIANTS:
        sel = [r for r in rows if r["variant"] == v]
        key = "flops" if v == "dense" else "synaptic_ops"
        series["dense (FLOPs)" if v == "dense" else v] = ([r["n"] for r in sel], [r[key] for r in sel],
                                                          exp["synaptic_ops"].get(v))
    plot_scaling(series, args.out / "attention_scaling.png",
                 title=f"attention cost vs N (D={args.dim}, H={args.heads}, T={args.steps}, rate={args.rate})",
                 ylabel="synaptic ops per inference (spiking) / FLOPs (dense)")
    print("fitted exponents (log-log least squares over N =", ns, ")")
    for f, e in exp.items():
        print(f"  {f:24s} " + "  ".join(f"{v}={x:.3f}" for v, x in e.items()))
    print("  wall time (N >= 128)     " + "  ".join(f"{v}={x:.2f}" for v, x in exp_wall.items()))
    print(f"fused == neuron-level counts in all {len(verified)} checked runs: {doc['all_verified_equal']}")
    print(f"total {doc['total_wall_s']:.1f} s; wrote {args.out / 'attention_scaling.json'} (.csv, .png)")
    return 0 if doc["all_verified_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
