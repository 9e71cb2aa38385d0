"""Elementwise linear ops: add, sub, neg, mul / div by a constant, mean and sum pooling,
dropout (removed).  A product of two circuit values goes to the gates of
:meth:`Program.product`."""
from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from ..affine import Affine, broadcast_index, broadcast_to
from ..registry import register_op


def _shape(v):
    return v.shape if isinstance(v, Affine) else np.shape(v)


def _as_affine(v, shape):
    if isinstance(v, Affine):
        return broadcast_to(v, shape)
    return Affine.constant(np.broadcast_to(np.asarray(v, np.float64), shape))


@register_op("aten.add.Tensor", "aten.add.Scalar", "aten.sub.Tensor", "aten.sub.Scalar", "aten.rsub.Scalar",
             "aten.rsub.Tensor")
def add_op(ctx, node, a, b, alpha=1):
    name = str(node.target)
    shape = np.broadcast_shapes(_shape(a), _shape(b))
    a, b = _as_affine(a, shape), _as_affine(b, shape)
    if "rsub" in name:
        a, b = b, a
        return a + b.scale_rows(np.full(b.numel, -float(alpha)))
    sign = -1.0 if "sub" in name else 1.0
    return a + b.scale_rows(np.full(b.numel, sign * float(alpha)))


@register_op("aten.neg.default")
def neg_op(ctx, node, a):
    return a.scale_rows(np.full(a.numel, -1.0))


@register_op("aten.mul.Tensor", "aten.mul.Scalar", "aten.div.Tensor", "aten.div.Scalar")
def mul_op(ctx, node, a, b):
    div = "div" in str(node.target)
    shape = tuple(np.broadcast_shapes(_shape(a), _shape(b)))
    if isinstance(a, Affine) and isinstance(b, Affine):
        if div:
            ctx.fail("division by a variable tensor has no spiking form.",
                     "divide by constants only (mode='accumulate' removes softmax and LayerNorm).")
        n = int(np.prod(shape))
        ia, ib = (np.ascontiguousarray(broadcast_index(x.shape, shape)).reshape(-1) for x in (a, b))
        if a.selection() is None or b.selection() is None:
            ctx.fail("an elementwise product of two unquantised values.", "quantise both operands.")
        return ctx.program.product(f"mul_{node.name}", a, b, shape, ia, ib, np.arange(n))
    if not isinstance(a, Affine):
        a, b = b, a
    c = np.broadcast_to(np.asarray(b, np.float64), shape)
    c = 1.0 / c if div else c
    return broadcast_to(a, shape).scale_rows(np.ascontiguousarray(c).reshape(-1))


def _reduce(x: Affine, dims, keepdim, mean):
    nd = len(x.shape)
    dims = [d % nd for d in ([dims] if isinstance(dims, numbers.Integral) else (dims or range(nd)))]
    keep = [d for d in range(nd) if d not in dims]
    idx = np.arange(x.numel).reshape(x.shape).transpose(keep + dims)
    out_shape = tuple(x.shape[d] for d in keep)
    red = int(np.prod([x.shape[d] for d in dims]))
    n_out = int(np.prod(out_shape))
    rows = np.repeat(np.arange(n_out), red)
    m = sp.csr_matrix((np.full(rows.size, 1.0 / red if mean else 1.0), (rows, idx.reshape(-1))),
                      shape=(n_out, x.numel))
    if keepdim:
        out_shape = tuple(1 if d in dims else x.shape[d] for d in range(nd))
    return x.map_rows(m).reshape(out_shape)


@register_op("aten.mean.dim", "aten.mean.default")
def mean_op(ctx, node, x, dims=None, keepdim=False, dtype=None):
    return _reduce(x, dims, keepdim, True)


@register_op("aten.sum.dim_IntList", "aten.sum.default")
def sum_op(ctx, node, x, dims=None, keepdim=False, dtype=None):
    return _reduce(x, dims, keepdim, False)


@register_op("aten.dropout.default", "aten.feature_dropout.default", "aten.alpha_dropout.default")
def dropout_op(ctx, node, x, *args):
    return x
