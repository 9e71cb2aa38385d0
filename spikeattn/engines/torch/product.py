"""Product projections (:class:`~spikeattn.ir.structured.ProductProjection`) as tensor operations.

Value: ``weight * (einsum(a, b) ⊙ mask)``, an exact integer sum times ``weight`` wherever
both outputs are integer levels.  The sum is formed in the cheapest exact way:

* both outputs binary (bool tensors) and no letter summed (``id,d->id``), or the same letters
  in both (``jd,jd->d``): ``a & b`` over the aligned axes, then a byte sum over the summed
  axes (integers; no float pass over the inputs);
* no letter summed: ``a * b`` broadcast (no einsum);
* else ``torch.einsum``, in float32 when that is exact — both integer levels with bounds
  ``L_a``, ``L_b`` and ``L_a * L_b * S <= 2**24`` (``S``: the terms summed into one output):
  every partial sum is then an integer float32 holds exactly, whatever the order; else in the
  run's dtype.

Counts (module docstring of :mod:`.structured`): ``synaptic_acs = sum |a| |b|`` and
``messages = sum |a| [b != 0]`` over the unmasked terms (``trunc`` of non-integer values).
Without a mask they come in closed form from the marginals — ``sum_shared (sum_a-only |a|)
(sum_b-only |b|)``, ``O(|a| + |b|)`` work, float64 (exact); with a mask, for non-negative
integer levels, the ops are the sum of the value's own integers, and only a masked product of
signed levels takes its own einsums.  Where ``b`` is 0/±1 the messages are the ops.

Events (the active-update rule): a post neuron receives one where an unmasked term has
``a != 0`` and ``b != 0``; for non-negative integer levels that is where the value's
integer is positive, else ``einsum([a != 0], [b != 0]) > 0`` (float32: a sum of non-negative
terms is positive iff one is), computed only when some post neuron does not carry state.
"""
from __future__ import annotations

import hashlib
import math

import numpy as np

from ...ir.neurons_convert import MultiThresholdIF, TernaryIF
from ...ir.neurons_extra import GradedReLU
from ...ir.population import Population
from ...ir.structured import ProductProjection
from .counters import group_count
from .lowering import Context, Lowered, register_lowering

#: float32 holds every integer up to this exactly
F32_EXACT = 1 << 24


def value_kind(node, bool_input: bool, declared: int | None) -> tuple[bool, bool, bool, int | None]:
    """``(non_negative, unit, integer, bound)`` of a node's outputs: never negative; every
    non-zero output has magnitude 1; integer levels; ``|s| <= bound`` (None: unbounded).
    ``bool_input``: a source's encoded input is bool; ``declared``: the product's declared
    bound (``levels``) for this input, or None."""
    if isinstance(node, Population):
        m = node.model
        if not m.graded_output:
            return True, True, True, 1
        if isinstance(m, TernaryIF):
            return False, True, True, 1
        if isinstance(m, MultiThresholdIF):
            return not m.signed, m.levels == 1, True, int(m.levels)
        return isinstance(m, GradedReLU), False, declared is not None, declared
    if bool_input:
        return True, True, True, 1
    return False, False, declared is not None, declared


def _aligned(x, sub: str, shape: tuple, letters: str):
    """``x`` ``(batch, prod(shape))`` with axes ``sub`` as a view with one axis per letter of
    ``letters`` (in that order; size 1 where ``sub`` lacks the letter)."""
    x = x.view(-1, *shape)
    order = sorted(range(len(sub)), key=lambda k: letters.index(sub[k]))
    x = x.permute(0, *(k + 1 for k in order))
    return x[(slice(None),) + tuple(slice(None) if ch in sub else None for ch in letters)]


@register_lowering(ProductProjection)
class ProductLowering(Lowered):
    """``weight * einsum(a, b)`` over the unmasked outputs; counts itself (module docstring)."""

    def __init__(self, proj: ProductProjection, ctx: Context, table=None):
        n_a, n_b = math.prod(proj.pre_shape), math.prod(proj.pre_b_shape)
        self._common(proj, ctx, n_a + (n_b if proj.pre_b != proj.pre else 0), math.prod(proj.post_shape))
        self.proj = proj
        a, b, o = self.subs = proj.subscripts
        self.eq = f"Z{a},Z{b}->Z{o}"
        self.shapes = (tuple(proj.pre_shape), tuple(proj.pre_b_shape))
        self.summed = "".join(ch for ch in dict.fromkeys(a + b) if ch not in o)
        self.order = o + self.summed               # aligned axes: the output's, then the summed ones
        self.hadamard = set(a) == set(b)           # a & b, then a sum over the summed axes
        # ... with the same layout and the summed letters leading: the sum is a group count
        self.prefix_sum = bool(self.summed) and a == b and set(a[:len(self.summed)]) == set(self.summed) \
            and a[len(self.summed):] == o
        self.terms = math.prod(proj.axis_sizes[ch] for ch in self.summed)
        declared = proj.levels or (None, None)
        self.kinds = [value_kind(ctx.circuit.node(n), ctx.bool_inputs.get(n, False), d)
                      for n, d in zip((proj.pre, proj.pre_b), declared)]
        (a_nonneg, _, a_int, la), (b_nonneg, b_unit, b_int, lb) = self.kinds
        self.integer = a_int and b_int
        self.shared_value = a_nonneg and b_nonneg and self.integer   # ops = sum of the value's integers
        self.msgs_are_ops = b_unit
        torch = ctx.torch
        exact32 = self.integer and la is not None and lb is not None and la * lb * self.terms <= F32_EXACT
        self.cdtype = torch.float32 if exact32 or ctx.dtype is torch.float32 else ctx.dtype
        self.ops_dtype = torch.float32 if exact32 else torch.float64     # the |a| |b| einsum of a masked product
        # the value's integers are exact (float64 below 2**53, or float32 within its bound)
        self.raw_exact = exact32 or self.cdtype is torch.float64
        # the |a| [b != 0] einsum of a masked product: float32 if |a| <= L_a is an exact level bound
        self.msg_dtype = torch.float32 if a_int and la is not None and la * self.terms <= F32_EXACT else torch.float64
        # marginals: letters of a only, of b only, and shared (closed-form counts without a mask)
        self.shared = "".join(ch for ch in a if ch in b)
        # the ops of non-negative levels: the sum of the value's integers where that reads fewer
        # numbers than the marginals' product (or a mask rules the marginals out)
        marginal_size = math.prod(proj.axis_sizes[ch] for ch in self.shared)
        self.ops_from_value = self.shared_value and self.raw_exact and (
            proj.mask is not None or self.n_post <= marginal_size)

    def device_bytes(self, batch: int) -> int:
        return self.n_post * (self.ctx.itemsize + 8) + 4 * batch * self.n_post * 8

    def event_bytes(self, batch: int) -> int:
        return batch * self.n_post * 8

    def build(self) -> None:
        ctx, p = self.ctx, self.proj
        self.mask = None if p.mask is None else ctx.tensor(p.full_mask(), ctx.torch.bool).reshape(1, *p.post_shape)
        self._masks = {}
        self.weight = float(p.weight)
        # products of the same outputs with the same equation and mask share their sums in a step
        mask_key = None if p.mask is None else hashlib.sha1(np.ascontiguousarray(p.full_mask()).tobytes()).hexdigest()
        self.key = (self.eq, self.shapes, mask_key)

    def describe(self) -> str:
        return f"product {self.proj.equation} ({str(self.cdtype).replace('torch.', '')})"

    # ------------------------------------------------------------------ the integer sums
    def _masked(self, v):
        """``v`` ``(batch, *post_shape)`` times the mask (a bool mask for a bool ``v``)."""
        if self.mask is None:
            return v
        if v.dtype is self.ctx.torch.bool:
            return v & self.mask
        m = self._masks.get(v.dtype)
        if m is None:
            m = self._masks[v.dtype] = self.mask.to(v.dtype)
        return v * m

    def _sum(self, a, b, dtype):
        """``einsum(a, b) ⊙ mask`` ``(batch, *post_shape)``: bool or int32 for two bool
        operands (a & b), else in ``dtype``."""
        return self.ctx.memo(("sum", dtype) + self.key, (a, b), lambda: self._sum_now(a, b, dtype))

    def _sum_now(self, a, b, dtype):
        torch = self.ctx.torch
        (sa, sb, _), o = self.subs, self.subs[2]
        if a.dtype is torch.bool and b.dtype is torch.bool and self.prefix_sum:
            # same letters in both, the summed ones leading: a & b as laid out, summed per output
            v = group_count(torch, (a & b).view(a.shape[0], -1), self.n_post)
            return self._masked(v.view(-1, *self.proj.post_shape))
        if a.dtype is torch.bool and b.dtype is torch.bool and (self.hadamard or not self.summed):
            v = _aligned(a, sa, self.shapes[0], self.order) & _aligned(b, sb, self.shapes[1], self.order)
            if self.summed:
                v = v.view(torch.uint8).sum(dim=tuple(range(1 + len(o), v.dim())), dtype=torch.int32)
            return self._masked(v)
        a, b = a.to(dtype), b.to(dtype)
        if not self.summed:
            return self._masked(_aligned(a, sa, self.shapes[0], o) * _aligned(b, sb, self.shapes[1], o))
        return self._masked(torch.einsum(self.eq, a.view(-1, *self.shapes[0]), b.view(-1, *self.shapes[1])))

    def _level(self, x, k: int):
        """``|x|`` (bool stays bool), truncated where the outputs are not integer levels."""
        if x.dtype is self.ctx.torch.bool:
            return x
        integer = self.kinds[k][2]
        return self.ctx.memo(("level", integer), (x,), lambda: x.abs() if integer else x.abs().trunc())

    def _marginal(self, x, k: int):
        """``x`` summed over the letters of operand ``k`` that the other lacks, with the
        shared letters in ``self.shared`` order: float64 ``(batch, *shared sizes)``."""
        torch = self.ctx.torch
        sub = self.subs[k]
        x = x.view(-1, *self.shapes[k])
        dims = tuple(1 + i for i, ch in enumerate(sub) if ch not in self.shared)
        if x.dtype is torch.bool and dims and dims == tuple(range(1, 1 + len(dims))):
            # the summed letters lead: a count per kept element over the leading groups
            keep = x.shape[1 + len(dims):]
            x = group_count(torch, x.reshape(x.shape[0], -1), math.prod(keep)).view(-1, *keep).to(torch.float64)
        elif x.dtype is torch.bool:
            x = x.view(torch.uint8)
            x = (x.sum(dim=dims, dtype=torch.int32) if dims else x).to(torch.float64)
        else:
            x = x.sum(dim=dims, dtype=torch.float64) if dims else x.to(torch.float64)
        kept = [ch for ch in sub if ch in self.shared]
        return x.permute(0, *(1 + kept.index(ch) for ch in self.shared)) if kept else x

    def _total(self, la, lb, dtype):
        """``sum over the unmasked terms of la * lb`` per sample, float64 ``(batch,)``."""
        return self.ctx.memo(("total", dtype) + self.key, (la, lb), lambda: self._total_now(la, lb, dtype))

    def _total_now(self, la, lb, dtype):
        if self.mask is None:
            prod = self._marginal(la, 0) * self._marginal(lb, 1)
            return prod.reshape(prod.shape[0], -1).sum(dim=1)
        v = self._sum(la, lb, dtype)
        return v.reshape(v.shape[0], -1).sum(dim=1, dtype=self.ctx.torch.float64)

    # ------------------------------------------------------------------ a step
    def emit(self, t, outs, nzs, cols):
        torch, ctx = self.ctx.torch, self.ctx
        (a, b), (nz_a, nz_b) = outs, nzs
        raw = self._sum(a, b, self.cdtype)
        if self.ops_from_value:
            ops = raw.reshape(raw.shape[0], -1).sum(dim=1, dtype=torch.float64)
        else:
            la = self._level(a, 0)
            ops = self._total(la, self._level(b, 1), self.ops_dtype)
        self.counts[0, t] = ops
        if self.msgs_are_ops:
            self.counts[1, t] = ops
        else:
            la = self._level(a, 0) if self.shared_value and self.raw_exact else la
            self.counts[1, t] = self._total(la, nz_b, self.msg_dtype)
        value = raw.reshape(-1, self.n_post).to(ctx.dtype)
        if self.weight != 1.0:      # in place on a new tensor only (raw may be shared through the memo)
            value = value * self.weight if value is raw or value.data_ptr() == raw.data_ptr() else \
                value.mul_(self.weight)
        # a post neuron receives an event where an unmasked term has a != 0 and b != 0: for
        # non-negative integer levels where the value's integer is positive
        return value, (raw if self.shared_value else (nz_a, nz_b))

    def received(self, event):
        if isinstance(event, tuple):
            event = self._sum(*event, self.ctx.torch.float32)
        return (event if event.dtype is self.ctx.torch.bool else event > 0).reshape(-1, self.n_post)
