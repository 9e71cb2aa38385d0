"""Spiking attention as snnTorch modules with ``to_circuit()`` (same spikes, step for step).

``SDSA(tokens, dim)``: spike-driven self-attention (Spike-driven Transformer) built from
``nn.Linear`` and ``snn.Leaky`` (surrogate gradients, trainable with BPTT).  Per step, with
binary input spikes ``x`` ``(batch, N, D)``::

    Q, K, V = Leaky_q(x Wq^T + bq), Leaky_k(x Wk^T + bk), Leaky_v(x Wv^T + bv)   (B, N, D)
    kv      = Leaky_kv( sum_n K[:, n] * V[:, n] )                                 (B, D)
    y       = Q * kv[:, None, :]                                                  (B, N, D)

Products of binary spikes are coincidences (AND).  ``to_circuit()`` builds the same
computation within one step (delay-0 projections): Q/K/V as LIF populations (the mapping
of :mod:`spikeattn.convert.snntorch_path`, including the delay-1 self-projection for
``reset_delay=True``), ``K * V`` and ``Q * kv`` as memoryless coincidence neurons
(``GradedReLU(vth=1)`` fed two unit spikes, read by binary synapses), ``kv`` as a LIF.
Every synapse is an accumulate.  Call :meth:`reset` between samples (snnTorch state).

``SSA(tokens, dim, heads)`` (Spikformer spiking self-attention, no softmax) lives in
:mod:`.snntorch_ssa` and is re-exported here.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..convert.snntorch_path import leaky_model
from ..errors import require
from ..ir import Circuit
from ..ir.neurons_extra import GradedReLU


def SDSA(tokens: int, dim: int, beta: float = 0.5, threshold: float = 1.0, kv_threshold: float = 1.0,
         reset_delay: bool = True, reset_mechanism: str = "subtract"):
    """An :class:`torch.nn.Module` instance (torch and snntorch imported lazily).

    ``reset_delay=False`` with subtraction is refused: snnTorch then needs ``mem > 2 th`` to
    fire again after a subtraction that left it above threshold (see
    :mod:`spikeattn.convert.snntorch_path`), which the kv accumulator (inputs up to N) hits."""
    from ..errors import ParameterError
    if not reset_delay and reset_mechanism == "subtract":
        raise ParameterError("SDSA", "reset_delay", "is False with reset_mechanism='subtract'.",
                             "use reset_delay=True (snnTorch's default) or reset_mechanism='zero'.")
    torch = require("torch", "torch", "spikeattn.models.snntorch_layers")
    snn = require("snntorch", "torch", "spikeattn.models.snntorch_layers")

    class _SDSA(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens, self.dim = tokens, dim
            self.q, self.k, self.v = (torch.nn.Linear(dim, dim) for _ in range(3))
            mk = lambda th: snn.Leaky(beta=beta, threshold=th, reset_delay=reset_delay,  # noqa: E731
                                      reset_mechanism=reset_mechanism)
            self.lq, self.lk, self.lv, self.lkv = mk(threshold), mk(threshold), mk(threshold), mk(kv_threshold)
            self.reset()

        def reset(self):
            self.mem = {n: None for n in ("lq", "lk", "lv", "lkv")}

        def _leaky(self, name, x):
            m = getattr(self, name)
            if self.mem[name] is None:
                self.mem[name] = m.init_leaky()
            s, self.mem[name] = m(x, self.mem[name])
            return s

        def forward(self, x):
            """One step: ``x`` ``(batch, N, D)`` spikes -> ``(y, {"q", "k", "v", "kv"})``."""
            q, k, v = (self._leaky(n, f(x)) for n, f in (("lq", self.q), ("lk", self.k), ("lv", self.v)))
            kv = self._leaky("lkv", (k * v).sum(1))
            return q * kv[:, None, :], {"q": q, "k": k, "v": v, "kv": kv}

        def to_circuit(self, name: str = "sdsa") -> Circuit:
            N, D = self.tokens, self.dim
            c = Circuit(name)
            c.add_source("x", N * D)
            eye = sp.identity(N, format="csr")
            for pop, lin, leak in (("q", self.q, self.lq), ("k", self.k, self.lk), ("v", self.v, self.lv)):
                w = lin.weight.detach().double().numpy()
                b = np.tile(lin.bias.detach().double().numpy(), N)
                model, self_w = leaky_model(pop, leak, N * D, b)
                c.add_population(pop, N * D, model)
                c.connect("x", pop, sp.kron(eye, sp.csr_matrix(w), format="csr"), delay=0)
                if self_w is not None:
                    c.connect(pop, pop, sp.diags(np.broadcast_to(self_w, (N * D,))).tocsr(), delay=1,
                              name=f"{pop}.reset_delay")
            ones = sp.identity(N * D, format="csr")
            c.add_population("kv_and", N * D, GradedReLU(vth=1.0))
            c.connect("k", "kv_and", ones, delay=0)
            c.connect("v", "kv_and", ones, delay=0)
            model, self_w = leaky_model("kv", self.lkv, D, 0.0)
            c.add_population("kv", D, model)
            c.connect("kv_and", "kv", sp.kron(np.ones((1, N)), sp.identity(D), format="csr"), delay=0)
            if self_w is not None:
                c.connect("kv", "kv", sp.diags(np.broadcast_to(self_w, (D,))).tocsr(), delay=1,
                          name="kv.reset_delay")
            c.add_population("y", N * D, GradedReLU(vth=1.0))
            c.connect("q", "y", ones, delay=0)
            c.connect("kv", "y", sp.kron(np.ones((N, 1)), sp.identity(D), format="csr"), delay=0)
            c.expose("y", "y")
            return c

    return _SDSA()


from .snntorch_ssa import SSA  # noqa: E402,F401  (Spikformer SSA: same module family, own file)
