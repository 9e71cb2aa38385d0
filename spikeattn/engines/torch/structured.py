"""Structured projections (:mod:`spikeattn.ir.structured`) as tensor operations, never expanded.

* :class:`~spikeattn.ir.structured.SharedProjection`: the pre output viewed as ``(G, n_in)``,
  one ``(G, n_in) @ W^T`` per sample (a batched matmul over the last axis), times ``scale[g]``;
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
        return self.n_in * self.n_out * self.ctx.itemsize * (1 if self.full else 2) + self.G * self.ctx.itemsize

    def build(self) -> None:
        w = self.proj.weights
        self.w_t = self.ctx.tensor(w.T)
        self.pattern = None if self.full else self.ctx.tensor(w.T != 0)
        self.scale = None if self.proj.scale is None else self.ctx.tensor(self.proj.scale[:, None])

    def describe(self) -> str:
        return f"shared ({self.G} x {self.n_out}x{self.n_in})" + (", full" if self.full else "")

    def emit(self, t, outs, nzs, cols):
        m = self.message_value(outs[0], nzs[0], self.pres[0]).view(-1, self.G, self.n_in)
        a = m @ self.w_t
        if self.scale is not None:
            a = a * self.scale
        return a.reshape(-1, self.n_post), nzs[0]

    def received(self, nz):
        nz = nz.view(-1, self.G, self.n_in)
        if self.full:
            return nz.any(dim=2, keepdim=True).expand(-1, self.G, self.n_out).reshape(-1, self.n_post)
        return (nz.to(self.ctx.dtype) @ self.pattern > 0).reshape(-1, self.n_post)


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
