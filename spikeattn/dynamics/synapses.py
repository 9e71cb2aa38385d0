"""Synapses as every engine and counter sees them, and the order in which inputs are summed.

:class:`SynapseTable` holds a projection's transposed weights ``w_t`` (pre, post) as CSR —
quantised as Lava's bit-accurate Dense does for fixed-point circuits, explicit zeros removed —
so that the synapses that *exist* (and are counted) are the same for the numpy and compiled
engines, :mod:`spikeattn.counting` (Brian2, Lava) and SANA-FE.

Float summation order (one definition; the numpy, compiled and Brian2 engines follow it, so
float runs agree bit for bit, threshold ties included):

1. within one projection and one sample, the contributions to a post neuron are added
   starting from 0.0 in increasing pre-neuron index (then CSR synapse order) — the order of
   ``np.bincount`` over (sample, pre, synapse); a binary message contributes ``w`` (from a
   signed-output model ``w * sign(s)``), a graded or count message ``w * s``;
2. each projection accumulates into its own buffer (slot ``t + delay``); a population's input
   at step t is ``a_in = 0.0 + acc[p1] + acc[p2] + ...`` over its incoming projections in
   :func:`incoming_order` (sorted by projection name), one addition at a time.

Fixed point: a projection's sum is an exact integer, wrapped to int32 where Lava's Dense /
Sparse accumulate graded spikes in int32 (graded and count messages,
:attr:`SynapseTable.graded_int32_sum`), then
shifted by ``weight_exp``; integer sums do not depend on the order.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import UnsupportedFeatureError
from . import fixed_point as fx


class SynapseTable:
    """The existing synapses of one projection: ``w_t`` (n_pre, n_post) CSR, ``fan_out`` per
    pre neuron, ``structure`` (same pattern, ones), ``weight_bytes`` per synapse read (1 for
    <= 8-bit fixed point, 4 for float32)."""

    def __init__(self, proj, fixed_point: bool, signed_pre: bool = False):
        self.proj = proj
        self.name, self.pre, self.post = proj.name, proj.pre, proj.post
        self.fixed = fixed_point
        self.graded = proj.message == "graded"
        #: "count": a pre output n adds n * w and is |n| accumulates per synapse
        self.count = proj.message == "count"
        #: binary messages from a signed-output model add w * sign(s)
        self.signed_pre = bool(signed_pre) and proj.message == "binary"
        self.delay = int(proj.delay)
        self.weight_exp = int(proj.weight_exp)
        if fixed_point:
            if proj.sparse:
                w = proj.weights.tocsr().copy()
                mode = fx.sign_mode(w.data, proj.sign_mode)
                w.data = fx.quantise_weights(w.data, proj.num_weight_bits, mode)
                w = w.astype(np.int64)
            else:
                w = fx.quantise_weights(proj.weights, proj.num_weight_bits, proj.sign_mode)
            dtype = np.int64
        else:
            w = proj.weights.astype(np.float64)
            dtype = np.float64
        w_t = sp.csr_matrix(w.T, dtype=dtype)
        w_t.eliminate_zeros()
        w_t.sort_indices()
        self.w_t = w_t
        self.dtype = dtype
        self.structure = sp.csr_matrix((np.ones(w_t.nnz, np.int64), w_t.indices, w_t.indptr), shape=w_t.shape)
        self.fan_out = np.diff(w_t.indptr).astype(np.int64)
        self.weight_bytes = 1 if fixed_point else 4
        self.n_pre, self.n_post = w_t.shape
        # Lava's bit-accurate Dense, Sparse and DelaySparse accumulate graded spikes in int32
        # (``W.dot(s)``), so a sum beyond 32 bits wraps before the weight_exp shift; binary
        # sums and DelayDense's graded sums are int64 (only the shifted output wraps, which
        # the LIF step reproduces).
        # Count messages are graded spikes there too (num_message_bits > 0): same rule.
        self.graded_int32_sum = fixed_point and (self.graded or self.count) and (self.delay <= 1 or proj.sparse)

    @property
    def synapses(self) -> int:
        return int(self.w_t.nnz)


def signed_output(circuit, node: str) -> bool:
    """Whether ``node``'s outputs carry a sign (a population of a signed-output model)."""
    pop = circuit.populations.get(node)
    return bool(pop is not None and getattr(pop.model, "signed_output", False))


def synapse_tables(circuit) -> dict[str, SynapseTable]:
    """The :class:`SynapseTable` of every projection of a flat circuit (a structured one is
    refused: its projections are not matrices; run ``circuit.expand()`` first)."""
    if getattr(circuit, "structured", False):
        raise UnsupportedFeatureError(
            f"circuit '{circuit.name}' has structured projections (shared, index, conv, product), which are not "
            "synapse tables. Fix: circuit.expand() gives the neuron-level circuit, or run it on engine='torch'.")
    fixed = circuit.fixed_point
    return {n: SynapseTable(p, fixed, signed_output(circuit, p.pre)) for n, p in circuit.projections.items()}


def incoming_order(circuit) -> dict[str, list[str]]:
    """Population -> names of its incoming projections, in the order their inputs are summed."""
    out: dict[str, list[str]] = {n: [] for n in circuit.populations}
    for name in sorted(circuit.projections):
        out[circuit.projections[name].post].append(name)
    return out


def finish_sum(tab: SynapseTable, acc: np.ndarray) -> np.ndarray:
    """A projection's accumulated input as the post population receives it (fixed point:
    exact integer, int32 wrap where Lava wraps, ``weight_exp`` shift; float: unchanged)."""
    if not tab.fixed:
        return acc
    a = np.asarray(acc, np.int64)
    if tab.graded_int32_sum:
        a = fx.wrap32(a)
    return fx.shift(a, tab.weight_exp)
