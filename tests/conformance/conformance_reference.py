"""An independent oracle: a scalar, pure-Python simulator of the IR's equations.

Written from the model docstrings (:mod:`spikeattn.ir.neurons`), the event definitions
(:mod:`spikeattn.counts`), the summation order (:mod:`spikeattn.dynamics.synapses`) and
Lava 0.10's fixed-point semantics (``shared/reference/lava_fixed_point.md``) — one neuron,
one synapse and one Python number at a time, sharing no code with the engines.  Python floats
are IEEE doubles, Python ints are exact (wraps are explicit), so it pins down bit for bit
what every engine must produce.  It is slow: keep circuits small.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

import math

from spikeattn.ir import LIF, LoihiGradedReLU, LoihiLIF, LoihiMultiThresholdIF, MultiThresholdIF, TernaryIF
from spikeattn.ir.neurons_extra import GradedReLU


V_LIM = 2**23 - 1      # Loihi 2's 24-bit v register saturates at +-V_LIM


def saturate(x: int) -> int:
    return min(max(x, -V_LIM), V_LIM)


def wrap32(x: int) -> int:
    return ((x + 2**31) % 2**32) - 2**31


def trunc0(x: int) -> int:
    return -((-x) >> 12) if x < 0 else x >> 12


def shift(x: int, e: int) -> int:
    return x << e if e >= 0 else x >> -e


def quantise(w: int, bits: int, mode: str) -> int:
    tb = 8 - bits + (1 if mode == "mixed" else 0)
    if mode == "mixed":
        w = min(max(w, -256), 255)
        return (w >> tb) << tb
    if mode == "excitatory":
        w = min(max(w, 0), 255)
        return (w >> tb) << tb
    w = min(max(-w, 0), 255)
    return -((w >> tb) << tb)


def synapses(proj, fixed: bool) -> dict[int, list[tuple[int, float]]]:
    """pre -> [(post, weight)] of the existing synapses (non-zero after quantisation), post ascending."""
    w = proj.weights.toarray() if sp.issparse(proj.weights) else np.asarray(proj.weights)
    present = proj.weights.toarray() != 0 if sp.issparse(proj.weights) else np.ones(w.shape, bool)
    vals = [float(x) for x in w[present]] if not sp.issparse(proj.weights) else list(proj.weights.tocsr().data)
    mode = proj.sign_mode
    if fixed and mode == "auto":
        mode = "excitatory" if (not vals or min(vals) >= 0) else ("inhibitory" if max(vals) <= 0 else "mixed")
    table: dict[int, list] = {}
    n_post, n_pre = w.shape
    for j in range(n_pre):
        for i in range(n_post):
            if not present[i, j]:
                continue
            x = quantise(int(w[i, j]), int(proj.num_weight_bits), mode) if fixed else float(w[i, j])
            if x != 0:
                table.setdefault(j, []).append((i, x))
    return table


def _scalar(p, k):
    a = np.asarray(p)
    return a.item() if a.ndim == 0 else a[k].item()


class Neuron:
    """One neuron's state and step (``a`` = summed input of the step)."""

    def __init__(self, model, k: int, initial: dict):
        self.m, self.k = model, k
        self.fixed = isinstance(model, (LoihiLIF, LoihiMultiThresholdIF, LoihiGradedReLU))
        zero = 0 if self.fixed else 0.0
        self.u = _scalar(initial.get("u", zero), k) if "u" in model.state else None
        self.v = _scalar(initial.get("v", zero), k)
        if self.fixed:
            self.u, self.v = (None if self.u is None else int(self.u)), int(self.v)
        self.ref = 0
        m = model
        if isinstance(m, LIF):
            self.ku = 1.0 - float(_scalar(m.du, k))
            self.kv = 1.0 - float(_scalar(m.dv, k))
            self.vth, self.bias = float(_scalar(m.vth, k)), float(_scalar(m.bias, k))
            self.v_reset = float(_scalar(m.v_reset, k))
        elif isinstance(m, LoihiGradedReLU):
            self.vth, self.bias = int(_scalar(m.vth, k)), 0
        elif self.fixed:   # LoihiLIF, LoihiMultiThresholdIF: bias_mant shifted by bias_exp
            be, bm = int(_scalar(m.bias_exp, k)), int(_scalar(m.bias_mant, k))
            self.bias = shift(bm, be)
            if isinstance(m, LoihiMultiThresholdIF):
                self.vth = int(_scalar(m.vth, k))
        elif isinstance(m, (TernaryIF, MultiThresholdIF)):
            self.vth, self.bias = float(_scalar(m.vth, k)), float(_scalar(m.bias, k))
        else:
            self.bias = 0.0

    def carries(self) -> bool:
        m = self.m
        if isinstance(m, (GradedReLU, LoihiGradedReLU)):
            return False
        if isinstance(m, (TernaryIF, MultiThresholdIF, LoihiMultiThresholdIF)):
            return self.v != 0 or self.bias != 0
        if self.fixed:
            return (trunc0(self.u * (4096 - (int(m.du) + 1))) != 0 or trunc0(self.v * (4096 - int(m.dv))) != 0
                    or self.bias != 0)
        return self.u * self.ku != 0 or self.v * self.kv != 0 or self.bias != 0

    def step(self, a):
        m = self.m
        a = a * getattr(type(m), "INPUT_GAIN", 1)    # a model subclass declaring an input gain
        if isinstance(m, GradedReLU):
            self.v = a
            th = float(_scalar(m.vth, self.k))
            return a - th if a > th else 0.0
        if isinstance(m, LoihiGradedReLU):
            self.v = saturate(wrap32(a))
            return self.v - self.vth if self.v > self.vth else 0
        if isinstance(m, LoihiMultiThresholdIF):
            # n = how many of the thresholds vth, 2 vth, ..., L vth v strictly exceeds (counted
            # one by one, not by the floor division of the dynamics layer)
            v = saturate(wrap32(self.v + a + self.bias))
            n = 0
            if v > 0:
                while n < int(m.levels) and v > (n + 1) * self.vth:
                    n += 1
            elif v < 0 and m.signed:
                while -n < int(m.levels) and -v > (-n + 1) * self.vth:
                    n -= 1
            self.v = v - n * self.vth
            return n
        if isinstance(m, TernaryIF):
            v = self.v + a + self.bias
            s = 1.0 if v > self.vth else (-1.0 if v < -self.vth else 0.0)
            self.v = v - s * self.vth
            return s
        if isinstance(m, MultiThresholdIF):
            v = self.v + a + self.bias
            if v >= 0:
                n = float(min(max(math.ceil(v / self.vth) - 1, 0), int(m.levels)))
            elif m.signed:
                n = -float(min(max(math.ceil(-v / self.vth) - 1, 0), int(m.levels)))
            else:
                n = 0.0
            self.v = v - n * self.vth
            return n
        if self.fixed:
            act = wrap32(wrap32(a) << 6)
            u1 = wrap32(trunc0(self.u * (4096 - (int(m.du) + 1))) + act)
            self.u = u1 - 2**24 if u1 > 2**23 else (u1 + 2**24 if u1 <= -(2**23) else u1)
            v1 = wrap32(trunc0(self.v * (4096 - int(m.dv))) + self.u + self.bias)
            v = min(max(v1, -(2**23 - 1)), 2**23 - 1)
            s = v > (int(m.vth) << 6)
            self.v = 0 if s else v
            return s
        self.u = self.u * self.ku + a
        v = self.v * self.kv + self.u
        v = v + self.bias
        r = int(m.refractory)
        held = r > 0 and self.ref > 0
        if held:
            v = self.v_reset
            self.ref -= 1
        s = v > self.vth
        if s:
            v = v - self.vth if m.reset == "subtract" else self.v_reset
            if r:
                self.ref = r
        self.v = v
        return s


def simulate_reference(circuit, inputs: dict, steps: int, batch: int):
    """Spikes, states after every step and event counts of ``circuit`` for explicit source
    outputs ``inputs[name]`` ``(steps, batch, size)``.  Returns ``(spikes, states, counts)``:
    ``spikes[node]`` ``(steps, batch, size)``; ``states[pop][var]`` likewise; ``counts[element]
    [field]`` ``(steps, batch)`` int64."""
    fixed = circuit.fixed_point
    pops, sources, projs = circuit.populations, circuit.sources, circuit.projections
    order = circuit.update_order()
    syn = {n: synapses(p, fixed) for n, p in projs.items()}
    fan = {n: {j: len(t) for j, t in syn[n].items()} for n in projs}
    incoming = {n: sorted(pn for pn, p in projs.items() if p.post == n) for n in pops}
    neurons = {n: [[Neuron(p.model, k, p.initial) for k in range(p.size)] for _ in range(batch)]
               for n, p in pops.items()}
    # pending[proj][t] = (values per (b, post), events per (b, post))
    pending = {n: {} for n in projs}
    spikes = {n: np.zeros((steps, batch, p.size), (np.int64 if fixed else float) if p.model.graded_output else bool)
              for n, p in pops.items()}
    states = {n: {var: np.zeros((steps, batch, p.size), np.int64 if fixed else float) for var in p.model.state}
              for n, p in pops.items()}
    counts = {}
    for n, p in pops.items():
        counts[n] = {f: np.zeros((steps, batch), np.int64) for f in
                     ("neuron_updates_active", "neuron_updates_idle", "spikes", "state_bytes_read",
                      "state_bytes_written")}
    for n in sources:
        counts[n] = {"spikes": np.zeros((steps, batch), np.int64)}
    for n in projs:
        counts[n] = {f: np.zeros((steps, batch), np.int64) for f in
                     ("synaptic_acs", "synaptic_macs", "messages", "weight_bytes_read")}
    for t in range(steps):
        for name in order:
            if name in pops:
                p = pops[name]
                for b in range(batch):
                    for k, nrn in enumerate(neurons[name][b]):
                        a = 0 if fixed else 0.0
                        got = 0
                        for pn in incoming[name]:
                            vals, ev = pending[pn].get(t, ({}, {}))
                            x = vals.get((b, k), 0 if fixed else 0.0)
                            if fixed:
                                # Lava's graded Dense/Sparse (graded and count messages) sum in int32
                                x = (wrap32(x) if (projs[pn].message in ("graded", "count") and
                                                   (projs[pn].delay <= 1 or projs[pn].sparse)) else x)
                                x = shift(x, int(projs[pn].weight_exp))
                            a = a + x
                            got += ev.get((b, k), 0)
                        active = nrn.carries() or got > 0
                        s = nrn.step(a)
                        spikes[name][t, b, k] = s
                        for var in p.model.state:
                            states[name][var][t, b, k] = getattr(nrn, var)
                        c = counts[name]
                        c["neuron_updates_active"][t, b] += active
                        c["neuron_updates_idle"][t, b] += not active
                        c["spikes"][t, b] += s != 0
                        c["state_bytes_read"][t, b] += active * p.model.state_bytes
                        c["state_bytes_written"][t, b] += active * p.model.state_bytes
                out = spikes[name][t]
            else:
                out = np.asarray(inputs[name][t])
                counts[name]["spikes"][t] = (out != 0).sum(axis=1)
            for pn, proj in projs.items():
                if proj.pre != name:
                    continue
                graded = proj.message == "graded"
                count = proj.message == "count"
                signed = getattr(getattr(pops.get(proj.pre), "model", None), "signed_output", False)
                vals, ev = pending[pn].setdefault(t + proj.delay, ({}, {}))
                c = counts[pn]
                for b in range(batch):
                    for j in range(out.shape[1]):
                        x = out[b, j]
                        if x == 0 or j not in syn[pn]:
                            continue
                        ops = fan[pn][j] * (int(abs(x)) if count else 1)
                        c["messages"][t, b] += 1
                        c["synaptic_macs" if graded else "synaptic_acs"][t, b] += ops
                        c["weight_bytes_read"][t, b] += ops * (1 if fixed else 4)
                        for i, w in syn[pn][j]:
                            if fixed:
                                if graded or count:
                                    contrib = w * int(x)
                                else:
                                    contrib = (w if x > 0 else -w) if signed else w
                            elif graded or count:
                                contrib = w * float(x)
                            else:
                                contrib = w * (1.0 if x > 0 else -1.0) if signed else w
                            vals[(b, i)] = vals.get((b, i), 0 if fixed else 0.0) + contrib
                            ev[(b, i)] = ev.get((b, i), 0) + 1
    return spikes, states, counts
