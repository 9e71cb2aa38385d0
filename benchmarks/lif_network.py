"""The plain LIF benchmark network and its input, shared by every peer.

Float network (``build_float``): ``n`` LIF neurons (``du = 1/32``, ``dv = 1/256`` per
0.1 ms step, i.e. tau_u = 3.2 ms, tau_v = 25.6 ms; ``vth = 1 + 1/1024``; reset to 0),
recurrent synapses drawn with probability ``p = 0.1`` without self-connections (~100k
at n = 1000; 80 % excitatory presynaptic neurons with ``w = 1/512``, 20 % inhibitory
with ``w = -5/512``) and one Poisson input per neuron (``p_in = 0.0074`` per step =
74 Hz, ``w = 10/512``): about 24 Hz.  Per step (numpy engine's equations)::

    u = u (1 - du) + a_in ;  v = v (1 - dv) + u ;  s = v > vth ;  v[s] = 0

with ``a_in`` the weighted spikes of the previous step.  Every weight is dyadic and every
partial sum exact, so any summation order gives the same float64 value: float engines
must produce the very same spikes (the benchmark checks it).

Fixed-point network (``build_fixed``, for the Lava comparison): the same graph with
``LoihiLIF(du=127, dv=16, vth=1025)`` (decays ``3968/4096 = 1 - 1/32`` and
``4080/4096 = 1 - 1/256``) and integer weights 2 / -10 / 20 (1/512 -> 2): Lava 0.10's
bit-accurate arithmetic, so spikeattn's fixed-point run and Lava's must agree exactly.

The input is one Poisson spike array ``(steps, batch, n)`` drawn once from ``seed``
(:func:`poisson_input`) and given to every peer, so all of them simulate the same run.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

DT = 1e-4            # 0.1 ms
DU, DV = 1 / 32, 1 / 256
VTH = 1.0 + 1 / 1024
W_E, W_I, W_IN = 1 / 512, -5 / 512, 10 / 512
P_CONNECT, P_IN = 0.1, 0.0074
TARGET_HZ = 24.0
FIXED = {"du": 127, "dv": 16, "vth": 1025, "w_e": 2, "w_i": -10, "w_in": 20}


def recurrent_weights(n: int = 1000, p: float = P_CONNECT, seed: int = 0, w_e=W_E, w_i=W_I) -> sp.csr_matrix:
    """``(post, pre)`` CSR weights: presynaptic neurons ``< 0.8 n`` excitatory."""
    rng = np.random.default_rng([seed, n])
    mask = rng.random((n, n)) < p
    np.fill_diagonal(mask, False)
    w = np.where(np.arange(n)[None, :] < int(0.8 * n), w_e, w_i) * mask
    return sp.csr_matrix(w)


def poisson_input(n: int, steps: int, batch: int, seed: int = 0, p: float = P_IN) -> np.ndarray:
    """Bernoulli(p) spikes ``(steps, batch, n)``, bool; sample ``b`` is the same for any batch size."""
    out = np.empty((steps, batch, n), bool)
    for b in range(batch):
        out[:, b] = np.random.default_rng([seed, 7, b]).random((steps, n)) < p
    return out


def build_float(n: int = 1000, seed: int = 0):
    from spikeattn.ir import LIF, Circuit

    c = Circuit(f"lif{n}", dt=DT)
    c.add_source("poisson", n, encoder="spikes")
    c.add_population("lif", n, LIF(du=DU, dv=DV, vth=VTH))
    c.connect("lif", "lif", recurrent_weights(n, seed=seed), name="recurrent")
    c.connect("poisson", "lif", W_IN, name="input")
    return c


def build_fixed(n: int = 1000, seed: int = 0):
    from spikeattn.ir import Circuit, LoihiLIF

    f = FIXED
    c = Circuit(f"lif{n}_fixed", dt=DT)
    c.add_source("poisson", n, encoder="spikes")
    c.add_population("lif", n, LoihiLIF(du=f["du"], dv=f["dv"], vth=f["vth"]))
    w = recurrent_weights(n, seed=seed, w_e=f["w_e"], w_i=f["w_i"]).astype(np.int64)
    c.connect("lif", "lif", w, name="recurrent")
    c.connect("poisson", "lif", sp.identity(n, dtype=np.int64, format="csr") * f["w_in"], name="input")
    return c


def synaptic_events(spikes: np.ndarray, inputs: np.ndarray, w: sp.csr_matrix) -> int:
    """Synaptic events of a run: each LIF spike times its fan-out, plus one per input spike
    (what ``EventCounts`` calls ``synaptic_ops``); used for peers without EventCounts."""
    fan_out = np.bincount(w.indices, minlength=w.shape[1]).astype(np.int64)
    per_neuron = np.asarray(spikes, bool).reshape(-1, spikes.shape[-1]).sum(axis=0)
    return int(per_neuron @ fan_out + np.count_nonzero(inputs))


def spike_digest(spikes: np.ndarray) -> str:
    """sha256 of the packed boolean raster ``(steps, batch, n)``: equal digests = identical spikes."""
    import hashlib

    return hashlib.sha256(np.packbits(np.ascontiguousarray(spikes, bool)).tobytes()).hexdigest()[:16]
