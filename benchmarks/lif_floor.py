"""The numba floor: a short event-driven LIF loop for the plain LIF network, written for speed only.

It is the floor the compiled engine must beat (issue 20): no counting beyond the spike raster, no
diagnostics, no probes, no generality.  The network of :mod:`lif_network` (float64)::

    u = u * (1 - du) + a_in ;  v = v * (1 - dv) + u ;  s = v > vth ;  v[s] = 0

``a_in`` at step t = the weights of the recurrent spikes of step t-1 plus ``w_in`` times the
Poisson input of step t-1 (spikeattn's projections with the default latency of one step).
Every weight is dyadic and every partial sum is exact, so it gives the engine's very spikes
(the benchmark checks the raster digest).  Samples run one after the other (each keeps its
state in cache for all steps); ``parallel=True`` runs samples on all cores (``prange``).

    .venv/bin/python benchmarks/lif_floor.py '{"batch": 1, "steps": 10000, "repeats": 5}'

prints the same result line as :mod:`lif_peers`: ``times_s`` the whole call (weights to CSR,
the loop), ``run_times_s`` the loop alone; spikes, digest, synaptic events.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np
from numba import njit, prange

import common
import lif_network as net


@njit(cache=True, inline="always")
def _sample(b, inp, indptr, indices, w, w_in, ku, kv, vth, out):
    n = inp.shape[2]
    u = np.zeros(n)
    v = np.zeros(n)
    acc = np.zeros((2, n))              # a_in of step t in acc[t & 1], of step t+1 in acc[~t & 1]
    fired = np.empty(n, np.int64)
    for t in range(inp.shape[0]):
        cur = acc[t & 1]
        nxt = acc[(t + 1) & 1]
        k = 0
        for i in range(n):
            ui = u[i] * ku + cur[i]
            vi = v[i] * kv + ui
            cur[i] = 0.0
            u[i] = ui
            if vi > vth:
                vi = 0.0
                fired[k] = i
                k += 1
            v[i] = vi
        row = out[t, b]
        for e in range(k):
            i = fired[e]
            row[i] = True
            for s in range(indptr[i], indptr[i + 1]):
                nxt[indices[s]] += w[s]
        x = inp[t, b]
        for i in range(n):
            if x[i]:
                nxt[i] += w_in


@njit(cache=True)
def run_serial(inp, indptr, indices, w, w_in, ku, kv, vth, out):
    for b in range(inp.shape[1]):
        _sample(b, inp, indptr, indices, w, w_in, ku, kv, vth, out)


@njit(cache=True, parallel=True)
def run_parallel(inp, indptr, indices, w, w_in, ku, kv, vth, out):
    for b in prange(inp.shape[1]):
        _sample(b, inp, indptr, indices, w, w_in, ku, kv, vth, out)


def simulate(inputs: np.ndarray, seed: int = 0, parallel: bool = True, w=None) -> tuple[np.ndarray, float]:
    """Spike raster ``(steps, batch, n)`` bool of the plain LIF network driven by ``inputs``
    (recurrent weights ``w``, ``(post, pre)``, default :func:`lif_network.recurrent_weights`),
    and the seconds of the compiled loop alone."""
    n = inputs.shape[2]
    w_t = (net.recurrent_weights(n, seed=seed) if w is None else w).T.tocsr()   # rows = presynaptic neurons
    args = (w_t.indptr.astype(np.int64), w_t.indices.astype(np.int64), w_t.data.astype(np.float64))
    out = np.zeros(inputs.shape, np.bool_)
    run = run_parallel if parallel and inputs.shape[1] > 1 else run_serial
    t0 = time.perf_counter()
    run(inputs, *args, net.W_IN, 1.0 - net.DU, 1.0 - net.DV, net.VTH, out)
    return out, time.perf_counter() - t0


def main(spec: dict) -> dict:
    batch, steps = int(spec["batch"]), int(spec["steps"])
    repeats, seed, n = int(spec.get("repeats", 3)), int(spec.get("seed", 0)), int(spec.get("n", 1000))
    parallel = bool(spec.get("parallel", True))
    inputs = net.poisson_input(n, steps, batch, seed)
    w = net.recurrent_weights(n, seed=seed)
    t0 = time.perf_counter()
    simulate(inputs[:2], seed, parallel, w)                       # compile or load the cache
    first = time.perf_counter() - t0
    runs = []

    def call():
        out, run_s = simulate(inputs, seed, parallel, w)
        runs.append(run_s)
        return out

    times, spikes = common.timed(call, repeats=repeats, warmup=0)
    import numba

    return {"times_s": times, "run_times_s": runs, "spikes": int(spikes.sum()), "digest": net.spike_digest(spikes),
            "synaptic_events": net.synaptic_events(spikes, inputs, w),
            "engine_used": "numba floor", "warmup_s": first,
            "meta": {"numba": numba.__version__, "threads": numba.get_num_threads() if parallel else 1}}


if __name__ == "__main__":
    common.emit(main(json.loads(sys.argv[1])))
