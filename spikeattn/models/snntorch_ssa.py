"""Spikformer spiking self-attention (SSA) as an snnTorch module with ``to_circuit()``.

``SSA(tokens, dim, heads)`` (Zhou et al., "Spikformer", ICLR 2023, eq. 10-12; BatchNorm
left out, or folded into the Linear) built from ``nn.Linear`` and ``snn.Leaky`` (surrogate
gradients, trainable with BPTT).  Per step ``t``, with binary input spikes ``x`` ``(B, N, D)``
(dimensionless 0/1), heads ``h = 1..H`` of ``c = D / H`` channels::

    Q, K, V = Leaky_q(x Wq^T + bq), Leaky_k(x Wk^T + bk), Leaky_v(x Wv^T + bv)  (B, N, D) spikes
    A_h     = Q_h K_h^T                       (B, H, N, N) integer coincidence counts, 0..c
    X_h     = A_h V_h                         (B, H, N, c) integers, 0..N c
    S       = Leaky_attn(scale * X)           (B, N, D) spikes (no softmax)
    y       = Leaky_o(S Wo^T + bo)            (B, N, D) spikes

Every Leaky is snnTorch's (membrane in units of the threshold's input, ``beta`` per step;
see :mod:`spikeattn.convert.snntorch_path` for its equations and their LIF mapping).  Currents are in the
same dimensionless units as the Linear outputs; ``scale`` (Spikformer's ``s = 0.125``)
weights the integer map.

``to_circuit()`` builds the same computation within one step (delay-0 projections; the
Leaky's ``reset_delay=True`` subtraction is the delay-1 self-projection of
:func:`spikeattn.convert.snntorch_path.leaky_model`), from the motifs of :mod:`spikeattn.circuits.motifs`::

    C[h,i,j,a] = AND(Q[i,h,a], K[j,h,a])                    coincidence LIF (threshold 3/2)
    A[h,i,j]   = sum_a C[h,i,j,a]                           graded accumulator (GradedReLU, vth 0)
    G[h,i,j,e] = A[h,i,j] if V[j,h,e] else 0                graded gate, bound c
    attn[i,h,e] = LIF(scale * sum_j G[h,i,j,e])             graded synapses of weight scale
    y          = LIF(attn Wo^T + bo)

So ``Q K^T`` is a count of coincidences and ``(Q K^T) V`` a sum of gated counts, exactly the
integers of the module; spikes agree step for step.  Synaptic ops: the Q/K/V/O linears and
the coincidences are accumulates; the map -> gate and gate -> attn messages are graded
(multiply-accumulates).  Call :meth:`reset` between samples (snnTorch state).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..circuits import motifs
from ..convert.snntorch_path import leaky_model
from ..errors import ParameterError, require
from ..ir import Circuit


def _check(tokens, dim, heads, scale, reset_delay, reset_mechanism):
    for name, val in (("tokens", tokens), ("dim", dim), ("heads", heads)):
        if not isinstance(val, (int, np.integer)) or isinstance(val, bool) or val < 1:
            raise ParameterError("SSA", name, f"is {val!r}; must be an int >= 1.")
    if dim % heads:
        raise ParameterError("SSA", "heads", f"{heads} heads do not divide dim={dim}.",
                             "choose dim as a multiple of heads.")
    if not np.isfinite(scale) or scale <= 0:
        raise ParameterError("SSA", "scale", f"is {scale!r}; must be a positive number.")
    if not reset_delay and reset_mechanism == "subtract":
        raise ParameterError("SSA", "reset_delay", "is False with reset_mechanism='subtract'.",
                             "use reset_delay=True (snnTorch's default) or reset_mechanism='zero'.")


def add_linear_leaky(c: Circuit, pop: str, pre: str, lin, leak, n_tokens: int, message: str = "binary",
                     bias=None) -> str:
    """Population ``pop`` = ``Leaky(Linear(pre))`` applied per token (block-diagonal weights,
    delay 0), with its reset self-projection.  ``bias``: ``(tokens, out)`` extra bias (e.g. a
    learned position term) added to the Linear's."""
    w = lin.weight.detach().cpu().double().numpy()
    b = np.zeros(lin.out_features) if lin.bias is None else lin.bias.detach().cpu().double().numpy()
    b = np.tile(b, (n_tokens, 1))
    if bias is not None:
        b = b + np.asarray(bias, np.float64).reshape(n_tokens, lin.out_features)
    n = n_tokens * lin.out_features
    model, self_w = leaky_model(pop, leak, n, b.ravel())
    c.add_population(pop, n, model)
    c.connect(pre, pop, sp.kron(sp.identity(n_tokens), sp.csr_matrix(w), format="csr"), delay=0,
              message=message, name=f"{pre}->{pop}")
    if self_w is not None:
        c.connect(pop, pop, sp.diags(np.broadcast_to(self_w, (n,))).tocsr(), delay=1, name=f"{pop}.reset_delay")
    return pop


def SSA(tokens: int, dim: int, heads: int = 1, beta: float = 0.5, threshold: float = 1.0,
        attn_threshold: float = 0.5, scale: float = 0.125, reset_delay: bool = True,
        reset_mechanism: str = "subtract"):
    """An :class:`torch.nn.Module` instance (torch and snntorch imported lazily); see the
    module docstring.  ``threshold``: of the Q/K/V/output Leakys; ``attn_threshold``: of the
    attention Leaky (Spikformer uses 0.5).  ``reset_delay=False`` with subtraction is
    refused (snnTorch's immediate subtraction needs ``mem > 2 th`` to refire, which the
    attention input, up to ``scale * N * c``, reaches; see :mod:`spikeattn.convert.snntorch_path`)."""
    _check(tokens, dim, heads, scale, reset_delay, reset_mechanism)
    torch = require("torch", "torch", "spikeattn.models.snntorch_ssa")
    snn = require("snntorch", "torch", "spikeattn.models.snntorch_ssa")
    names = ("lq", "lk", "lv", "lattn", "lo")

    class _SSA(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens, self.dim, self.heads, self.scale = int(tokens), int(dim), int(heads), float(scale)
            self.q, self.k, self.v, self.o = (torch.nn.Linear(dim, dim) for _ in range(4))
            mk = lambda th: snn.Leaky(beta=beta, threshold=th, reset_delay=reset_delay,  # noqa: E731
                                      reset_mechanism=reset_mechanism)
            self.lq, self.lk, self.lv, self.lo = (mk(threshold) for _ in range(4))
            self.lattn = mk(attn_threshold)
            self.reset()

        def reset(self):
            self.mem = {n: None for n in names}

        def _leaky(self, name, x):
            m = getattr(self, name)
            if self.mem[name] is None:
                self.mem[name] = m.init_leaky()
            s, self.mem[name] = m(x, self.mem[name])
            return s

        def forward(self, x):
            """One step: ``x`` ``(B, N, D)`` spikes -> ``(y, {"q", "k", "v", "map", "attn"})``."""
            b, n, d = x.shape
            h, c = self.heads, d // self.heads
            x = x.to(self.q.weight.dtype)
            q, k, v = (self._leaky(nm, f(x)) for nm, f in (("lq", self.q), ("lk", self.k), ("lv", self.v)))
            split = lambda z: z.reshape(b, n, h, c).transpose(1, 2)  # noqa: E731  (B, H, N, c)
            a = split(q) @ split(k).transpose(-1, -2)                 # (B, H, N, N) counts
            xs = (a @ split(v)).transpose(1, 2).reshape(b, n, d)      # (B, N, D) integers
            attn = self._leaky("lattn", self.scale * xs)
            y = self._leaky("lo", self.o(attn.to(self.o.weight.dtype)))   # spikes come as float32
            return y, {"q": q, "k": k, "v": v, "map": a, "attn": attn}

        def to_circuit(self, name: str = "ssa") -> Circuit:
            """The same computation as a Circuit: source ``x`` ``(N*D)``, outputs ``y``,
            ``attn`` and ``map`` (see the module docstring)."""
            N, D, H = self.tokens, self.dim, self.heads
            c = D // H
            circ = Circuit(name)
            circ.add_source("x", N * D)
            for pop, lin, leak in (("q", self.q, self.lq), ("k", self.k, self.lk), ("v", self.v, self.lv)):
                add_linear_leaky(circ, pop, "x", lin, leak, N)
            hh, ii, jj, aa = (z.ravel() for z in np.meshgrid(np.arange(H), np.arange(N), np.arange(N),
                                                             np.arange(c), indexing="ij"))
            motifs.add_and(circ, "coinc", (H, N, N, c), [("q", ii * D + hh * c + aa), ("k", jj * D + hh * c + aa)],
                           delays=[0, 0])
            pair = (hh * N + ii) * N + jj
            motifs.add_accumulator(circ, "map", (H, N, N), "coinc", np.arange(hh.size), pair, delay=0)
            motifs.add_gate(circ, "gate", (H, N, N, c), ("map", pair), ("v", jj * D + hh * c + aa), bound=c,
                            value_delay=0, gate_delay=0)
            model, self_w = leaky_model("attn", self.lattn, N * D, 0.0)
            circ.add_population("attn", N * D, model)
            w = motifs.index_weights(N * D, hh.size, ii * D + hh * c + aa, np.arange(hh.size), self.scale)
            circ.connect("gate", "attn", w, name="gate->attn", message="graded", delay=0)
            if self_w is not None:
                circ.connect("attn", "attn", sp.diags(np.broadcast_to(self_w, (N * D,))).tocsr(), delay=1,
                             name="attn.reset_delay")
            add_linear_leaky(circ, "y", "attn", self.o, self.lo, N)
            for port in ("y", "attn", "map"):
                circ.expose(port, port)
            circ.meta["snntorch"] = {"kind": "ssa", "tokens": N, "dim": D, "heads": H, "scale": self.scale}
            return circ

    return _SSA()
