"""Event-driven synaptic propagation for the numpy engine.

A projection is lowered to its transposed weights ``W_T`` (pre, post) — a CSR matrix, so
that only the rows of pre-synaptic neurons that spiked are touched: the work per step is
proportional to (spikes x fan-out), not to the size of the weight matrix.  Fixed-point
projections quantise their weights once, as Lava's bit-accurate Dense does.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...ir import Projection
from . import fixed_point as fx


class LoweredProjection:
    """Quantised, transposed weights of one projection plus the counters it needs."""

    def __init__(self, proj: Projection, fixed_point: bool, weight_bytes: int):
        self.proj = proj
        self.fixed = fixed_point
        self.graded = proj.message == "graded"
        self.delay = proj.delay
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
        w_t = sp.csr_matrix(w.T if not sp.issparse(w) else w.T, dtype=dtype)
        w_t.eliminate_zeros()
        self.w_t = w_t
        self.structure = sp.csr_matrix((np.ones(w_t.nnz, np.int64), w_t.indices, w_t.indptr), shape=w_t.shape)
        self.fan_out = np.diff(w_t.indptr).astype(np.int64)   # existing synapses per pre neuron
        self.dtype = dtype
        self.weight_bytes = weight_bytes
        self.n_post = w_t.shape[1]
        # Lava's bit-accurate Dense, Sparse and DelaySparse accumulate graded spikes in int32
        # (``W.dot(s)``), so a sum beyond 32 bits wraps before the weight_exp shift; binary
        # sums and DelayDense's graded sums are int64 (only the shifted output wraps, which
        # the LIF step reproduces).
        self.graded_int32_sum = fixed_point and self.graded and (proj.delay <= 1 or proj.sparse)

    @property
    def synapses(self) -> int:
        return int(self.w_t.nnz)

    def propagate(self, s: np.ndarray):
        """Deliver pre-synaptic output ``s`` (batch, n_pre).

        Only the CSR rows of the neurons that spiked are read: for each (sample, spiking
        neuron) the row's synapses are gathered and summed into the targets with one
        ``bincount`` (deterministic summation order: by spike, then by synapse index).

        Returns ``(a, received, ops, messages)``: input to post (batch, n_post) with the
        fixed-point ``weight_exp`` shift applied; events received per post neuron (batch,
        n_post); synaptic ops per sample (batch,); messages per sample (batch,).
        """
        batch = s.shape[0]
        rows, cols = np.nonzero(s)
        lengths = self.fan_out[cols]
        messages = np.bincount(rows[lengths > 0], minlength=batch).astype(np.int64)
        ops = np.bincount(rows, weights=lengths, minlength=batch).astype(np.int64)
        size = batch * self.n_post
        total = int(lengths.sum())
        if total == 0:
            return (np.zeros((batch, self.n_post), self.dtype), np.zeros((batch, self.n_post), np.int64),
                    ops, messages)
        starts = self.w_t.indptr[cols]
        # flat indices of all gathered synapses: concatenated ranges [start, start + length)
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        idx = offsets + np.arange(total)
        target = np.repeat(rows * self.n_post, lengths) + self.w_t.indices[idx]
        w = self.w_t.data[idx]
        if self.graded:
            w = w * np.repeat(s[rows, cols].astype(self.dtype), lengths)
        received = np.bincount(target, minlength=size).reshape(batch, self.n_post).astype(np.int64)
        if self.fixed and np.abs(w).sum() >= 2**53:
            # float64 bincount would no longer be exact: integer scatter-add instead
            a = np.zeros(size, np.int64)
            np.add.at(a, target, w.astype(np.int64))
            a = a.reshape(batch, self.n_post)
        else:
            a = np.bincount(target, weights=w, minlength=size).reshape(batch, self.n_post)
        if self.fixed:
            a = np.rint(a).astype(np.int64)
            if self.graded_int32_sum:
                a = fx.wrap32(a)
            a = fx.shift(a, self.proj.weight_exp)
        return a, received, ops, messages
