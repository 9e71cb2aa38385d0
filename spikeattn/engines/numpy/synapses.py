"""Event-driven synaptic propagation for the numpy engine.

A projection is read from its :class:`~spikeattn.dynamics.synapses.SynapseTable` (the
transposed, quantised weights as CSR), so that only the rows of pre-synaptic neurons that
spiked are touched: the work per step is proportional to (spikes x fan-out), not to the size
of the weight matrix.  The summation order is the one defined in
:mod:`spikeattn.dynamics.synapses`.
"""
from __future__ import annotations

import numpy as np

from ...dynamics.synapses import SynapseTable, finish_sum


def deliver(tab: SynapseTable, s: np.ndarray):
    """Deliver pre-synaptic output ``s`` (batch, n_pre) over one projection.

    For each (sample, spiking neuron) the CSR row's synapses are gathered and summed into the
    targets with one ``bincount`` (order: sample, pre neuron ascending, synapse).

    Count messages do ``|s|`` ops per synapse.  Returns ``(a, received, ops, messages)``:
    input to post (batch, n_post) as the post receives it (fixed point: int32 wrap where Lava wraps, ``weight_exp`` shift); events
    received per post neuron (batch, n_post); synaptic ops per sample (batch,); messages per
    sample (batch,).
    """
    batch = s.shape[0]
    n_post = tab.n_post
    rows, cols = np.nonzero(s)
    lengths = tab.fan_out[cols]
    messages = np.bincount(rows[lengths > 0], minlength=batch).astype(np.int64)
    per_event = lengths * np.abs(s[rows, cols]).astype(np.int64) if tab.count else lengths
    ops = np.bincount(rows, weights=per_event, minlength=batch).astype(np.int64)
    size = batch * n_post
    total = int(lengths.sum())
    if total == 0:
        return (np.zeros((batch, n_post), tab.dtype), np.zeros((batch, n_post), np.int64), ops, messages)
    starts = tab.w_t.indptr[cols]
    # flat indices of all gathered synapses: concatenated ranges [start, start + length)
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    idx = offsets + np.arange(total)
    target = np.repeat(rows * n_post, lengths) + tab.w_t.indices[idx]
    w = tab.w_t.data[idx]
    if tab.graded or tab.count:
        w = w * np.repeat(s[rows, cols].astype(tab.dtype), lengths)
    elif tab.signed_pre:
        w = w * np.repeat(np.sign(s[rows, cols]).astype(tab.dtype), lengths)
    received = np.bincount(target, minlength=size).reshape(batch, n_post).astype(np.int64)
    if tab.fixed:
        if np.abs(w).sum() >= 2**53:
            # float64 bincount would no longer be exact: integer scatter-add instead
            a = np.zeros(size, np.int64)
            np.add.at(a, target, w.astype(np.int64))
        else:
            a = np.rint(np.bincount(target, weights=w, minlength=size)).astype(np.int64)
        a = finish_sum(tab, a.reshape(batch, n_post))
    else:
        a = np.bincount(target, weights=w, minlength=size).reshape(batch, n_post)
    return a, received, ops, messages
