"""Linear maps with constant weights: linear, conv2d (patch embedding and general),
embedding lookup, matmul / bmm / mm with one constant operand.

All are folded into the affine value (``M <- W M``); no neurons are added.  ``embedding``
reads integer token ids as one-hot sources (``vocab`` neurons per position).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..affine import Affine
from ..registry import register_op
from ..values import IntInput


@register_op("aten.linear.default")
def linear_op(ctx, node, x, w, b=None):
    if not isinstance(x, Affine) or isinstance(w, Affine):
        ctx.fail("linear with variable weights.", "use a constant weight (a parameter).")
    w = np.asarray(w, np.float64)
    rest = x.numel // x.shape[-1]
    out = x.map_rows(sp.kron(sp.identity(rest, format="csr"), sp.csr_matrix(w), format="csr"))
    shape = x.shape[:-1] + (w.shape[0],)
    out = out.reshape(shape)
    if b is not None:
        out.bias = out.bias + np.tile(np.asarray(b, np.float64), rest)
    return out


def matmul_pairs(sa, sb):
    """Index pairs of ``A @ B`` (numpy matmul broadcasting): for every output element and
    every summed index, the flat indices into A, B and the output."""
    a1, b1 = len(sa) == 1, len(sb) == 1
    sa2 = (1,) + tuple(sa) if a1 else tuple(sa)
    sb2 = tuple(sb) + (1,) if b1 else tuple(sb)
    batch = np.broadcast_shapes(sa2[:-2], sb2[:-2])
    n, d, m = sa2[-2], sa2[-1], sb2[-1]
    IA = np.broadcast_to(np.arange(int(np.prod(sa))).reshape(sa2), batch + (n, d))
    IB = np.broadcast_to(np.arange(int(np.prod(sb))).reshape(sb2), batch + (d, m))
    PA = np.broadcast_to(IA[..., :, None, :], batch + (n, m, d))
    PB = np.broadcast_to(np.swapaxes(IB, -1, -2)[..., None, :, :], batch + (n, m, d))
    out_shape = batch + (n, m)
    IO = np.broadcast_to(np.arange(int(np.prod(out_shape))).reshape(out_shape)[..., None], batch + (n, m, d))
    if a1:
        out_shape = out_shape[:-2] + (m,)
    if b1:
        out_shape = out_shape[:-1]
    return PA.reshape(-1), PB.reshape(-1), IO.reshape(-1), tuple(out_shape)


@register_op("aten.matmul.default", "aten.bmm.default", "aten.mm.default")
def matmul_op(ctx, node, a, b):
    ia, ib, io, shape = matmul_pairs(a.shape if isinstance(a, Affine) else np.shape(a),
                                     b.shape if isinstance(b, Affine) else np.shape(b))
    n_out = int(np.prod(shape))
    if isinstance(a, Affine) and isinstance(b, Affine):
        if a.selection() is None or b.selection() is None:
            ctx.fail("a product of two unquantised values.", "convert() quantises matmul operands; "
                     "register a converter for the op producing them.")
        return ctx.program.product(f"mm_{node.name}", a, b, shape, ia, ib, io)
    var, const, iv, ic = (a, np.asarray(b, np.float64), ia, ib) if isinstance(a, Affine) else \
        (b, np.asarray(a, np.float64), ib, ia)
    m = sp.csr_matrix((const.reshape(-1)[ic], (io, iv)), shape=(n_out, var.numel))
    return var.map_rows(m).reshape(shape)


@register_op("aten.conv2d.default", "aten.convolution.default")
def conv2d_op(ctx, node, x, w, b=None, stride=1, padding=0, dilation=1, groups=1, *rest):
    import torch
    if "convolution" in str(node.target):
        if stride is True or (rest and rest[0]):
            ctx.fail("transposed convolution has no converter.")
    if groups != 1:
        ctx.fail(f"groups={groups}; only groups=1 converts.")
    if isinstance(padding, str):
        ctx.fail("string padding; give integers.")
    w = np.asarray(w, np.float64)
    if len(x.shape) != 4:
        ctx.fail(f"input of shape {x.shape}; expected (1, C, H, W).")
    _, C, H, W = x.shape
    O, _, kh, kw = w.shape
    idx = torch.arange(1, x.numel + 1, dtype=torch.float64).reshape(x.shape)
    cols = torch.nn.functional.unfold(idx, (kh, kw), dilation=dilation, padding=padding, stride=stride)[0]
    cols = cols.numpy().astype(np.int64) - 1               # (C*kh*kw, Lout), -1 = padding
    K, Lout = cols.shape
    st = (stride, stride) if isinstance(stride, int) else tuple(stride)
    pd = (padding, padding) if isinstance(padding, int) else tuple(padding)
    dl = (dilation, dilation) if isinstance(dilation, int) else tuple(dilation)
    Ho = (H + 2 * pd[0] - dl[0] * (kh - 1) - 1) // st[0] + 1
    Wo = (W + 2 * pd[1] - dl[1] * (kw - 1) - 1) // st[1] + 1
    wf = w.reshape(O, K)
    o, k, l = np.meshgrid(np.arange(O), np.arange(K), np.arange(Lout), indexing="ij")
    c = cols[k, l]
    keep = c >= 0
    m = sp.csr_matrix((wf[o, k][keep], ((o * Lout + l)[keep], c[keep])), shape=(O * Lout, x.numel))
    out = x.map_rows(m).reshape((1, O, Ho, Wo))
    if b is not None:
        out.bias = out.bias + np.repeat(np.asarray(b, np.float64), Lout)
    return out


@register_op("aten.embedding.default")
def embedding_op(ctx, node, w, ids, *rest):
    if not isinstance(ids, IntInput):
        ctx.fail("embedding of a computed index.", "look up the model input directly.")
    w = np.asarray(w, np.float64)
    vocab, dim = w.shape
    pos = int(np.prod(ids.shape))
    src = ctx.program.add_input(ids.shape, kind="count", vocab=vocab, hint="tokens")
    m = sp.kron(sp.identity(pos, format="csr"), sp.csr_matrix(w.T), format="csr")
    return Affine(ids.shape + (dim,), {src: m}, np.zeros(pos * dim))
