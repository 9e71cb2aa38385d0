"""Synaptic events per second of the plain LIF network on every peer, measured in one run.

Network and input: :mod:`lif_network` (1000 LIF neurons, ~100k synapses, Poisson drive,
about 24 Hz, 10,000 steps of 0.1 ms; batch 1 and 32, one shared input array).  Peers
(:mod:`lif_peers`, each measurement in a fresh worker process, so its peak RSS is its own):
spikeattn numpy, spikeattn compiled (warm: after a warm-up call; first call: a fresh
process with the numba cache that ``make demo`` / ``make test`` leave; cold: the first call
in a fresh process with an empty ``NUMBA_CACHE_DIR``, i.e. including the JIT compile), the
numba floor (:mod:`lif_floor`, a short event-driven loop written for speed only),
Brian2 2.9 runtime (numpy target), cython and cpp_standalone (batch B = B copies in one
Brian2 network; "sim" = Brian2's own loop time, "wall" includes code generation / build),
snnTorch (dense per step, float64, 1 thread), and Lava 0.10 CPU ``fixed_pt`` per step at
100 and 1000 neurons (:mod:`lava_worker`, a hand-written minimal Lava network run in
``.venv-lava``; a few hundred steps are timed and the time per step is extrapolated,
against spikeattn's engines on the same fixed-point network for 10,000 steps).

Times are medians of ``--repeats`` (default 3) calls; the slowest peers may get fewer
(``--slow-repeats``), and the table says how many each row used.  events/s = synaptic
events (spikes x fan-out + input spikes, equal to ``EventCounts`` ``synaptic_ops``) /
time.  Every float peer must produce spikes identical to the numpy engine (same raster
digest); Lava's final ``u`` and ``v`` must equal spikeattn's fixed-point run.

The targets' ratios (compiled against cpp_standalone and against the numba floor,
simulation alone) come from a separate measurement that interleaves the three peers round
by round (``--ratio-rounds``, :func:`_interleaved_ratios`), so that the load of a shared
machine drifts between rounds rather than between peers.  Every table is printed with the
CPU model, core count, SIMD flags and load average (``common.host_line``).

    .venv/bin/python benchmarks/bench_events_per_second.py [--quick] [--steps N] [--repeats R]

Writes ``benchmarks/results/events_per_second.json``, ``.csv`` and ``.png``.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

import common
import lif_network as net

HERE = Path(__file__).resolve().parent
LAVA_PY = common.ROOT / ".venv-lava" / "bin" / "python"
LABELS = {"numpy": "spikeattn numpy", "compiled": "spikeattn compiled (warm)",
          "compiled_cold": "spikeattn compiled (incl. JIT compile)",
          "compiled_first": "spikeattn compiled (first call, shipped cache)", "numba_floor": "numba floor loop", "brian2_numpy": "Brian2 runtime (numpy)",
          "brian2_cython": "Brian2 runtime (cython)", "brian2_cpp": "Brian2 cpp_standalone",
          "snntorch": "snnTorch dense (1 thread)", "numpy_fixed": "spikeattn numpy fixed_pt",
          "compiled_fixed": "spikeattn compiled fixed_pt", "lava": "Lava 0.10 CPU fixed_pt"}
FLOAT_PEERS = ("numpy", "compiled", "numba_floor", "compiled_first", "compiled_cold", "brian2_numpy", "brian2_cython",
               "brian2_cpp", "snntorch")
SLOW = {("brian2_cpp", 32), ("snntorch", 32), ("brian2_numpy", 32)}
COLUMNS = [("peer", "label", ""), ("B", "batch", "d"), ("N", "neurons", "d"), ("steps", "steps", "d"),
           ("rep", "repeats", "d"), ("wall s", "wall_s", ".3g"), ("sim s", "sim_s", ".3g"),
           ("ms/step", "ms_per_step", ".3g"), ("ev/s wall", "events_per_s_wall", ".3g"),
           ("ev/s sim", "events_per_s_sim", ".3g"), ("peak MiB", "peak_rss_mib", ".0f"),
           ("Hz", "rate_hz", ".1f"), ("same spikes", "agrees", ""), ("compiled x", "compiled_x", ".3g"),
           ("numpy x", "numpy_x", ".3g")]


def measure(peer: str, batch: int, steps: int, repeats: int, n: int = 1000, env: dict | None = None) -> dict:
    spec = {"peer": peer, "batch": batch, "steps": steps, "repeats": repeats, "n": n}
    worker = "lif_floor.py" if peer == "numba_floor" else "lif_peers.py"
    out = common.run_worker([sys.executable, str(HERE / worker), common.json.dumps(spec)], env=env)
    return {**spec, **out}


def measure_cold(batch: int, steps: int, repeats: int, peer: str = "compiled_cold") -> dict:
    """``repeats`` fresh processes, each timing its first call: with an empty numba cache
    (``compiled_cold``), or with the cache that ``make demo`` / ``make test`` leave
    (``compiled_first``: what a new user's first simulation costs after set-up)."""
    runs = []
    for _ in range(repeats):
        if peer == "compiled_first":
            runs.append(measure("compiled_cold", batch, steps, 1))
            continue
        with tempfile.TemporaryDirectory(prefix="numba_cache_") as cache:
            runs.append(measure("compiled_cold", batch, steps, 1, env={"NUMBA_CACHE_DIR": cache}))
    ok = [r for r in runs if "times_s" in r]
    if not ok:
        return runs[0]
    best = dict(ok[0])
    best["times_s"] = [r["times_s"][0] for r in ok]
    best["run_times_s"] = [r["run_times_s"][0] for r in ok]
    best["peak_rss_mib"] = max(r["peak_rss_mib"] for r in ok)
    best["repeats"] = len(ok)
    return best


def measure_lava(n: int, warm: int, timed: int, seed: int = 0) -> dict:
    """Lava per step, and whether its final state equals spikeattn's fixed-point run."""
    row = {"peer": "lava", "batch": 1, "neurons": n, "steps": timed, "repeats": 1}
    if not LAVA_PY.exists():
        return {**row, "unavailable": f"{LAVA_PY} not found (make venv-lava)"}
    from spikeattn import simulate

    spikes = net.poisson_input(n, warm + timed, 1, seed)
    c = net.build_fixed(n, seed)
    with tempfile.TemporaryDirectory(prefix="lava_job_") as tmp:
        job = Path(tmp) / "job.npz"
        f = net.FIXED
        np.savez(job, w_rec=c.projections["recurrent"].weights.toarray(), w_in=np.full(n, f["w_in"]), du=f["du"],
                 dv=f["dv"], vth=f["vth"], spikes=spikes[:, 0], warm_steps=warm, timed_steps=timed)
        out = common.run_worker([str(LAVA_PY), str(HERE / "lava_worker.py"), str(job)], timeout=900)
    if "error" in out:
        return {**row, **out}
    c.probe("lif", ("u", "v"))
    ref = simulate(c, {"poisson": spikes}, steps=warm + timed, engine="numpy")
    same = (np.array_equal(ref.probes["lif"]["u"][-1, 0], out["u"])
            and np.array_equal(ref.probes["lif"]["v"][-1, 0], out["v"]))
    events = int(sum(ref.counts.elements[p].fields[f][warm:].sum() for p in ("recurrent", "input")
                     for f in ("synaptic_acs", "synaptic_macs")))
    spk = ref.spikes["lif"][warm:]
    return {**row, "times_s": [out["run_s"]], "sim_times_s": [out["run_s"]], "synaptic_events": events,
            "spikes": int(spk.sum()), "agrees": "final u,v equal" if same else "DIFFERENT u,v",
            "first_run_s": out["first_run_s"], "peak_rss_mib": out.get("peak_rss_mib"),
            "note": f"{timed} steps timed after {warm} warm-up steps; per step extrapolated"}


def finish(row: dict, dt: float, ref: dict) -> dict:
    """Medians, events/s and agreement with the numpy row of the same batch (``ref``)."""
    if "times_s" not in row:
        return row
    wall = common.summary(row["times_s"])["median_s"]
    sims = [x for x in row.get("sim_times_s", row.get("run_times_s", [])) if x == x]
    sim = common.summary(sims)["median_s"] if sims else wall
    ev = row["synaptic_events"]
    row.update({"wall_s": wall, "sim_s": sim, "ms_per_step": 1e3 * sim / row["steps"],
                "events_per_s_wall": ev / wall, "events_per_s_sim": ev / sim, "repeats": len(row["times_s"]),
                "rate_hz": row["spikes"] / (row["batch"] * row["neurons"] * row["steps"] * dt)})
    if row.get("events_from_spikes", ev) != ev:
        row["agrees"] = f"DIFFERENT: EventCounts {ev} != spikes x fan-out {row['events_from_spikes']}"
    elif ref is row:
        row["agrees"] = "reference"
    elif "agrees" not in row and ref and "digest" in ref:
        if row.get("digest") == ref["digest"]:
            row["agrees"] = "identical"
        else:
            row["agrees"] = f"spikes {100 * (row['spikes'] / ref['spikes'] - 1):+.2f}%"
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1000 steps, batch 1 and 4 (cpp_standalone and the JIT-compile run at batch 1 "
                         "only, one repeat)")
    ap.add_argument("--steps", type=int, default=None, help="steps of 0.1 ms (default 10000; quick 1000)")
    ap.add_argument("--batches", default=None, help="comma-separated batch sizes (default 1,32; quick 1,4)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--slow-repeats", type=int, default=None,
                    help=f"repeats for the slowest peers {sorted(SLOW)} (and quick: brian2_cpp); default "
                         "3, quick 1; the table states each row's repeats")
    ap.add_argument("--peers", default=",".join(FLOAT_PEERS + ("lava",)))
    ap.add_argument("--lava-steps", type=int, default=None, help="Lava steps timed (default 500; quick 100)")
    ap.add_argument("--ratio-rounds", type=int, default=None,
                    help="rounds of the interleaved compiled / numba floor / cpp_standalone ratio measurement "
                         "(default 5, quick 2; 0: none)")
    ap.add_argument("--out", type=Path, default=common.RESULTS)
    args = ap.parse_args(argv)
    steps = args.steps or (1000 if args.quick else 10000)
    batches = [int(b) for b in (args.batches or ("1,4" if args.quick else "1,32")).split(",")]
    lava_steps = args.lava_steps or (100 if args.quick else 500)
    if args.slow_repeats is None:
        args.slow_repeats = 1 if args.quick else 3
    if args.ratio_rounds is None:
        args.ratio_rounds = 2 if args.quick else 5
    peers = [p for p in args.peers.split(",") if p]
    bad = sorted(set(peers) - set(FLOAT_PEERS) - {"lava"})
    if bad:
        ap.error(f"unknown peers {bad}; choose from {list(FLOAT_PEERS) + ['lava']}")
    rows = []
    jobs = [(p, b) for b in batches for p in FLOAT_PEERS if p in peers]
    # first calls (fresh process) at the smallest batch only; the smoke run builds C++ at batch 1 only
    jobs = [(p, b) for p, b in jobs if b == min(batches) or p not in ("compiled_cold", "compiled_first")]
    if args.quick:
        jobs = [(p, b) for p, b in jobs if b == min(batches) or p != "brian2_cpp"]
    host_before = common.host_info()
    for peer, b in common.progress(jobs, desc="LIF peers"):
        slow = (peer, 32) in SLOW and b >= 32 or (args.quick and peer == "brian2_cpp")
        reps = args.slow_repeats if slow else args.repeats
        common.log(f"[events/s] {LABELS[peer]}, batch {b}, {steps} steps, {reps} repeats ...")
        if peer in ("compiled_cold", "compiled_first"):
            row = measure_cold(b, steps, 1 if args.quick else reps, peer)
            row["peer"] = peer
        else:
            row = measure(peer, b, steps, reps)
        rows.append({**row, "label": LABELS[peer], "neurons": 1000})
    rounds = _interleaved_ratios(batches, steps, args.ratio_rounds, peers)
    if "lava" in peers:
        for n in (100, 1000):
            for peer in ("numpy_fixed", "compiled_fixed"):
                common.log(f"[events/s] {LABELS[peer]}, N={n}, {steps} steps ...")
                rows.append({**measure(peer, 1, steps, args.repeats, n), "label": f"{LABELS[peer]} N={n}",
                             "neurons": n})
            common.log(f"[events/s] Lava fixed_pt N={n}, {lava_steps} steps ...")
            rows.append({**measure_lava(n, 50, lava_steps), "label": f"{LABELS['lava']} N={n}"})
    refs = {}
    for r in rows:
        if r["peer"] in ("numpy", "numpy_fixed") and "times_s" in r:
            refs[(r["peer"] == "numpy_fixed", r["batch"], r["neurons"])] = r
    for r in rows:
        fixed = r["peer"] in ("numpy_fixed", "compiled_fixed", "lava")
        finish(r, net.DT, refs.get((fixed, r["batch"], r["neurons"])))
    _ratios(rows)
    targets = _targets(rows, rounds)
    host = common.host_info()
    print(_render(rows, steps))
    print(f"measured on {common.host_line(host_before)} at the start, {host['load_avg'][0]:.2f} at the end")
    if rounds:
        print("\n" + _render_rounds(rounds))
    print("\nTargets (plain LIF):\n" + common.format_targets(targets))
    print(common.host_line(host))
    doc = {"benchmark": "events_per_second", "steps": steps, "dt_s": net.DT, "batches": batches,
           "repeats": args.repeats, "slow_repeats": args.slow_repeats, "host": host, "host_at_start": host_before,
           "ratio_rounds": rounds,
           "network": {"neurons": 1000, "synapses": int(net.recurrent_weights().nnz) + 1000,
                       "target_rate_hz": net.TARGET_HZ, "p_in": net.P_IN},
           "rows": rows, "targets": targets}
    paths = common.write_results("events_per_second", doc, rows, [k for _, k, _ in COLUMNS] + ["peer", "error"],
                                 args.out)
    shown = [r for r in rows if r.get("events_per_s_sim")]
    png = common.bar_plot(args.out / "events_per_second.png", [f"{r['label']} B={r['batch']}" for r in shown],
                          {"simulation": [r["events_per_s_sim"] for r in shown],
                           "wall (incl. build / compile)": [r["events_per_s_wall"] for r in shown]},
                          "synaptic events / s", f"plain LIF, {steps} steps of 0.1 ms, medians")
    print(f"\nwrote {', '.join(str(p) for p in paths)}" + (f", {png}" if png else ""))
    bad_rows = [r["label"] for r in rows if str(r.get("agrees", "")).startswith(("spikes", "DIFF"))]
    if bad_rows:
        print(f"DISAGREEING PEERS: {bad_rows}")
    return 1 if bad_rows else 0


def _ratios(rows: list[dict]) -> None:
    """compiled x / numpy x: how many times the warm compiled (numpy) engine's events/s
    (simulate wall) exceeds this row's simulation-alone events/s, same batch and size."""
    for ref_peer, key in (("compiled", "compiled_x"), ("numpy", "numpy_x")):
        for r in rows:
            fixed = r["peer"] in ("numpy_fixed", "compiled_fixed", "lava")
            want = ref_peer + ("_fixed" if fixed else "")
            ref = next((x for x in rows if x["peer"] == want and x["batch"] == r["batch"]
                        and x["neurons"] == r["neurons"] and x.get("events_per_s_wall")), None)
            if ref and r.get("events_per_s_sim") and ref is not r:
                if fixed:   # per step: Lava's run is shorter, so compare time per step
                    r[key] = r["ms_per_step"] / (ref["wall_s"] * 1e3 / ref["steps"])
                else:
                    r[key] = ref["events_per_s_wall"] / r["events_per_s_sim"]


def _get(rows, peer, batch=1, neurons=1000):
    return next((r for r in rows if r["peer"] == peer and r["batch"] == batch and r["neurons"] == neurons
                 and r.get("events_per_s_wall")), None)


RATIO_PEERS = ("compiled", "numba_floor", "brian2_cpp")


def _interleaved_ratios(batches: list[int], steps: int, rounds: int, peers: list[str]) -> list[dict]:
    """The ratios the targets use, each measured pair by pair: per batch, ``rounds`` rounds of
    compiled (3 calls), the numba floor (3 calls) and cpp_standalone (1 call: each call
    rebuilds) one after the other in fresh workers; per round, each peer's median
    simulation-alone time (Brian2's own loop time; the floor's loop; ``meta["run_s"]``) and
    the compiled engine's speed-up over each (events are identical: same spikes).  On a
    shared machine the load drifts between rounds, not within one, so the ratios are robust
    where the absolute times are not."""
    if rounds <= 0 or "compiled" not in peers:
        return []
    out = []
    for b in batches:
        for r in range(rounds):
            row = {"batch": b, "round": r, "load_avg_1min": os.getloadavg()[0]}
            for peer in RATIO_PEERS:
                if peer != "compiled" and peer not in peers:
                    continue
                common.log(f"[events/s ratios] batch {b}, round {r + 1}/{rounds}: {LABELS[peer]} ...")
                m = measure(peer, b, steps, 1 if peer == "brian2_cpp" else 3)
                if "run_times_s" in m or "sim_times_s" in m:
                    sims = [x for x in m.get("sim_times_s", m.get("run_times_s")) if x == x]
                    row[peer] = common.summary(sims)["median_s"] if sims else None
                    row[peer + "_digest"] = m.get("digest")
            for peer in RATIO_PEERS[1:]:
                if row.get(peer) and row.get("compiled"):
                    row["x_" + peer] = row[peer] / row["compiled"]
                    row["same_spikes_" + peer] = row.get(peer + "_digest") == row.get("compiled_digest")
            out.append(row)
    return out


def _round_ratio(rounds: list[dict], batch: int, peer: str) -> dict | None:
    xs = [r["x_" + peer] for r in rounds if r["batch"] == batch and r.get("x_" + peer)]
    if not xs:
        return None
    return {"median": float(np.median(xs)), "min": min(xs), "max": max(xs), "n": len(xs),
            "same_spikes": all(r.get("same_spikes_" + peer) for r in rounds if r["batch"] == batch
                               and r.get("x_" + peer))}


def _render_rounds(rounds: list[dict]) -> str:
    lines = ["Compiled engine speed-up, simulation alone, measured pair by pair (rounds interleave compiled, numba "
             "floor, cpp_standalone;\nratio = peer's time / compiled time per round; median [min - max] over rounds):"]
    for b in sorted({r["batch"] for r in rounds}):
        for peer in RATIO_PEERS[1:]:
            rr = _round_ratio(rounds, b, peer)
            if rr:
                times = [r[peer] for r in rounds if r["batch"] == b and r.get(peer)]
                ctimes = [r["compiled"] for r in rounds if r["batch"] == b and r.get("compiled")]
                lines.append(f"  B={b:<3d} vs {LABELS[peer]:<24s} {rr['median']:.2f}x [{rr['min']:.2f} - {rr['max']:.2f}], "
                             f"{rr['n']} rounds; compiled {np.median(ctimes):.3g} s, peer {np.median(times):.3g} s"
                             f" (medians); same spikes: {'yes' if rr['same_spikes'] else 'NO'}")
    loads = [r["load_avg_1min"] for r in rounds]
    lines.append(f"  load average (1 min) during the rounds: {min(loads):.2f} - {max(loads):.2f}")
    return "\n".join(lines)


def _targets(rows: list[dict], rounds: list[dict] | None = None) -> list[dict]:
    big = max((r["batch"] for r in rows), default=1)
    cold, first = _get(rows, "compiled_cold"), _get(rows, "compiled_first")
    b1 = _get(rows, "brian2_cpp")
    lava, cf = _get(rows, "lava"), _get(rows, "compiled_fixed")
    div = lambda a, b: a / b if a and b else None  # noqa: E731
    rounds = rounds or []

    def ratio(batch, peer):
        rr = _round_ratio(rounds, batch, peer)
        return (rr["median"], f"median of {rr['n']} interleaved rounds [{rr['min']:.2f} - {rr['max']:.2f}]"
                + ("" if rr["same_spikes"] else "; SPIKES DIFFER")) if rr else (None, "not measured")

    out = []
    for batch, need in ((1, 1.5), (big, 5)):
        x, note = ratio(batch, "brian2_cpp")
        threads = "both cores" if batch > 1 else "one core"
        out.append(common.target_line(f"compiled >= {need:g}x cpp_standalone, simulation alone, B={batch} ({threads}"
                                      + (f"; {batch} copies in Brian2)" if batch > 1 else ")"), x, need, note=note))
    for batch in sorted({1, big}):
        x, note = ratio(batch, "numba_floor")
        out.append(common.target_line(f"compiled >= 1x the numba floor loop, simulation alone, B={batch}", x, 1,
                                      note=note))
    out += [
        common.target_line("first simulate() call after make demo (shipped numba cache), B=1, whole call <= 2 s",
                           first and first["wall_s"], 2, higher_is_better=False,
                           note="fresh process, the cache that make demo / make test leave"),
        common.target_line("compiled incl. JIT >= 5x cpp_standalone incl. build, single run B=1",
                           div(b1 and b1["wall_s"], cold and cold["wall_s"]), 5,
                           note="first simulate() call in a fresh process, empty NUMBA_CACHE_DIR"),
        common.target_line("compiled >= 100x Lava fixed_pt per step, N=1000",
                           div(lava and lava["ms_per_step"], cf and cf["wall_s"] * 1e3 / cf["steps"]), 100,
                           note="compiled fixed_pt simulate() wall / steps vs Lava's timed run / steps"
                           if cf else "compiled: not available"),
    ]
    return out


def _render(rows: list[dict], steps: int) -> str:
    shown = []
    for r in rows:
        r = dict(r)
        if "unavailable" in r:
            r["agrees"] = "not available"
        elif "error" in r:
            r["agrees"] = "FAILED"
        shown.append(r)
    text = common.format_table(shown, COLUMNS)
    notes = [f"  {r['label']} B={r['batch']}: {r['unavailable'] if 'unavailable' in r else r['error']}"
             for r in rows if "unavailable" in r or "error" in r]
    legend = ("wall = the whole simulate() call (lowering, code generation / C++ build / JIT where it happens, "
              "the loop, read-back, counting); sim = the loop alone where the peer reports it (Brian2's run time), "
              "else = wall.\nms/step = sim / steps.  'compiled x' / 'numpy x' = that engine's ev/s (wall, warm) "
              "/ this row's ev/s (sim), same batch and size; for fixed_pt rows the ratio of time per step.\n"
              "peak MiB = max RSS of the worker process (imports included).  'same spikes': spike raster digest "
              "equal to the numpy engine's (Lava: final u, v equal to spikeattn's fixed-point run).")
    for r in rows:
        if r["peer"] == "lava" and "first_run_s" in r:
            legend += (f"\n{r['label']}: {r['note']}; its first run (compile, process spawn, 50 steps) took "
                       f"{r['first_run_s']:.2f} s and is not included.")
    return (f"Plain LIF network: 1000 neurons, {int(net.recurrent_weights().nnz)} recurrent + 1000 input synapses, "
            f"Poisson {net.P_IN / net.DT:.0f} Hz, {steps} steps of {net.DT * 1e3:g} ms\n" + text + "\n" + legend
            + ("\nnot measured / failed:\n" + "\n".join(notes) if notes else ""))


if __name__ == "__main__":
    raise SystemExit(main())
