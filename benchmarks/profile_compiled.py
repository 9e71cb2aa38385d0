"""Profile of the compiled engine on the plain LIF network: cost per step and per event, by part.

    .venv/bin/python benchmarks/profile_compiled.py [--batch 1] [--steps 10000] [--repeats 5]

Two tables:

* **inside the loop**: a copy of :func:`spikeattn.engines.compiled.loop.run_block_float`
  that calls the loop's own parts (``emit_source``, ``gather_float``, ``lif_step``,
  ``record``, ``deliver``) with a clock read (``clock_gettime`` through ctypes) between
  them; per part: ns per step, ns per event where it handles events, share of the loop.
  The timer's own cost (calibrated in the same run) is subtracted.  The engine's driver is
  timed in the same process on the same arrays, and must give the same spikes.
* **per call**: the Python side of ``simulate(engine="compiled")`` (lowering with
  ``pack``, output allocation, the numba dispatch / cache load, the loop, building the
  result's ``EventCounts`` and diagnostics).

Medians of ``--repeats`` runs after one warm-up; printed with the CPU model, cores, SIMD
flags and load average.  The machines these run on are shared: compare shares and ratios
measured in one run, not absolute times across runs.
"""
from __future__ import annotations

import argparse
import ctypes
import time

import numpy as np
from numba import njit

import common
import lif_network as net
from spikeattn.engines.compiled.kernels import lif_step
from spikeattn.engines.compiled.loop import deliver, emit_source, gather_float, record, run_float_serial
from spikeattn.engines.compiled.pack import (KIND_SOURCE, N_KIND, N_OUT0, N_OUT1, N_REF, P_HI, P_LO, P_REFRAC,
                                             P_SUBTRACT, P_UNIFORM, pack)

_clock = ctypes.CDLL(None).clock_gettime
_clock.argtypes = [ctypes.c_int, ctypes.c_void_p]
_clock.restype = ctypes.c_int
PARTS = ("source: emit input + count", "source: deliver (input synapses)", "population: gather a_in + arrivals",
         "population: LIF kernel (update, spike list, diagnostics)", "population: counts + record spikes",
         "population: deliver (recurrent synapses)")


@njit(inline="always")
def _now(buf):
    _clock(1, buf.ctypes.data)           # CLOCK_MONOTONIC
    return buf[0] * 1000000000 + buf[1]


@njit
def timed_block(t0, t1, NODE, POP, SRC, PROJ, OUTL, INL, PRB, FP, IP, INDPTR, INDICES, W, SB, SB64, SV, U, V, REF,
                ACC, ARR, OB, OG, PO, CPOP, CSRC, CPROJ, DIAG, max_n, T):
    """run_block_float for LIF circuits, one sample after the other, with T[part] += ns."""
    idx = np.empty(max_n, np.int64)
    val = np.empty(max_n, np.float64)
    a_in = np.empty(max_n, np.float64)
    got = np.empty(max_n, np.uint8)
    spk = np.zeros((max_n + 7) // 8 * 8, np.uint8)
    buf = np.zeros(2, np.int64)
    for b in range(U.shape[0]):
        for t in range(t0, t1):
            for k in range(NODE.shape[0]):
                q = NODE[k, N_REF]
                c0 = _now(buf)
                if NODE[k, N_KIND] == KIND_SOURCE:
                    n = emit_source(b, t, q, SRC, SB, SB64, SV, idx, val)
                    CSRC[q, t, b] = n
                    c1 = _now(buf)
                    T[0] += c1 - c0
                    for o in range(NODE[k, N_OUT0], NODE[k, N_OUT1]):
                        deliver(b, t, OUTL[o], PROJ, POP, INDPTR, INDICES, W, ACC, ARR, idx, val, n, CPROJ)
                    T[1] += _now(buf) - c1
                else:
                    gather_float(b, t, q, POP, PROJ, INL, ACC, ARR, a_in, got)
                    c1 = _now(buf)
                    T[2] += c1 - c0
                    active, n = lif_step(U, V, REF, FP, b, POP[q, P_LO], POP[q, P_HI], a_in, got,
                                         POP[q, P_SUBTRACT] != 0, POP[q, P_REFRAC], POP[q, P_UNIFORM] != 0, idx, val,
                                         spk, DIAG, q, t)
                    c2 = _now(buf)
                    T[3] += c2 - c1
                    CPOP[q, 0, t, b] = active
                    CPOP[q, 1, t, b] = n
                    record(b, t, q, POP, PRB, U, V, OB, OG, PO, idx, val, n)
                    c3 = _now(buf)
                    T[4] += c3 - c2
                    for o in range(NODE[k, N_OUT0], NODE[k, N_OUT1]):
                        deliver(b, t, OUTL[o], PROJ, POP, INDPTR, INDICES, W, ACC, ARR, idx, val, n, CPROJ)
                    T[5] += _now(buf) - c3


@njit
def timer_cost(n):
    buf = np.zeros(2, np.int64)
    c0 = _now(buf)
    for _ in range(n):
        _now(buf)
    return (_now(buf) - c0) / n


def _arrays(pk, steps, batch):
    return dict(OB=np.zeros((steps, batch, pk.n_bin_out), np.uint8), OG=np.zeros((steps, batch, pk.n_grd_out)),
                PO=np.zeros((steps, batch, pk.n_probe)), CPOP=np.zeros((len(pk.pop_names), 2, steps, batch), np.int64),
                CSRC=np.zeros((len(pk.src_names), steps, batch), np.int64),
                CPROJ=np.zeros((len(pk.proj_names), 2, steps, batch), np.int64),
                DIAG=np.zeros((len(pk.pop_names), 4, steps, batch), np.int64))


def _args(pk, o):
    return (pk.NODE, pk.POP, pk.SRC, pk.PROJ, pk.OUTL, pk.INL, pk.PRB, pk.FP, pk.IP, pk.INDPTR, pk.INDICES, pk.W,
            pk.SB, pk.SB64, pk.SV, pk.U, pk.V, pk.REF, pk.ACC, pk.ARR, o["OB"], o["OG"], o["PO"], o["CPOP"], o["CSRC"],
            o["CPROJ"], o["DIAG"], pk.max_n)


def inside_loop(batch: int, steps: int, repeats: int) -> dict:
    c = net.build_float(1000)
    inputs = {"poisson": net.poisson_input(1000, steps, batch, 0)}
    parts, engine_s, timed_s, spikes, events = [], [], [], None, None
    for rep in range(repeats + 1):
        pk = pack(c, inputs, steps, batch)
        o = _arrays(pk, steps, batch)
        T = np.zeros(len(PARTS), np.int64)
        t0 = time.perf_counter()
        timed_block(0, steps, *_args(pk, o), T)
        timed = time.perf_counter() - t0
        pk2 = pack(c, inputs, steps, batch)
        o2 = _arrays(pk2, steps, batch)
        t0 = time.perf_counter()
        run_float_serial(0, steps, 1, *_args(pk2, o2))
        eng = time.perf_counter() - t0
        assert np.array_equal(o["OB"], o2["OB"]) and np.array_equal(o["CPROJ"], o2["CPROJ"])
        if rep:
            cost = timer_cost(100000)
            parts.append((T - cost * steps * batch) / (steps * batch))   # ns per sample-step (one read per part)
            engine_s.append(eng)
            timed_s.append(timed)
        spikes = int(o["OB"].sum())
        events = (int(o["CPROJ"][:, 0].sum()), int(o["CPROJ"][1, 0].sum()), int(o["CSRC"].sum()))
    ns = np.median(np.array(parts), axis=0)
    return {"ns_per_step": ns, "engine_s": float(np.median(engine_s)), "timed_s": float(np.median(timed_s)),
            "spikes": spikes, "events": events, "batch": batch, "steps": steps}


def per_call(batch: int, steps: int, repeats: int) -> dict:
    """Seconds of each Python-side stage of one simulate(engine="compiled") call."""
    from spikeattn import simulate
    from spikeattn.engines.compiled import engine as eng

    c = net.build_float(1000)
    inputs = {"poisson": net.poisson_input(1000, steps, batch, 0)}
    simulate(c, inputs, steps=steps, engine="compiled")
    walls, runs, jits, packs, results = [], [], [], [], []
    from spikeattn.engines.compiled import pack as pack_mod
    for _ in range(repeats):
        t0 = time.perf_counter()
        pk = pack_mod.pack(c, inputs, steps, batch)
        packs.append(time.perf_counter() - t0)
        o = _arrays(pk, steps, batch)
        t0 = time.perf_counter()
        eng.CompiledEngine()._result(c, inputs, steps, batch, pk, o["OB"], o["OG"], o["PO"], o["CPOP"], o["CSRC"],
                                     o["CPROJ"], o["DIAG"])
        results.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        r = simulate(c, inputs, steps=steps, engine="compiled")
        walls.append(time.perf_counter() - t0)
        runs.append(r.meta["run_s"])
        jits.append(r.meta["jit_s"])
    med = lambda xs: float(np.median(xs))  # noqa: E731
    return {"wall": med(walls), "run": med(runs), "jit": med(jits), "pack": med(packs), "result": med(results)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    host = common.host_info()
    p = inside_loop(args.batch, args.steps, args.repeats)
    ns = p["ns_per_step"]
    total = ns.sum()
    ops_all, ops_rec, inp = p["events"]
    per_step = lambda x: x / (p["steps"] * p["batch"])  # noqa: E731
    n_neurons = 1000
    ev = {0: (n_neurons, "input neuron scanned"), 1: (per_step(inp), "input spike (1 synapse)"),
          2: (n_neurons, "neuron"), 3: (n_neurons, "neuron"), 5: (per_step(ops_rec), "recurrent synapse")}
    rows = []
    for i, name in enumerate(PARTS):
        k, what = ev.get(i, (None, ""))
        rows.append({"part": name, "ns": ns[i], "share": 100 * ns[i] / total, "ns_ev": ns[i] / k if k else None,
                     "per": what})
    rows.append({"part": "all parts (timer subtracted)", "ns": total, "share": 100.0,
                 "ns_ev": total / per_step(ops_all), "per": "synaptic event"})
    print(f"Compiled loop, plain LIF network, batch {p['batch']}, {p['steps']} steps: {p['spikes']} spikes, "
          f"{ops_all} synaptic events ({per_step(ops_all):.0f} per sample-step)")
    print(common.format_table(rows, [("part", "part", ""), ("ns/step", "ns", ".0f"), ("share %", "share", ".0f"),
                                     ("ns/item", "ns_ev", ".2f"), ("item", "per", "")]))
    print(f"engine driver on the same arrays: {p['engine_s']:.4f} s ({1e9 * p['engine_s'] / (p['steps'] * p['batch']):.0f}"
          f" ns/step); the timed copy: {p['timed_s']:.4f} s (medians of {args.repeats})")
    c = per_call(args.batch, args.steps, args.repeats)
    other = c["wall"] - c["run"] - c["jit"]
    print("\nOne simulate(engine='compiled') call (medians):")
    print(common.format_table([
        {"stage": "whole call", "s": c["wall"], "share": 100.0},
        {"stage": "compiled loop (meta run_s)", "s": c["run"], "share": 100 * c["run"] / c["wall"]},
        {"stage": "numba dispatch / cache check (meta jit_s)", "s": c["jit"], "share": 100 * c["jit"] / c["wall"]},
        {"stage": "rest: checks, pack, allocation, result", "s": other, "share": 100 * other / c["wall"]},
        {"stage": "  of which pack() (lowering)", "s": c["pack"], "share": 100 * c["pack"] / c["wall"]},
        {"stage": "  of which _result() (EventCounts, diagnostics)", "s": c["result"],
         "share": 100 * c["result"] / c["wall"]}],
        [("stage", "stage", ""), ("seconds", "s", ".4f"), ("share %", "share", ".0f")]))
    print(common.host_line(host))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
