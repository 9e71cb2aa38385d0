"""Structured projections (:mod:`spikeattn.ir.structured`) as tensor operations, never expanded.

* :class:`~spikeattn.ir.structured.SharedProjection`: the pre output viewed as ``(G, n_in)``,
  one ``(G, n_in) @ W^T`` per sample (a batched matmul over the last axis), times ``scale[g]``;
  shared projections whose matrices are equal or negated (the converter's positive and
  negative streams read ``W`` and ``-W``) hold one matrix (:func:`link_shared`), and a post
  sums the message values of its terms of one matrix before a single product, which a post
  that reads the negated sum takes from the step's memo (:func:`shared_value`);
* :class:`~spikeattn.ir.structured.IndexProjection`: a gather, ``m[:, index] * w``;
* :class:`~spikeattn.ir.structured.ConvProjection`: ``torch.nn.functional.conv2d``;
* :class:`~spikeattn.ir.structured.ProductProjection`: ``weight * einsum(a, b)``, masked
  (:mod:`.product`).

Counts are the definitions of :mod:`spikeattn.ir.structured`, so they equal, element by
element, those of the expansion (:meth:`spikeattn.ir.Circuit.expand`) on the numpy engine.
Shared, index and conv projections have a ``fan_out`` per pre neuron (the expansion's
synapses) and are counted with the node's other projections; ``received`` multiplies the
pre spikes with the synapse pattern (``W != 0``, ``index >= 0 and w != 0``, ``K != 0``) —
for a shared matrix without zeros it is just "any pre spike in the group".  A product counts
itself: ``synaptic_acs = sum |a| |b|`` and ``messages = sum |a| [b != 0]`` over the unmasked
terms, and a post neuron receives an event where an unmasked term has ``a != 0`` and
``b != 0``.  The definitions are for integer levels (binary, ternary, multi-threshold
outputs, bool inputs, or inputs with declared ``levels``); for other graded values ``|a|``
and ``|b|`` are truncated, as a count message counts ``trunc(|s|)`` accumulates.
"""
from __future__ import annotations

import math

import numpy as np

from ...ir.structured import ConvProjection, IndexProjection, SharedProjection
from .lowering import Context, Lowered, register_lowering


@register_lowering(SharedProjection)
class SharedLowering(Lowered):
    def __init__(self, proj: SharedProjection, ctx: Context, table=None):
        G, n_in, n_out = proj.groups, proj.n_in, proj.n_out
        self._common(proj, ctx, G * n_in, G * n_out)
        self.G, self.n_in, self.n_out = G, n_in, n_out
        self.period = n_in
        self.proj, self.fan_out = proj, proj.fan_out()
        self.full = bool(np.all(proj.weights != 0))

    def device_bytes(self, batch: int) -> int:
        w, ctx = self.proj.weights, self.ctx
        shared = (ctx.device.type == "cpu" and ctx.dtype is ctx.torch.float64 and w.dtype == np.float64
                  and w.flags.c_contiguous and w.flags.writeable)    # build() makes no copy of W
        return self.n_in * self.n_out * ctx.itemsize * ((0 if shared else 1) + (0 if self.full else 1)) \
            + self.G * ctx.itemsize

    def build(self) -> None:
        w = self.proj.weights
        # a transposed view: on the CPU in float64 the tensor shares the projection's array
        # (no second copy of the weights; BLAS reads W^T in place)
        self.w_t = self.ctx.tensor(w).T
        self.pattern = None if self.full else self.ctx.tensor(w != 0).T
        self.scale = None if self.proj.scale is None else self.ctx.tensor(self.proj.scale[:, None])

    #: the lowering whose matrix this one's is, times ``sign`` (:func:`link_shared`)
    leader, sign = None, 1

    def describe(self) -> str:
        shares = "" if self.leader is self else \
            f", {'-' if self.sign < 0 else ''}W of '{self.leader.name}'"
        return f"shared ({self.G} x {self.n_out}x{self.n_in})" + (", full" if self.full else "") + shares

    def emit(self, t, outs, nzs, cols):
        m = self.ctx.memo(("message", self.message, self.ctx.signed[self.pres[0]]), (outs[0],),
                          lambda: self.message_value(outs[0], nzs[0], self.pres[0]))
        term = SharedTerm(self, m)
        # delay 0: the post sums its terms of one matrix first (one product); else now
        return (term if self.delay == 0 else shared_value(self.ctx, [term])), nzs[0]

    def received(self, nz):
        nz = nz.view(-1, self.G, self.n_in)
        if self.full:
            return nz.any(dim=2, keepdim=True).expand(-1, self.G, self.n_out).reshape(-1, self.n_post)
        return (nz.to(self.ctx.dtype) @ self.pattern > 0).reshape(-1, self.n_post)


class SharedTerm:
    """A shared projection's input to its post, not yet multiplied: ``m @ W^T`` is
    ``sign * (m @ W_leader^T)``."""

    __slots__ = ("lw", "m")

    def __init__(self, lw: SharedLowering, m):
        self.lw, self.m = lw, m


def link_shared(lowered: dict) -> None:
    """Give every shared lowering its ``leader``: the first lowering (in name order) whose
    matrix equals its own or its negation (``sign``), without scales — the converter's
    positive and negative streams read ``W`` and ``-W``.  Only the leader holds the matrix."""
    groups: dict = {}
    for name in sorted(lowered):
        lw = lowered[name]
        if not isinstance(lw, SharedLowering):
            continue
        lw.leader, lw.sign = lw, 1
        w = lw.proj.weights
        if lw.proj.scale is not None or not w.size:
            continue
        first = w.flat[np.flatnonzero(w)[:1]]
        key = (w.shape, float(np.abs(w).sum()), float(abs(first[0])) if first.size else 0.0)
        for other in groups.get(key, ()):
            ow = other.proj.weights
            if np.array_equal(ow, w) or np.array_equal(ow, -w):
                lw.leader, lw.sign = other, (1 if np.array_equal(ow, w) else -1)
                break
        else:
            groups.setdefault(key, []).append(lw)


def shared_value(ctx: Context, terms: list):
    """The summed input ``sum_k m_k @ W_k^T`` of shared terms that all have one leader
    (``W_k = sign_k W``): ``(sum_k sign_k m_k) @ W^T``, one product, exact wherever the sums
    are (the positive and negative streams never both hold a value at one neuron, so
    ``p - m`` rounds nothing).  Terms in pre-name order with the first sign positive, so a
    post that reads the negated sum gets it from the memo of this step."""
    lead = terms[0].lw.leader
    terms = sorted(terms, key=lambda tm: tm.lw.pres[0])
    flip = terms[0].lw.sign
    signs = tuple(tm.lw.sign * flip for tm in terms)

    def product():
        x = terms[0].m
        for tm, sg in zip(terms[1:], signs[1:]):
            x = x + tm.m if sg > 0 else x - tm.m
        return (x.view(-1, lead.G, lead.n_in) @ lead.w_t).reshape(-1, lead.n_post)
    a = ctx.memo(("shared", id(lead), signs), tuple(tm.m for tm in terms), product)
    if flip < 0:
        a = -a
    scale = terms[0].lw.scale
    if scale is not None:
        a = (a.view(-1, lead.G, lead.n_out) * scale).reshape(-1, lead.n_post)
    return a


def arrived_sum(ctx: Context, vals: list):
    """``vals[0] + vals[1] + ...`` (in order), where the :class:`SharedTerm` s of one leader
    are summed first (:func:`shared_value`, at the place of the first)."""
    groups: dict = {}
    for v in vals:
        if isinstance(v, SharedTerm):
            key = id(v.lw.leader) if v.lw.scale is None else id(v)
            groups.setdefault(key, []).append(v)
    a_in, done = None, set()
    for v in vals:
        if isinstance(v, SharedTerm):
            key = id(v.lw.leader) if v.lw.scale is None else id(v)
            if key in done:
                continue
            done.add(key)
            v = shared_value(ctx, groups[key])
        a_in = v if a_in is None else a_in + v
    return a_in


@register_lowering(IndexProjection)
class IndexLowering(Lowered):
    def __init__(self, proj: IndexProjection, ctx: Context, table=None):
        self._common(proj, ctx, math.prod(proj.pre_shape), proj.index.size)
        self.proj, self.fan_out = proj, proj.fan_out()

    def device_bytes(self, batch: int) -> int:
        return self.n_post * (8 + self.ctx.itemsize + 1)

    def build(self) -> None:
        p = self.proj
        w = np.broadcast_to(np.asarray(p.weights, np.float64), p.index.shape)
        exists = (p.index >= 0) & (w != 0)
        self.src = self.ctx.tensor(np.maximum(p.index, 0), self.ctx.torch.int64)
        self.w = self.ctx.tensor(np.where(exists, w, 0.0))
        self.exists = self.ctx.tensor(exists, self.ctx.torch.bool)

    def describe(self) -> str:
        return "index"

    def emit(self, t, outs, nzs, cols):
        m = self.message_value(outs[0], nzs[0], self.pres[0])
        return m.index_select(1, self.src) * self.w, nzs[0]

    def received(self, nz):
        return nz.index_select(1, self.src) & self.exists


@register_lowering(ConvProjection)
class ConvLowering(Lowered):
    def __init__(self, proj: ConvProjection, ctx: Context, table=None):
        self._common(proj, ctx, math.prod(proj.pre_shape), math.prod(proj.post_shape))
        self.proj, self.fan_out = proj, proj.fan_out()
        self.in_shape = (proj.weights.shape[1], *proj.input_hw)

    def device_bytes(self, batch: int) -> int:
        return 2 * self.proj.weights.size * self.ctx.itemsize

    def build(self) -> None:
        self.k = self.ctx.tensor(self.proj.weights)
        self.pattern = self.ctx.tensor(self.proj.weights != 0)
        self.conv = self.ctx.torch.nn.functional.conv2d

    def describe(self) -> str:
        return "conv"

    def _conv(self, x, kernel):
        p = self.proj
        return self.conv(x.view(-1, *self.in_shape), kernel, stride=p.stride, padding=p.padding).reshape(-1, self.n_post)

    def emit(self, t, outs, nzs, cols):
        return self._conv(self.message_value(outs[0], nzs[0], self.pres[0]), self.k), nzs[0]

    def received(self, nz):
        return self._conv(nz.to(self.ctx.dtype), self.pattern) > 0
