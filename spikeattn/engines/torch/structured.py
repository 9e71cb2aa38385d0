"""Structured projections (:mod:`spikeattn.ir.structured`) as tensor operations, never expanded.

* :class:`~spikeattn.ir.structured.SharedProjection`: the pre output viewed as ``(G, n_in)``,
  one ``(G, n_in) @ W^T`` per sample (a batched matmul over the last axis), times ``scale[g]``;
* :class:`~spikeattn.ir.structured.IndexProjection`: a gather, ``m[:, index] * w``;
* :class:`~spikeattn.ir.structured.ConvProjection`: ``torch.nn.functional.conv2d``;
* :class:`~spikeattn.ir.structured.ProductProjection`: ``weight * einsum(a, b)``, masked.

Counts are the definitions of :mod:`spikeattn.ir.structured`, so they equal, element by
element, those of the expansion (:meth:`spikeattn.ir.Circuit.expand`) on the numpy engine.
Shared, index and conv projections have a ``fan_out`` per pre neuron (the expansion's
synapses) and are counted with the node's other projections; ``received`` multiplies the
pre spikes with the synapse pattern (``W != 0``, ``index >= 0 and w != 0``, ``K != 0``) —
for a shared matrix without zeros it is just "any pre spike in the group".  A product counts
itself: ``synaptic_acs = sum |a| |b|`` and ``messages = sum |a| [b != 0]`` over the unmasked
terms, and a post neuron receives an event where ``einsum(|a|, |b|) > 0``.  When both outputs
are non-negative integer levels that einsum is the value's own (one einsum), and when ``b``
is 0/±1 the messages are the ops.  The definitions are for integer levels (binary, ternary,
multi-threshold outputs, bool inputs, or inputs with declared ``levels``); for other graded
values ``|a|`` and ``|b|`` are truncated, as a count message counts ``trunc(|s|)``
accumulates, and the events are where ``a != 0`` and ``b != 0``.
"""
from __future__ import annotations

import math

import numpy as np

from ...ir.neurons_convert import MultiThresholdIF, TernaryIF
from ...ir.neurons_extra import GradedReLU
from ...ir.population import Population
from ...ir.structured import ConvProjection, IndexProjection, ProductProjection, SharedProjection
from .lowering import Context, Lowered, register_lowering


@register_lowering(SharedProjection)
class SharedLowering(Lowered):
    def __init__(self, proj: SharedProjection, ctx: Context, table=None):
        G, n_in, n_out = proj.groups, proj.n_in, proj.n_out
        self._common(proj, ctx, G * n_in, G * n_out)
        self.G, self.n_in, self.n_out = G, n_in, n_out
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


def _value_kind(node, bool_input: bool, declared: bool) -> tuple[bool, bool, bool]:
    """``(non_negative, unit, integer)`` of a node's outputs: never negative; every non-zero
    output has magnitude 1 (``|s| == [s != 0]``); integer levels.  ``bool_input``: a source's
    encoded input is bool; ``declared``: the product declares a bound (``levels``), i.e.
    integer levels, for this input."""
    if isinstance(node, Population):
        m = node.model
        if not m.graded_output:
            return True, True, True
        if isinstance(m, TernaryIF):
            return False, True, True
        if isinstance(m, MultiThresholdIF):
            return not m.signed, m.levels == 1, True
        return isinstance(m, GradedReLU), False, declared
    return bool_input, bool_input, bool_input or declared


@register_lowering(ProductProjection)
class ProductLowering(Lowered):
    """``weight * einsum(a, b)`` over the unmasked outputs; counts itself (module docstring)."""

    def __init__(self, proj: ProductProjection, ctx: Context, table=None):
        n_a, n_b = math.prod(proj.pre_shape), math.prod(proj.pre_b_shape)
        self._common(proj, ctx, n_a + (n_b if proj.pre_b != proj.pre else 0), math.prod(proj.post_shape))
        self.proj = proj
        a, b, o = proj.subscripts
        self.eq = f"Z{a},Z{b}->Z{o}"
        self.shapes = ((-1, *proj.pre_shape), (-1, *proj.pre_b_shape))
        self.kinds = [_value_kind(ctx.circuit.node(n), ctx.bool_inputs.get(n, False), proj.levels is not None)
                      for n in (proj.pre, proj.pre_b)]

    def device_bytes(self, batch: int) -> int:
        return self.n_post * (self.ctx.itemsize + 8) + 4 * batch * self.n_post * 8

    def event_bytes(self, batch: int) -> int:
        return batch * self.n_post * 8

    def build(self) -> None:
        ctx, p = self.ctx, self.proj
        self.mask = None if p.mask is None else ctx.tensor(p.full_mask())
        self.mask64 = None if p.mask is None else ctx.tensor(p.full_mask(), ctx.torch.float64)
        self.weight = float(p.weight)
        (a_nonneg, _, a_int), (b_nonneg, b_unit, b_int) = self.kinds
        self.integer = a_int and b_int
        # one einsum for the value and the ops: non-negative integer levels, float64 (exact)
        self.shared_value = a_nonneg and b_nonneg and self.integer and ctx.dtype is ctx.torch.float64
        self.msgs_are_ops = b_unit

    def describe(self) -> str:
        return f"product {self.proj.equation}"

    def _einsum(self, a, b, mask):
        e = self.ctx.torch.einsum(self.eq, a.view(self.shapes[0]), b.view(self.shapes[1])).reshape(-1, self.n_post)
        return e if mask is None else e * mask.reshape(1, -1)

    def _levels(self, x, k: int):
        """``|x|`` in float64, truncated where the outputs are not integer levels (``|s|``
        accumulates per message, as count messages count them)."""
        x = x.to(self.ctx.torch.float64).abs()
        return x if self.kinds[k][2] else x.trunc()

    def emit(self, t, outs, nzs, cols):
        torch, dtype = self.ctx.torch, self.ctx.dtype
        (a, b), (nz_a, nz_b) = outs, nzs
        v = self._einsum(a.to(dtype), b.to(dtype), self.mask)
        if self.shared_value:
            terms = v
        else:
            la = self._levels(a, 0)
            terms = self._einsum(la, self._levels(b, 1), self.mask64)
        ops = terms.sum(dim=1)
        self.counts[0, t] = ops
        if self.msgs_are_ops:
            self.counts[1, t] = ops
        else:
            la = self._levels(a, 0) if self.shared_value else la
            self.counts[1, t] = self._einsum(la, nz_b.to(torch.float64), self.mask64).sum(dim=1)
        # a post neuron receives an event where an unmasked term has a != 0 and b != 0: for
        # integer levels where the term's |a| |b| > 0
        return v * self.weight, (terms if self.integer else (nz_a, nz_b))

    def received(self, event):
        if isinstance(event, tuple):
            nz_a, nz_b = event
            dtype = self.ctx.dtype
            return self._einsum(nz_a.to(dtype), nz_b.to(dtype), self.mask) > 0
        return event > 0
