"""Worker for the spiking-attention benchmark: one variant, one N, one batch, one peer.

    python benchmarks/attention_peers.py '{"variant": "sdsa", "n": 64, "batch": 1, "peer": "fused"}'

Input: binary Q, K, V spike trains ``(T, B, N*D)``, Bernoulli(``rate``) from ``seed`` (the
same arrays in every worker), followed by ``latency`` empty steps so that every output
spike of the ``T`` input steps is produced.  Variants and their formula (per step ``t``,
one head, ``D`` channels)::

    sdsa      kv_t = LIF_kv(sum_j K_t[j] ⊙ V_t[j]);  y_t = Q_t ⊙ kv_t        LIF_kv: du=1, dv=1/2, vth=1
    ssa_qk_v  y_t  = LIF_y(s (Q_t K_t^T) V_t)                                 LIF_y:  du=1, dv=1/2, vth=1/2, s=1/8
    ssa_q_kv  y_t  = LIF_y(s Q_t (K_t^T V_t))

with ``LIF(x): u = u(1-du) + x; v = v(1-dv) + u; spike = v > vth; v[spike] = 0``.

Peers: ``fused`` — spikeattn's fastest numpy path: SDSA ``simulate(sdsa_attention(N, D),
fused=True)`` (gather/scatter runner); SSA the closed-form fused runner
``fused_ssa.ssa_fused`` (what ``simulate(ssa_attention(...), fused=True)`` runs; called
directly because the SSA circuit has ``2 N^2 D`` neurons in order qk_v, 134 M at N = 1024,
too many to build); for N <= 64 the built SSA circuit is also run with ``fused=True`` and
must give the same spikes and counts.  ``compiled`` — ``simulate(sdsa_attention(N, D),
engine="compiled")`` (SDSA only).  ``torch`` — the formula above in plain torch (float32
matrix products, exact for these integer counts; the LIF in float64), one thread by
default (``torch_threads``; 0 = torch's default: on a shared 2-core machine its thread pool
stalled 100-250 ms per call).  Timed: ``repeats`` calls after one warm-up (a first call over 2 s counts as a repeat instead); the circuit is built (and the
inputs drawn) outside the timing.  Emits times, synaptic ops (spikeattn), output spike
counts per step and sample, and a digest of the output raster.
"""
from __future__ import annotations

import hashlib
import json
import sys

import numpy as np

import common

LATENCY = {"sdsa": 3, "ssa_qk_v": 4, "ssa_q_kv": 4}
VARIANTS = tuple(LATENCY)


def make_inputs(n: int, d: int, t: int, batch: int, rate: float, seed: int, latency: int) -> dict:
    """Q, K, V ``(t + latency, batch, n*d)`` bool, the last ``latency`` steps empty; sample b
    is the same for every batch size."""
    out = {}
    for i, port in enumerate("qkv"):
        a = np.zeros((t + latency, batch, n * d), bool)
        for b in range(batch):
            a[:t, b] = np.random.default_rng([seed, n, i, b]).random((t, n * d)) < rate
        out[port] = a
    return out


def digest(y: np.ndarray) -> str:
    return hashlib.sha256(np.packbits(np.ascontiguousarray(y, bool)).tobytes()).hexdigest()[:16]


def _spikeattn(variant, n, d, t, inputs, peer, repeats):
    from spikeattn import simulate
    from spikeattn.circuits.attention import sdsa_attention, ssa_attention
    from spikeattn.circuits.attention.fused_ssa import ssa_fused
    from spikeattn.engines.base import ENGINES
    from spikeattn.ir import LIF

    lat, steps = LATENCY[variant], t + LATENCY[variant]
    extra = {}
    if variant == "sdsa":
        if peer == "compiled" and "compiled" not in ENGINES:
            return {"unavailable": "engine 'compiled' is not registered"}
        circ = sdsa_attention(n, d)
        opts = {"engine": "compiled"} if peer == "compiled" else {"fused": True}
        fn = lambda: simulate(circ, inputs, steps=steps, **opts)  # noqa: E731
        times, r = common.timed(fn, repeats, warmup="auto")
        if r.meta.get("fallback"):
            return {"unavailable": f"engine 'compiled' fell back to {r.meta['fallback']} (numba missing)"}
        y, counts = r.spikes["y"], r.counts
        extra["how"] = "simulate(sdsa_attention, " + ("engine='compiled')" if peer == "compiled" else "fused=True)")
        extra["path"] = r.meta.get("fused") or r.engine
    else:
        if peer != "fused":
            return {"unavailable": "SSA runs on the closed-form fused runner only (its circuit is too large to "
                                   "build beyond N = 64)"}
        order = variant.split("_", 1)[1]
        spec = {"n_query": n, "n_key": n, "dim": d, "heads": 1, "order": order, "scale": 0.125}
        out_model = LIF(du=1.0, dv=0.5, vth=0.5)
        fn = lambda: ssa_fused(spec, inputs["q"], inputs["k"], inputs["v"], out_model)  # noqa: E731
        times, (_, counts) = common.timed(fn, repeats, warmup="auto")
        y = None
        extra["how"] = "fused_ssa.ssa_fused (closed form)"
        if n <= 64:
            circ = ssa_attention(n, d, 1, order=order)
            r = simulate(circ, inputs, steps=steps, fused=True)
            y = r.spikes["y"]
            extra["circuit_fused_equal_counts"] = bool(r.counts == counts)
            extra["circuit_path"] = r.meta.get("fused")
    tot = counts.totals()
    y_counts = counts.elements["y"].fields["spikes"][lat:lat + t]
    out = {"times_s": times, "synaptic_ops": int(tot["synaptic_ops"]), "spikes_total": int(tot["spikes"]),
           "y_counts": y_counts.tolist(), **extra}
    if y is not None:
        out["digest"] = digest(y[lat:lat + t])
    return out


def torch_formula(variant: str, q, k, v, n: int, d: int, t: int):
    """Output spikes ``(t, B, n*d)`` of the formula in the module docstring (torch tensors in)."""
    import torch

    b = q.shape[1]
    Q, K, V = (x[:t].reshape(t, b, n, d) for x in (q, k, v))
    vth = 1.0 if variant == "sdsa" else 0.5
    mem = torch.zeros((b, d) if variant == "sdsa" else (b, n, d), dtype=torch.float64)
    out = torch.empty((t, b, n, d), dtype=torch.bool)
    for s in range(t):
        if variant == "sdsa":
            x = (K[s] & V[s]).sum(dim=1, dtype=torch.float64)                 # (b, d)
        else:
            qs, ks, vs = Q[s].float(), K[s].float(), V[s].float()
            prod = (qs @ ks.transpose(1, 2)) @ vs if variant == "ssa_qk_v" else qs @ (ks.transpose(1, 2) @ vs)
            x = 0.125 * prod.double()
        mem = mem * 0.5 + x                                                     # u = x (du = 1)
        spk = mem > vth
        mem = torch.where(spk, torch.zeros_like(mem), mem)
        out[s] = (Q[s] & spk[:, None, :]) if variant == "sdsa" else spk
    return out.reshape(t, b, n * d)


def _torch(variant, n, d, t, inputs, repeats, threads):
    import torch

    if threads:
        torch.set_num_threads(threads)
    q, k, v = (torch.from_numpy(inputs[p]) for p in "qkv")
    with torch.no_grad():
        times, y = common.timed(lambda: torch_formula(variant, q, k, v, n, d, t), repeats, warmup="auto")
    y = y.numpy()
    return {"times_s": times, "digest": digest(y), "y_counts": y.sum(axis=2).tolist(),
            "threads": torch.get_num_threads(), "torch": torch.__version__}


def main(spec: dict) -> dict:
    variant, n, batch, peer = spec["variant"], int(spec["n"]), int(spec["batch"]), spec["peer"]
    d, t, rate = int(spec.get("d", 64)), int(spec.get("t", 8)), float(spec.get("rate", 0.2))
    repeats, seed = int(spec.get("repeats", 3)), int(spec.get("seed", 0))
    inputs = make_inputs(n, d, t, batch, rate, seed, LATENCY[variant])
    if peer == "torch":
        return _torch(variant, n, d, t, inputs, repeats, int(spec.get("torch_threads", 1)))
    return _spikeattn(variant, n, d, t, inputs, peer, repeats)


if __name__ == "__main__":
    common.emit(main(json.loads(sys.argv[1])))
