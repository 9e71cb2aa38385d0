"""Worker for the plain-LIF benchmark: runs ONE peer at one batch size in this process.

    python benchmarks/lif_peers.py '{"peer": "numpy", "batch": 1, "steps": 10000, "repeats": 3}'

Peers (all on the network and the input of :mod:`lif_network`, float64 unless stated):

``numpy``, ``compiled``       ``spikeattn.simulate(engine=...)``: ``repeats`` timed calls of
                              ``simulate`` (lowering, the loop, EventCounts) after one untimed
                              warm-up call (``compiled``: the JIT compile or the disk-cache
                              load; elsewhere a first call over 2 s counts as a repeat).
``compiled_cold``             the first ``simulate(engine="compiled")`` call in this fresh
                              process, timed once; the caller sets an empty ``NUMBA_CACHE_DIR``
                              so it includes the JIT compile.
``brian2_numpy`` / ``brian2_cython`` / ``brian2_cpp``
                              Brian2 2.9 through spikeattn's Brian2 engine (runtime device with
                              the numpy or cython target, or cpp_standalone; exact float flags).
                              A batch of B is B copies of the network inside one Brian2 network.
                              ``run_s`` is Brian2's own loop time; the wall time includes code
                              generation / C++ build (each cpp_standalone repeat rebuilds).
``numpy_fixed``, ``compiled_fixed``
                              the same engines on the fixed-point network (``LoihiLIF``, the
                              Lava comparison), ``n`` neurons.
``snntorch``                  ``snntorch.Synaptic`` (alpha = 1 - du, beta = 1 - dv, reset to
                              zero, no reset delay) driven by a dense ``(n, n)`` matrix product
                              per step, float64, ``torch.set_num_threads(1)``; same equations,
                              so identical spikes are expected.

Emits timings, synaptic events (spikes x fan-out + input spikes), spike count and a digest
of the spike raster (equal digests = identical spikes).
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np

import common
import lif_network as net


def _spikeattn(peer: str, batch: int, steps: int, repeats: int, seed: int, n: int = 1000) -> dict:
    from spikeattn import simulate
    from spikeattn.engines.base import ENGINES

    fixed = peer.endswith("_fixed")
    peer = peer.removesuffix("_fixed")
    engine, options = {"numpy": ("numpy", {}), "compiled": ("compiled", {}), "compiled_cold": ("compiled", {}),
                       "brian2_numpy": ("brian2", {"codegen_target": "numpy"}),
                       "brian2_cython": ("brian2", {"codegen_target": "cython"}),
                       "brian2_cpp": ("brian2", {"device": "cpp_standalone"})}[peer]
    if engine not in ENGINES:
        return {"unavailable": f"engine '{engine}' is not registered in spikeattn.engines.base.ENGINES"}
    circuit = (net.build_fixed if fixed else net.build_float)(n, seed=seed)
    inputs = {"poisson": net.poisson_input(n, steps, batch, seed)}
    runs = []

    def call():
        t0 = time.perf_counter()
        r = simulate(circuit, inputs, steps=steps, engine=engine, **options)
        runs.append((time.perf_counter() - t0, float(r.meta.get("run_s", np.nan))))
        return r

    cold = peer == "compiled_cold"
    # compiled / cython: one untimed call compiles (or loads the cache); others: see common.timed
    warmup = 0 if cold else 1 if peer in ("compiled", "brian2_cython") else "auto"
    times, r = common.timed(call, repeats=1 if cold else repeats, warmup=warmup)
    if r.meta.get("fallback"):
        return {"unavailable": f"engine '{engine}' fell back to {r.meta['fallback']} (numba, the 'fast' extra, missing)"}
    timed_runs = runs[-len(times):]
    spikes = r.spikes["lif"]
    out = {"times_s": times, "run_times_s": [x[1] for x in timed_runs],
           "synaptic_events": int(r.counts.totals()["synaptic_ops"]),
           "events_from_spikes": net.synaptic_events(spikes, inputs["poisson"], circuit.projections["recurrent"].weights),
           "spikes": int(spikes.sum()), "digest": net.spike_digest(spikes), "engine_used": r.engine,
           "meta": {k: v for k, v in r.meta.items() if isinstance(v, (int, float, str, bool))}}
    if len(runs) > len(times):
        out["warmup_s"] = runs[0][0]
    return out


def _snntorch(batch: int, steps: int, repeats: int, seed: int) -> dict:
    import torch
    import snntorch as snn

    torch.set_num_threads(1)
    w = net.recurrent_weights(1000, seed=seed)
    inputs = net.poisson_input(1000, steps, batch, seed)
    w_t = torch.tensor(w.toarray().T, dtype=torch.float64)           # s @ W^T: (batch, pre) -> (batch, post)
    inp = torch.from_numpy(inputs)

    def run():
        lif = snn.Synaptic(alpha=1 - net.DU, beta=1 - net.DV, threshold=net.VTH, reset_mechanism="zero",
                           reset_delay=False)
        syn = torch.zeros(batch, 1000, dtype=torch.float64)
        mem = torch.zeros(batch, 1000, dtype=torch.float64)
        spk = torch.zeros(batch, 1000, dtype=torch.float64)
        rec = torch.zeros(steps, batch, 1000, dtype=torch.bool)
        prev_in = torch.zeros(batch, 1000, dtype=torch.float64)
        with torch.no_grad():
            for t in range(steps):
                cur = spk.to(torch.float64) @ w_t + prev_in * net.W_IN    # spikes of step t-1 arrive at step t
                spk, syn, mem = lif(cur, syn, mem)
                rec[t] = spk > 0
                prev_in = inp[t].to(torch.float64)
        return rec.numpy()

    times, spikes = common.timed(run, repeats=repeats, warmup="auto")
    return {"times_s": times, "run_times_s": times, "spikes": int(spikes.sum()), "digest": net.spike_digest(spikes),
            "synaptic_events": net.synaptic_events(spikes, inputs, w), "engine_used": "snntorch",
            "meta": {"torch": torch.__version__, "snntorch": snn.__version__, "threads": torch.get_num_threads(),
                     "dtype": "float64"}}


def main(spec: dict) -> dict:
    peer, batch, steps = spec["peer"], int(spec["batch"]), int(spec["steps"])
    repeats, seed = int(spec.get("repeats", 3)), int(spec.get("seed", 0))
    if peer == "snntorch":
        return _snntorch(batch, steps, repeats, seed)
    return _spikeattn(peer, batch, steps, repeats, seed, int(spec.get("n", 1000)))


if __name__ == "__main__":
    common.emit(main(json.loads(sys.argv[1])))
