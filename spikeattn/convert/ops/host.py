"""Quantisers (neurons) and the floating-point host stages (softmax, LayerNorm, RMSNorm).

``spikeattn.quant`` becomes a ``MultiThresholdIF`` population (see
:func:`spikeattn.convert.quantiser`); ``softmax``, ``layer_norm`` and ``rms_norm`` are host stages in
``exact`` and ``rate`` mode (floating point per step, stated in ``fidelity.json``) and are
refused in ``accumulate`` mode, where :func:`~spikeattn.convert.modes.prepare` replaces them.
"""
from __future__ import annotations

import numpy as np

from ..affine import Affine
from ..registry import register_op


@register_op("spikeattn.quant.default")
def quant_op(ctx, node, x, vth, levels, signed, v0):
    vth = float(np.asarray(vth))
    out = ctx.program.quantiser(f"q_{node.name}", x, vth, int(levels), bool(signed), float(v0) * vth)
    stack = node.meta.get("nn_module_stack") or {}
    paths = [v[0] for v in stack.values()]
    roles = getattr(ctx, "attention_modules", set())
    if any(p in roles for p in paths):
        ctx.program.attention.append((next(iter(out.terms)), x.shape, vth))
    return out


def _host_check(ctx, what):
    if ctx.mode == "accumulate":
        ctx.fail(f"{what} in accumulate mode (no floating-point {what} per step).",
                 "let convert(mode='accumulate') prepare the model (it replaces softmax and folds LayerNorm).")


@register_op("aten.softmax.int", "aten._softmax.default")
def softmax_op(ctx, node, x, dim, *rest):
    _host_check(ctx, "softmax")
    shape = x.shape
    d = dim % len(shape)

    def fn(v):
        v = v.reshape(v.shape[:-1] + shape)
        ax = v.ndim - len(shape) + d
        e = np.exp(v - v.max(axis=ax, keepdims=True))
        return (e / e.sum(axis=ax, keepdims=True)).reshape(v.shape[:-len(shape)] + (-1,))
    return ctx.program.host("softmax", fn, [x], shape)


@register_op("aten.layer_norm.default")
def layer_norm_op(ctx, node, x, normalized_shape, w=None, b=None, eps=1e-5, *rest):
    _host_check(ctx, "LayerNorm")
    shape, k = x.shape, len(normalized_shape)
    w = None if w is None else np.asarray(w, np.float64)
    b = None if b is None else np.asarray(b, np.float64)

    def fn(v):
        v = v.reshape(v.shape[:-1] + shape)
        ax = tuple(range(v.ndim - k, v.ndim))
        c = v - v.mean(axis=ax, keepdims=True)
        y = c / np.sqrt((c * c).mean(axis=ax, keepdims=True) + eps)
        y = y * w if w is not None else y
        y = y + b if b is not None else y
        return y.reshape(v.shape[:-len(shape)] + (-1,))
    return ctx.program.host("layer_norm", fn, [x], shape)


@register_op("aten.rms_norm.default")
def rms_norm_op(ctx, node, x, normalized_shape, w=None, eps=None):
    _host_check(ctx, "RMSNorm")
    shape, k = x.shape, len(normalized_shape)
    w = None if w is None else np.asarray(w, np.float64)
    eps = float(np.finfo(np.float64).eps) if eps is None else float(eps)   # torch: eps=None is finfo(dtype).eps

    def fn(v):
        v = v.reshape(v.shape[:-1] + shape)
        ax = tuple(range(v.ndim - k, v.ndim))
        y = v / np.sqrt((v * v).mean(axis=ax, keepdims=True) + eps)
        y = y * w if w is not None else y
        return y.reshape(v.shape[:-len(shape)] + (-1,))
    return ctx.program.host("rms_norm", fn, [x], shape)


PREPARED = ["aten.relu.default", "aten.gelu.default", "aten.silu.default", "aten.scaled_dot_product_attention.default"]


@register_op(*PREPARED)
def prepared_op(ctx, node, *args, **kwargs):
    ctx.fail("should have been rewritten by convert()'s prepare step.",
             "pass the model (or ExportedProgram) to spikeattn.convert.convert().")


__all__ = ["Affine"]
