"""Synaptic events per second: the numpy engine vs Brian2 2.9 (runtime and cpp_standalone).

Network: 1000 LIF neurons (du = 0.25, dv = 0.05 per 1 ms step, vth = 1.001), random
recurrent synapses with p = 0.1 (~100k; 80 % excitatory w = 1/64, 20 % inhibitory
w = -5/64), plus one Poisson input per neuron (p = 0.0975 per step = 97.5 Hz, w = 10/64),
tuned to fire at about 24 Hz.  Weights are dyadic, so every engine must produce the very
same spikes; the script checks it.

Measured per engine, in one process, one after another on the same circuit and inputs:
``wall_s`` (everything ``simulate`` does after encoding: lowering, Brian2 code generation /
C++ compilation, the run, reading back, counting), ``run_s`` (the simulation loop alone:
Brian2's network run / the standalone binary; the numpy engine has no separate build, so
its ``run_s`` is its ``wall_s``; with ``--repeats N`` the run with the smallest ``run_s``
is reported and all times are kept), synaptic events (``EventCounts`` ``synaptic_ops``), and
events/s = synaptic events / time.  Ratios are against Brian2 measured in the same run.

    .venv/bin/python benchmarks/bench_events_per_second.py [--duration 2.0] [--profile]

Writes ``benchmarks/results/events_per_second.json`` and ``events_per_second.png``.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import platform
import pstats
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from spikeattn import simulate
from spikeattn.fileio import atomic_savefig, atomic_write_json
from spikeattn.ir import LIF, Circuit

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_HZ = 24.0
INPUT_P = 0.0975      # Poisson spike probability per step (97.5 Hz), tuned for ~24 Hz output
ENGINES = {  # label -> (engine, options)
    "numpy": ("numpy", {}),
    "brian2_runtime": ("brian2", {"device": "runtime"}),
    "brian2_cpp_standalone": ("brian2", {"device": "cpp_standalone"}),
    "brian2_runtime_cython": ("brian2", {"device": "runtime", "codegen_target": "cython"}),
}
DEFAULT_ENGINES = ("numpy", "brian2_runtime", "brian2_cpp_standalone")


def build_network(n: int = 1000, p: float = 0.1, seed: int = 0) -> Circuit:
    """The benchmark circuit (see module docstring)."""
    rng = np.random.default_rng(seed)
    c = Circuit("events_per_second", dt=1e-3)
    c.add_source("poisson", n, encoder="poisson")
    c.add_population("lif", n, LIF(du=0.25, dv=0.05, vth=1.0 + 1e-3))
    mask = rng.random((n, n)) < p
    np.fill_diagonal(mask, False)
    w_e = 1 / 64
    w = np.where(np.arange(n)[None, :] < int(0.8 * n), w_e, -5 * w_e) * mask
    c.connect("lif", "lif", sp.csr_matrix(w), name="recurrent")
    c.connect("poisson", "lif", 10 / 64, name="input")
    return c


def run_one(label: str, circuit: Circuit, inputs: dict, steps: int, seed: int, profile: bool):
    engine, options = ENGINES[label]
    prof = cProfile.Profile() if profile and engine == "numpy" else None
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    r = simulate(circuit, inputs, steps=steps, engine=engine, seed=seed, **options)
    if prof:
        prof.disable()
    outer = time.perf_counter() - t0
    ops = r.counts.totals()["synaptic_ops"]
    wall = r.wall_s
    run_s = float(r.meta.get("run_s", wall))
    row = {"engine": label, "wall_s": wall, "run_s": run_s, "simulate_s": outer,
           "synaptic_events": ops, "events_per_s_wall": ops / wall, "events_per_s_run": ops / run_s,
           "spikes": int(r.counts.total("spikes", kind="population")),
           "rate_hz": float(r.spikes["lif"].mean() / circuit.dt), "meta": r.meta}
    if prof:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(18)
        row["profile_top"] = out.getvalue()
    return row, r


def table(rows: list[dict]) -> str:
    ref = {lab: next((x for x in rows if x["engine"] == lab), None)
           for lab in ("brian2_runtime", "brian2_cpp_standalone")}
    head = (f"{'engine':<24}{'wall s':>9}{'run s':>9}{'syn events':>12}{'ev/s wall':>12}{'ev/s run':>12}"
            f"{'rate Hz':>9}{'x b2rt run':>11}{'x b2cpp run':>12}{'x b2cpp wall':>13}")
    lines = [head, "-" * len(head)]
    for x in rows:
        def ratio(lab, key):
            return f"{x[key] / ref[lab][key]:.2f}" if ref[lab] else "-"
        lines.append(f"{x['engine']:<24}{x['wall_s']:>9.3f}{x['run_s']:>9.3f}{x['synaptic_events']:>12d}"
                     f"{x['events_per_s_wall']:>12.3g}{x['events_per_s_run']:>12.3g}{x['rate_hz']:>9.2f}"
                     f"{ratio('brian2_runtime', 'events_per_s_run'):>11}"
                     f"{ratio('brian2_cpp_standalone', 'events_per_s_run'):>12}"
                     f"{ratio('brian2_cpp_standalone', 'events_per_s_wall'):>13}")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> Path | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.8))
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r["events_per_s_run"] for r in rows], 0.4, label="simulation loop only")
    ax.bar(x + 0.2, [r["events_per_s_wall"] for r in rows], 0.4, label="incl. build / codegen / counting")
    ax.set_xticks(x, [r["engine"] for r in rows])
    ax.set_yscale("log")
    ax.set_ylim(bottom=min(min(r["events_per_s_run"], r["events_per_s_wall"]) for r in rows) / 3)
    ax.set_ylabel("synaptic events / s")
    ax.set_title(f"1000 LIF, ~100k synapses, {rows[0]['rate_hz']:.1f} Hz, "
                 f"{rows[0]['synaptic_events'] / 1e6:.2f} M events")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return atomic_savefig(fig, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=2.0, help="model time in seconds (dt = 1 ms)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--engines", default=",".join(DEFAULT_ENGINES),
                    help=f"comma-separated subset of {list(ENGINES)}")
    ap.add_argument("--repeats", type=int, default=1,
                    help="runs per engine; the fastest (least disturbed) run is reported")
    ap.add_argument("--profile", action="store_true", help="cProfile the numpy engine and print the top")
    ap.add_argument("--out", type=Path, default=RESULTS / "events_per_second.json")
    args = ap.parse_args(argv)
    labels = [e for e in args.engines.split(",") if e]
    bad = [e for e in labels if e not in ENGINES]
    if bad:
        ap.error(f"unknown engines {bad}; choose from {list(ENGINES)}")
    circuit = build_network(seed=args.seed)
    steps = int(round(args.duration / circuit.dt))
    inputs = {"poisson": np.full(circuit.node("poisson").size, INPUT_P)}
    rows, results = [], {}
    for label in labels:
        print(f"running {label} for {steps} steps ...", file=sys.stderr, flush=True)
        runs = [run_one(label, circuit, inputs, steps, args.seed, args.profile and i == 0)
                for i in range(max(args.repeats, 1))]
        row, r = min(runs, key=lambda x: x[0]["run_s"])
        row["all_run_s"] = [x[0]["run_s"] for x in runs]
        row["all_wall_s"] = [x[0]["wall_s"] for x in runs]
        if "profile_top" in runs[0][0]:
            row["profile_top"] = runs[0][0]["profile_top"]
        rows.append(row)
        results[label] = r
    first = results[labels[0]]
    identical = {lab: bool(np.array_equal(first.spikes["lif"], r.spikes["lif"])
                           and first.counts == r.counts) for lab, r in results.items()}
    rate = rows[0]["rate_hz"]
    print(table(rows))
    print(f"\nfiring rate {rate:.2f} Hz (target {TARGET_HZ} Hz); synapses "
          f"{sum(p.synapse_count() for p in circuit.projections.values())}; "
          f"spikes and EventCounts identical to {labels[0]}: {identical}")
    for row in rows:
        if "profile_top" in row:
            print("\nnumpy engine profile (cumulative):\n" + row["profile_top"])
    doc = {"benchmark": "events_per_second", "steps": steps, "dt_s": circuit.dt, "model_time_s": args.duration,
           "seed": args.seed, "repeats": args.repeats, "neurons": 1000, "synapses": {n: p.synapse_count() for n, p in circuit.projections.items()},
           "target_rate_hz": TARGET_HZ, "rate_hz": rate, "rate_ok": abs(rate - TARGET_HZ) < 0.2 * TARGET_HZ,
           "identical_spikes_and_counts": identical,
           "host": {"python": platform.python_version(), "machine": platform.machine(),
                    "processor": platform.processor(), "numpy": np.__version__},
           "rows": [{k: v for k, v in r.items() if k != "profile_top"} for r in rows]}
    atomic_write_json(args.out, doc)
    png = plot(rows, args.out.with_suffix(".png"))
    print(f"\nwrote {args.out}" + (f" and {png}" if png else ""))
    return 0 if doc["rate_ok"] and all(identical.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
