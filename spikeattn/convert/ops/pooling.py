"""Max pooling (``max(dim)``, ``amax``): a floating-point host stage in ``exact`` and
``rate`` mode, exact accumulate-only neurons in ``accumulate`` mode.

In ``accumulate`` mode ``prepare`` puts a signed quantiser before the max (unless its input
already is a quantiser's output), so the pooled values are ``vth * n`` with integer
``|n| <= L``.  The running maximum is then ``m <- m + relu(x_j - m)``: ``x_j - m`` is
``vth`` times an integer in ``[-2L, 2L]``, and a ``MultiThresholdIF(vth, 2L)`` neuron with
initial membrane ``vth / 2`` emits exactly that integer's positive part in its first
step.  One neuron per pooled element after the first, no multiplications.  (Mean pooling
is linear and folded: :mod:`.elementwise`.)
"""
from __future__ import annotations

import numbers

import numpy as np

from ..affine import Affine
from ..registry import register_op


def reduce_dims(x, dims) -> list:
    nd = len(x.shape)
    if dims is None or (not isinstance(dims, numbers.Integral) and len(dims) == 0):
        return list(range(nd))
    return sorted({d % nd for d in ([dims] if isinstance(dims, numbers.Integral) else dims)})


def _max(ctx, node, x: Affine, dims: list, keepdim: bool) -> Affine:
    nd = len(x.shape)
    keep = [d for d in range(nd) if d not in dims]
    out_shape = tuple(1 if d in dims else x.shape[d] for d in range(nd)) if keepdim else \
        tuple(x.shape[d] for d in keep)
    red = int(np.prod([x.shape[d] for d in dims]))
    idx = np.arange(x.numel).reshape(x.shape).transpose(keep + dims).reshape(-1, red)
    if ctx.mode != "accumulate":
        def fn(v):
            return v[..., idx].max(axis=-1)
        return ctx.program.host("max", fn, [x], out_shape)
    sel = x.selection()
    if sel is None or np.ptp(sel[2]) != 0:
        ctx.fail("max pooling over values that are not one quantiser's outputs.",
                 "let convert(mode='accumulate') prepare the model (it quantises the input of max).")
    node_x, _, scales = sel
    vth = float(scales[0])
    L = ctx.program.levels[node_x][0]
    m = x.gather(idx[:, 0])
    for j in range(1, red):
        d = x.gather(idx[:, j]) + m.scale_rows(np.full(m.numel, -1.0))
        m = m + ctx.program.quantiser(f"max_{node.name}_{j}", d, vth, 2 * L, False, 0.5 * vth)
    return m.reshape(out_shape)


@register_op("aten.amax.default")
def amax_op(ctx, node, x, dims=(), keepdim=False):
    return _max(ctx, node, x, reduce_dims(x, dims), keepdim)


@register_op("aten.max.dim")
def max_dim_op(ctx, node, x, dim, keepdim=False):
    for u in node.users:
        if len(u.args) > 1 and u.args[1] == 1 and u.users:
            ctx.fail("the indices of max (argmax) have no spiking form.", "use only max(...).values.")
    return (_max(ctx, node, x, reduce_dims(x, dim), keepdim), None)
