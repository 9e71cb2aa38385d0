"""Structured SSA and SDSA on the torch engine against the plain torch formula (issue 16).

Each row runs the same spike inputs (N tokens, D channels, T steps, batch B, p = 0.2) twice
in this process, on the CPU in float64 with the same torch thread count:

* ``engine``: ``spikeattn.simulate(ssa_structured(..., order="q_kv") | sdsa_structured(...),
  engine="torch", record=["y"])`` — the circuit's two product projections as einsums, every
  event counted into EventCounts;
* ``formula``: the plain torch loop a researcher would write for the same arithmetic (per step
  ``KV = K^T V``, ``X = Q KV``, LIF update; SDSA ``kv = LIF(sum_j K ⊙ V)``, ``y = Q ⊙ kv``), no
  counting.

Both must give identical output spikes (checked every row); ``ratio`` = formula time / engine
time (the target is >= 1, i.e. the engine, counts included, is not slower than the formula).
Medians of ``--repeats`` interleaved (engine, formula) rounds after one warm-up each;
``cpu ratio`` is the same ratio of process CPU time, which on a machine shared with other
work (and with ``--threads 1``) varies less than the wall time.  The CPU model and flags are
recorded in the JSON (``host``).  Writes ``results/structured_attention.{json,csv}``.

Usage: ``python benchmarks/bench_structured_attention.py [--quick] [--n 1024] [--batches 1,32]``
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def cpu_flags() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("flags"):
                flags = line.split(":", 1)[1].split()
                return " ".join(f for f in flags if f.startswith(("avx", "fma", "sse4")))
    except OSError:
        pass
    return ""


def formula_ssa(torch, q, k, v, scale, out):
    """Plain torch SSA: per step X = Q (K^T V) (one head), y = LIF(scale X) one step later."""
    T, B, N, D = q.shape
    u = torch.zeros(B, N, D, dtype=torch.float64)
    vm = torch.zeros_like(u)
    ys = torch.zeros(T, B, N, D, dtype=torch.bool)
    a_in = torch.zeros_like(u)
    ku, kv = 1.0 - out.du, 1.0 - out.dv
    for t in range(T):
        u = u * ku + a_in
        vm = vm * kv + u + out.bias
        s = vm > out.vth
        vm = torch.where(s, torch.full_like(vm, out.v_reset), vm)
        ys[t] = s
        kvmap = torch.einsum("bja,bje->bae", k[t], v[t])
        a_in = scale * torch.einsum("bia,bae->bie", q[t], kvmap)
    return ys


def formula_sdsa(torch, q, k, v, kvm):
    T, B, N, D = q.shape
    u = torch.zeros(B, D, dtype=torch.float64)
    vm = torch.zeros_like(u)
    ys = torch.zeros(T, B, N, D, dtype=torch.bool)
    gate = torch.zeros(B, N, D, dtype=torch.bool)
    ku, kvd = 1.0 - kvm.du, 1.0 - kvm.dv
    for t in range(T):
        ys[t] = gate
        u = u * ku + (k[t] * v[t]).sum(1)
        vm = vm * kvd + u + kvm.bias
        s = vm > kvm.vth
        vm = torch.where(s, torch.full_like(vm, kvm.v_reset), vm)
        gate = (q[t] > 0) & s[:, None, :]
    return ys


def run_row(torch, sa, variant: str, n: int, d: int, steps: int, batch: int, repeats: int) -> dict:
    from spikeattn.circuits.attention.structured import sdsa_structured, ssa_structured
    from spikeattn.ir import LIF
    rng = np.random.default_rng(0)
    q, k, v = (rng.random((steps, batch, n, d)) < 0.2 for _ in range(3))
    tq, tk, tv = (torch.as_tensor(a, dtype=torch.float64) for a in (q, k, v))
    inputs = {"q": q.reshape(steps, batch, -1), "k": k.reshape(steps, batch, -1), "v": v.reshape(steps, batch, -1)}
    if variant == "ssa":
        out = LIF(du=1.0, dv=0.5, vth=0.5)
        circ = ssa_structured(n, n, d, scale=1.0 / 64, out_model=out, order="q_kv")
        formula = lambda: formula_ssa(torch, tq, tk, tv, 1.0 / 64, out)  # noqa: E731
    else:
        kvm = LIF(du=1.0, dv=0.5, vth=1.0)
        circ = sdsa_structured(n, d, kv_model=kvm)
        formula = lambda: formula_sdsa(torch, tq, tk, tv, kvm)  # noqa: E731

    def engine():
        return sa.simulate(circ, inputs, steps=steps, engine="torch", record=["y"])

    # interleaved (engine, formula) rounds after one warm-up each: a shared machine's load
    # drifts alike for both; wall and CPU (process) time of every call
    times = {"engine": ([], []), "formula": ([], [])}
    res, ys = engine(), formula()
    for _ in range(repeats):
        for key, fn in (("engine", engine), ("formula", formula)):
            t0, c0 = time.perf_counter(), time.process_time()
            got = fn()
            times[key][0].append(time.perf_counter() - t0)
            times[key][1].append(time.process_time() - c0)
            res, ys = (got, ys) if key == "engine" else (res, got)
    same = bool(np.array_equal(res.spikes["y"].reshape(steps, batch, n, d), ys.numpy()))
    acs = int(sum(res.counts.elements[p].fields["synaptic_acs"].sum() for p in circ.projections))
    (t_eng, c_eng), (t_for, c_for) = times["engine"], times["formula"]
    e, f = float(np.median(t_eng)), float(np.median(t_for))
    return {"variant": variant, "n": n, "d": d, "t": steps, "batch": batch, "engine_s": e, "formula_s": f,
            "ratio": f / e, "cpu_ratio": float(np.median(c_for) / np.median(c_eng)), "identical_spikes": same,
            "synaptic_acs": acs, "repeats": repeats, "engine_times_s": t_eng, "formula_times_s": t_for,
            "engine_cpu_s": c_eng, "formula_cpu_s": c_for}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0,
                    help="torch threads for both sides (0: torch's default). On a loaded machine, OpenMP "
                         "threads spin on every small op: 1 thread is the fair setting there")
    ap.add_argument("--out", default=str(common.RESULTS))
    args = ap.parse_args(argv)
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)

    import spikeattn as sa
    if args.quick:
        args.n, args.batches, args.repeats = 128, "1,4", 2
    rows = []
    for variant in ("ssa", "sdsa"):
        for b in (int(x) for x in args.batches.split(",")):
            # the inputs, three (T, B, N, D) float64 copies: estimate before allocating
            need = 8 * 3 * 2 * args.steps * b * args.n * args.d
            if need > 0.5 * (sa.validation.available_bytes() or need):
                rows.append({"variant": variant, "n": args.n, "batch": b, "skipped": f"needs ~{need / 2**30:.1f} GiB"})
                continue
            common.log(f"{variant} N={args.n} D={args.d} T={args.steps} B={b}")
            rows.append(run_row(torch, sa, variant, args.n, args.d, args.steps, b, args.repeats))
    host = {**common.host_info(), "cpu_model": cpu_model(), "cpu_flags": cpu_flags(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    targets = [common.target_line(f"{r['variant']} N={r['n']} B={r['batch']}: formula time / engine time",
                                  r.get("ratio"), 1.0, note="identical spikes" if r.get("identical_spikes") else
                                  ("SPIKES DIFFER" if "ratio" in r else r.get("skipped", "")))
               for r in rows]
    print(f"CPU: {host['cpu_model']} ({host['cpu_flags']}), torch {host['torch']}, {host['torch_threads']} threads")
    print(common.format_table(rows, [("variant", "variant", ""), ("N", "n", "d"), ("B", "batch", "d"),
                                     ("engine s", "engine_s", ".3g"), ("formula s", "formula_s", ".3g"),
                                     ("ratio", "ratio", ".3g"), ("cpu ratio", "cpu_ratio", ".3g"),
                                     ("identical", "identical_spikes", ""),
                                     ("acs", "synaptic_acs", ".3g")]))
    print(common.format_targets(targets))
    common.write_results("structured_attention", {"host": host, "rows": rows, "targets": targets}, rows,
                         ["variant", "n", "d", "t", "batch", "engine_s", "formula_s", "ratio", "cpu_ratio",
                          "identical_spikes"],
                         Path(args.out))
    return 0 if all(r.get("identical_spikes", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
