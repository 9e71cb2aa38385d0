"""Shape ops (view, reshape, permute, transpose, select, slice, cat, flatten, expand, ...),
indexing the results of ``split``/``chunk``/``unbind`` (``getitem``), and ``where`` /
``masked_fill`` with a constant condition.

Each is applied by torch to an index tensor ``arange(numel).reshape(shape)``; the result
says which element of the input each output element is, and the affine value is gathered
accordingly (no neurons, no synapses).  ``cat``/``stack`` pool their inputs first.
"""
from __future__ import annotations

import operator

import numpy as np

from ..affine import Affine
from ..registry import register_op

SHAPE_OPS = ["aten.view.default", "aten.reshape.default", "aten._unsafe_view.default", "aten.permute.default",
             "aten.transpose.int", "aten.t.default", "aten.select.int", "aten.slice.Tensor", "aten.unsqueeze.default",
             "aten.squeeze.dim", "aten.squeeze.dims", "aten.squeeze.default", "aten.expand.default",
             "aten.contiguous.default", "aten.clone.default", "aten.flatten.using_ints", "aten.unflatten.int",
             "aten.alias.default", "aten.detach.default", "aten.movedim.int", "aten.swapaxes.default",
             "aten.narrow.default", "aten.repeat.default", "aten.lift_fresh_copy.default", "aten.to.dtype",
             "aten._to_copy.default", "aten.type_as.default", "aten.expand_as.default", "aten.view_as.default",
             "aten.reshape_as.default"]
CASTS = {"aten.to.dtype", "aten._to_copy.default", "aten.type_as.default", "aten.lift_fresh_copy.default",
          "aten.detach.default", "aten.alias.default", "aten.clone.default", "aten.contiguous.default"}
SPLIT_OPS = ["aten.split.Tensor", "aten.split_with_sizes.default", "aten.chunk.default", "aten.unbind.int"]


def _torch():
    import torch
    return torch


def _index(x: Affine):
    torch = _torch()
    return torch.arange(x.numel, dtype=torch.float64).reshape(x.shape)


def _torchify(a):
    torch = _torch()
    if isinstance(a, np.ndarray):
        return torch.from_numpy(a)
    if isinstance(a, Affine):
        return torch.zeros(a.shape, dtype=torch.float64)
    if isinstance(a, (list, tuple)):
        return type(a)(_torchify(e) for e in a)
    return a


def _gather(x: Affine, out) -> Affine:
    return x.gather(out.detach().numpy().astype(np.int64))


@register_op(*SHAPE_OPS)
def shape_op(ctx, node, x, *args, **kwargs):
    if not isinstance(x, Affine):
        ctx.fail(f"expected a tensor first argument, got {type(x).__name__}.")
    args = [_torchify(a) for a in args]
    kwargs = {k: v for k, v in kwargs.items() if k not in ("dtype", "memory_format", "layout", "device",
                                                            "pin_memory", "non_blocking", "copy")}
    if str(node.target) in CASTS:
        return x
    return _gather(x, node.target(_index(x), *args, **kwargs))


@register_op(*SPLIT_OPS)
def split_op(ctx, node, x, *args, **kwargs):
    outs = node.target(_index(x), *args, **kwargs)
    return [_gather(x, o) for o in outs]


def pool(values) -> tuple[Affine, list]:
    """Stack values (Affine or constants) into one flat Affine; return it and, per value,
    its index tensor into the pool."""
    torch = _torch()
    parts, idx, off = [], [], 0
    for v in values:
        a = v if isinstance(v, Affine) else Affine.constant(np.asarray(v, np.float64))
        parts.append(a)
        idx.append(torch.arange(off, off + a.numel, dtype=torch.float64).reshape(a.shape))
        off += a.numel
    terms = {}
    import scipy.sparse as sp
    for k in {k for a in parts for k in a.terms}:
        cols = next(a.terms[k].shape[1] for a in parts if k in a.terms)
        terms[k] = sp.vstack([a.terms[k] if k in a.terms else sp.csr_matrix((a.numel, cols)) for a in parts],
                             format="csr")
    return Affine((off,), terms, np.concatenate([a.bias for a in parts])), idx


@register_op(operator.getitem)
def getitem_op(ctx, node, seq, i):
    """An element of a converted ``split`` / ``chunk`` / ``unbind`` (a list of values)."""
    if not isinstance(seq, (list, tuple)):
        ctx.fail(f"indexing a {type(seq).__name__}; only the results of split, chunk and unbind are indexed here.",
                 "index tensors with slicing (x[:, 0]) instead.")
    return seq[i]


@register_op("aten.cat.default", "aten.concat.default", "aten.stack.default")
def cat_op(ctx, node, tensors, dim=0):
    p, idx = pool(tensors)
    return _gather(p, node.target(idx, dim))


@register_op("aten.where.self")
def where_op(ctx, node, cond, a, b):
    if not isinstance(cond, np.ndarray):
        ctx.fail("only a constant condition converts.")
    torch = _torch()
    p, (ia, ib) = pool([a, b])
    return _gather(p, torch.where(torch.from_numpy(cond), *torch.broadcast_tensors(ia, ib)))


@register_op("aten.masked_fill.Scalar")
def masked_fill_op(ctx, node, x, mask, value):
    """``x.masked_fill(mask, value)`` with a constant mask (a causal ``tril`` buffer): the
    masked elements become the constant ``value`` (``prepare`` fills ``-1e4`` for ``-inf``)."""
    if not isinstance(mask, np.ndarray):
        ctx.fail("masked_fill with a mask computed from the input; only a constant mask converts.",
                 "build the mask from constants (a buffer, torch.tril of ones) or pass attn_mask to the attention.")
    shape = np.broadcast_shapes(x.shape, mask.shape)
    if tuple(shape) != tuple(x.shape):
        ctx.fail(f"a mask of shape {mask.shape} that broadcasts x of shape {x.shape} to {tuple(shape)}.",
                 "give a mask that broadcasts to x.")
    return where_op(ctx, node, np.ascontiguousarray(np.broadcast_to(mask, shape)), np.float64(value), x)
