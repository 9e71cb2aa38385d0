"""Lava engine vs a hand-written minimal Lava network vs the numpy engine, per sample-step.

    .venv-lava/bin/python benchmarks/bench_lava.py [--quick] [--scenarios]

Run in the Lava venv (lava-nc 0.10 imports in-process there), all three side by side in one
run, on the same fixed-point network: ``n`` LoihiLIF neurons (du=400, dv=300, vth=2000), a
one-to-one input projection from ``n`` Poisson sources (p = 0.1) and a dense recurrent
projection (integer weights in [-8, 12)), 200 steps, at n = 100 and n = 1000.

- **minimal Lava**: ``RingBuffer -> Dense -> LIF <- Dense <- LIF`` built by hand with Lava's own
  processes (no spikeattn code), ``Loihi2SimCfg(select_tag="fixed_pt")``; the first ``run``
  (compile, spawn) is timed apart, the second ``run`` of the same number of steps gives the
  time per step (one sample).
- **Lava engine**: ``simulate(engine="lava")`` at batch 1 and batch B (tiled): ``run_s``
  (Lava's ``run`` of all steps) and the whole call (compile, spawn, read-back, counting)
  divided by ``steps * batch``.
- **numpy engine**: the whole ``simulate`` call divided by ``steps * batch``.

Agreement is checked, not assumed: the engine's spikes equal the numpy engine's bit for bit,
and the minimal network's final ``u``, ``v`` equal the numpy engine's after the same steps.
``--scenarios`` adds the main circuit of the wta-routing scenario at its default batch (128).
Writes ``benchmarks/results/lava.json`` and ``lava.csv``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import RESULTS  # noqa: E402

DU, DV, VTH = 400, 300, 2000


def network(n: int, seed: int = 0):
    import spikeattn as sa
    from spikeattn.ir import LoihiLIF
    rng = np.random.default_rng(seed)
    w_in = rng.integers(100, 250, n)
    w_rec = rng.integers(-8, 12, (n, n))
    c = sa.Circuit(f"lif{n}")
    c.add_source("x", n)
    c.add_population("h", n, LoihiLIF(du=DU, dv=DV, vth=VTH))
    c.connect("x", "h", np.diag(w_in), name="in")
    c.connect("h", "h", w_rec, name="rec")
    c.probe("h", ("u", "v"))
    return c, w_in, w_rec


def minimal_lava(spikes: np.ndarray, w_in, w_rec) -> dict:
    """The hand-written network: first run of ``steps`` (compile + spawn), second run timed."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF
    steps, n = spikes.shape
    data = np.concatenate([spikes, spikes]).T.astype(np.int32)       # two runs of the same input
    src = RingBuffer(data=np.ascontiguousarray(data))
    d_in = Dense(weights=np.diag(w_in).astype(np.int32))
    d_rec = Dense(weights=w_rec.astype(np.int32))
    lif = LIF(shape=(n,), du=DU, dv=DV, vth=VTH, bias_mant=0, bias_exp=0)
    src.s_out.connect(d_in.s_in)
    d_in.a_out.connect(lif.a_in)
    lif.s_out.connect(d_rec.s_in)
    d_rec.a_out.connect(lif.a_in)
    cfg = Loihi2SimCfg(select_tag="fixed_pt")
    t0 = time.perf_counter()
    lif.run(condition=RunSteps(num_steps=steps), run_cfg=cfg)
    first = time.perf_counter() - t0
    u1, v1 = lif.u.get().astype(np.int64), lif.v.get().astype(np.int64)
    t1 = time.perf_counter()
    lif.run(condition=RunSteps(num_steps=steps), run_cfg=cfg)
    run_s = time.perf_counter() - t1
    lif.stop()
    return {"first_run_s": first, "run_s": run_s, "per_step_s": run_s / steps, "u": u1, "v": v1}


def measure(n: int, steps: int, batches: tuple[int, ...], seed: int = 0) -> list[dict]:
    from spikeattn import simulate
    c, w_in, w_rec = network(n, seed)
    rng = np.random.default_rng(seed + 1)
    rows = []
    for batch in batches:
        spikes = rng.random((steps, batch, n)) < 0.1
        t0 = time.perf_counter()
        ref = simulate(c, {"x": spikes}, steps, batch=batch, engine="numpy")
        numpy_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        got = simulate(c, {"x": spikes}, steps, batch=batch, engine="lava")
        lava_wall = time.perf_counter() - t0
        exact = bool(np.array_equal(got.spikes["h"], ref.spikes["h"])
                     and np.array_equal(got.probes["h"]["v"], ref.probes["h"]["v"]))
        mini = minimal_lava(spikes[:, 0], w_in, w_rec)
        mini_exact = bool(np.array_equal(mini["u"], ref.probes["h"]["u"][-1, 0])
                          and np.array_equal(mini["v"], ref.probes["h"]["v"][-1, 0]))
        ss = steps * batch
        row = {"case": f"LIF n={n}", "neurons": n, "batch": batch, "steps": steps,
               "minimal_lava_s_per_step": mini["per_step_s"], "minimal_lava_first_run_s": mini["first_run_s"],
               "engine_run_s_per_sample_step": got.meta["run_s"] / ss,
               "engine_wall_s_per_sample_step": lava_wall / ss, "engine_compile_s": got.meta["compile_s"],
               "lava_processes": got.meta.get("lava_processes"), "numpy_s_per_sample_step": numpy_s / ss,
               "engine_equals_numpy": exact, "minimal_equals_numpy": mini_exact}
        rows.append(_ratios(row))
        print(_line(row), flush=True)
    return rows


def scenario_rows(batch: int = 128) -> list[dict]:
    """The wta-routing scenario's main circuit (Loihi fixed point) at its default batch."""
    from spikeattn import simulate
    from scenarios import wta_routing as w
    p = {x.name: x.default for x in w.PARAMS}
    c = w.build("coincidence", True, p=p)
    steps = c.meta["wta_routing"]["decision_steps_max"] + p["route_steps"]
    intended = np.random.default_rng(0).integers(p["streams"], size=batch)
    inputs = {"cue": w.cue_probabilities(intended, p["p_high"], p["streams"], p["p_low"]),
              "streams": np.full((batch, p["streams"] * p["stream_size"]), p["p_stream"])}
    t0 = time.perf_counter()
    ref = simulate(c, inputs, steps, batch=batch, engine="numpy", seed=0)
    numpy_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    got = simulate(c, inputs, steps, batch=batch, engine="lava", seed=0)
    lava_wall = time.perf_counter() - t0
    n = sum(pp.size for pp in c.populations.values())
    spikes = np.concatenate([ref.spikes[s] for s in c.sources], axis=-1)
    mini = _minimal_equivalent(n, spikes[:, 0], steps)
    exact = all(np.array_equal(got.spikes[k], ref.spikes[k]) for k in c.populations) and got.counts == ref.counts
    ss = steps * batch
    row = {"case": "wta-routing", "neurons": n, "batch": batch, "steps": steps,
           "minimal_lava_s_per_step": mini, "minimal_lava_first_run_s": None,
           "engine_run_s_per_sample_step": got.meta["run_s"] / ss, "engine_wall_s_per_sample_step": lava_wall / ss,
           "engine_compile_s": got.meta["compile_s"], "lava_processes": got.meta.get("lava_processes"),
           "numpy_s_per_sample_step": numpy_s / ss, "engine_equals_numpy": bool(exact), "minimal_equals_numpy": None}
    row = _ratios(row)
    print(_line(row), flush=True)
    return [row]


def _minimal_equivalent(n: int, spikes: np.ndarray, steps: int) -> float:
    """Per-step time of the minimal network with as many neurons as the scenario circuit
    (input spikes: the scenario's first sample, tiled to ``n``)."""
    _, w_in, w_rec = network(n)
    x = np.resize(spikes, (steps, n)).astype(bool) if spikes.size else np.zeros((steps, n), bool)
    return minimal_lava(x, w_in, w_rec)["per_step_s"]


def _ratios(row: dict) -> dict:
    m = row["minimal_lava_s_per_step"]
    row["engine_run_over_minimal"] = row["engine_run_s_per_sample_step"] / m
    row["engine_wall_over_minimal"] = row["engine_wall_s_per_sample_step"] / m
    row["engine_wall_over_numpy"] = row["engine_wall_s_per_sample_step"] / row["numpy_s_per_sample_step"]
    return row


def _line(r: dict) -> str:
    return (f"{r['case']:>12} batch {r['batch']:>4} ({r['lava_processes']} Lava processes): minimal Lava "
            f"{r['minimal_lava_s_per_step'] * 1e3:8.3f} ms/step | engine run {r['engine_run_s_per_sample_step'] * 1e3:8.3f}"
            f" ms, whole call {r['engine_wall_s_per_sample_step'] * 1e3:8.3f} ms per sample-step | numpy "
            f"{r['numpy_s_per_sample_step'] * 1e3:8.3f} ms | engine/minimal run {r['engine_run_over_minimal']:.2f}x "
            f"wall {r['engine_wall_over_minimal']:.2f}x | engine/numpy {r['engine_wall_over_numpy']:.1f}x | "
            f"bit-exact {r['engine_equals_numpy']}/{r['minimal_equals_numpy']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="100 steps, batch 1 and 4")
    ap.add_argument("--scenarios", action="store_true", help="also the wta-routing circuit at batch 128")
    args = ap.parse_args(argv)
    steps, batches = (100, (1, 4)) if args.quick else (200, (1, 8))
    rows = []
    for n in (100, 1000):
        rows += measure(n, steps, batches)
    if args.scenarios:
        rows += scenario_rows()
    RESULTS.mkdir(parents=True, exist_ok=True)
    from spikeattn.fileio import atomic_write_text
    atomic_write_text(RESULTS / "lava.json", json.dumps(rows, indent=1))
    keys = list(rows[0])
    atomic_write_text(RESULTS / "lava.csv", "\n".join([",".join(keys)] + [",".join(str(r[k]) for k in keys)
                                                                          for r in rows]) + "\n")
    return 0 if all(r["engine_equals_numpy"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
