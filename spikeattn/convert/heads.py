"""Attention-head pruning by importance, on a prepared (``modes.prepare``) graph module.

Finding heads: every attention of the prepared graph is ``A @ V`` with ``A`` the output of
the attention-map quantiser (role ``relu_attention`` or ``softmax``) and ``V`` of shape
``(b, H, n, dh)``; walking back through shape ops and quantisers from ``V`` and from the
two operands of the score product ``Q K^T`` reaches the ``linear`` layers producing
``Q``, ``K``, ``V``; walking forward from ``A @ V`` through shape ops reaches the output
projection ``O``.  Head ``h`` owns output features ``h*dh .. h*dh+dh-1`` of ``Q``, ``K``,
``V`` (rows of their weights and entries of their biases) and input features of ``O``
(columns of its weight): the ``reshape(b, n, H, dh)`` layout of ``nn.MultiheadAttention``
and of explicit ViT attention.

Importance (ablation form of Michel et al. 2019, "Are Sixteen Heads Really Better than
One?"): on the calibration inputs ``x``, with ``p`` the model's softmax output and
``p_{-h}`` the output with head ``h`` masked (its weights zeroed)::

    I_h = mean_x KL(p(x) || p_{-h}(x))          (nats; label-free, >= 0)

A head whose output is already zero has ``I_h = 0`` exactly and ranks last.

Pruning (default, :func:`remove_heads`) cuts head ``h`` out: Q/K/V lose those rows and
bias entries, O those columns, and the head reshapes of the graph get ``H - 1`` heads, so
the converter builds no neuron, threshold line, product gate or synapse for it (the
circuit equals that of the same model written with ``H - 1`` heads).  A layer keeps at
least one head; pruning all heads of one layer only zeroes them (:func:`zero_head`):
then the converter drops the zero weights from its sparse projections, the head's Q/K/V
quantisers receive no synapses and no bias and emit level 0 at every step (signed:
``ceil(0) - 1 -> 0``; attention map with ``v0 = 1/2``: ``ceil(1/2) - 1 = 0``), so its
lines and gates stay allocated but carry no events; per token the circuit loses
``3 * dh * fan_in`` synapses of the Q/K/V projections (dense weights, no LayerNorm folded
into them).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError, SpikeattnError

_PASS = {"view", "reshape", "transpose", "permute", "contiguous", "clone", "_unsafe_view", "t", "alias",
         "expand", "unflatten", "flatten", "mul"}


class HeadSearchError(SpikeattnError):
    """The graph's attention does not have the layout head pruning understands."""


@dataclass
class Attention:
    """One attention layer of the graph: parameter names of its projections, H and dh."""
    index: int
    heads: int
    head_dim: int
    q: str
    k: str
    v: str
    o: str
    node: str              # the A @ V node


def _op(node) -> str:
    t = node.target
    return getattr(t, "__name__", str(t)).split(".")[0]


def quant_role(gm, node):
    from .quantiser import QuantModule
    if node.op != "call_module":
        return None
    m = gm.get_submodule(node.target)
    return m.role if isinstance(m, QuantModule) else None


def _back_to_linear(gm, node):
    """Walk back through shape ops, scalings and operand quantisers to a ``linear`` node;
    return its weight parameter name (``"blocks.0.q"``, without ``.weight``)."""
    seen = 0
    while seen < 32:
        seen += 1
        if node.op == "call_function" and _op(node) == "linear":
            w = node.args[1]
            if w.op != "get_attr":
                break
            return str(w.target).rsplit(".", 1)[0]
        if node.op == "call_module" and quant_role(gm, node) is not None:
            node = node.args[0]
            continue
        if node.op == "call_function" and _op(node) in _PASS:
            node = node.args[0]
            continue
        break
    raise HeadSearchError(f"head pruning: could not trace '{node.name}' back to a linear layer "
                          f"(stopped at {node.op} {node.target}). Fix: give attention explicit Q/K/V "
                          "nn.Linear layers with the reshape(b, n, H, dh) layout.")


def _forward_to_linear(node):
    seen = 0
    while seen < 32:
        seen += 1
        users = list(node.users)
        if len(users) != 1:
            break
        node = users[0]
        if node.op == "call_function" and _op(node) == "linear" and node.args[1].op == "get_attr":
            return str(node.args[1].target).rsplit(".", 1)[0]
        if not (node.op == "call_function" and _op(node) in _PASS):
            break
    raise HeadSearchError(f"head pruning: the attention output '{node.name}' does not reach an output "
                          "projection (nn.Linear) through shape ops only. Fix: project heads with one "
                          "nn.Linear after merging them.")


def find_attention(gm) -> list[Attention]:
    """The attention layers of a prepared graph module, in graph order (module docstring)."""
    found = []
    for node in gm.graph.nodes:
        if quant_role(gm, node) not in ("relu_attention", "softmax"):
            continue
        # forward from the attention map to the A @ V product
        cur, av = node, None
        for _ in range(8):
            users = [u for u in cur.users]
            if not users:
                break
            u = users[0]
            if u.op == "call_function" and _op(u) in ("matmul", "bmm"):
                av = u
                break
            cur = u
        if av is None:
            continue
        # backward from the scores to the Q K^T product
        cur, qk = node.args[0], None
        for _ in range(8):
            if cur.op == "call_function" and _op(cur) in ("matmul", "bmm"):
                qk = cur
                break
            if cur.op not in ("call_function", "call_module"):
                break
            cur = cur.args[0]
        if qk is None:
            raise HeadSearchError(f"head pruning: no Q K^T product before the attention map '{node.name}'.")
        val = av.meta.get("val")
        if val is None or len(val.shape) != 4:
            raise HeadSearchError(f"head pruning: attention output '{av.name}' is not (batch, H, n, dh).")
        H, dh = int(val.shape[1]), int(val.shape[3])
        found.append(Attention(len(found), H, dh, _back_to_linear(gm, qk.args[0]), _back_to_linear(gm, qk.args[1]),
                               _back_to_linear(gm, av.args[1]), _forward_to_linear(av), av.name))
    return found


def _param(gm, name):
    obj = gm
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def zero_head(gm, att: Attention, h: int) -> int:
    """Zero head ``h`` of ``att`` in place (module docstring); returns the weights zeroed."""
    import torch
    sl = slice(h * att.head_dim, (h + 1) * att.head_dim)
    n = 0
    with torch.no_grad():
        for lin in (att.q, att.k, att.v):
            w = _param(gm, lin + ".weight")
            n += int(w[sl].numel())
            w[sl] = 0.0
            try:
                b = _param(gm, lin + ".bias")
            except AttributeError:
                b = None
            if b is not None:
                b[sl] = 0.0
        w = _param(gm, att.o + ".weight")
        n += int(w[:, sl].numel())
        w[:, sl] = 0.0
    return n


def remove_heads(gm, att: Attention, heads) -> int:
    """Cut heads ``heads`` of ``att`` out of ``gm`` in place: Q/K/V keep only the rows (and
    bias entries) of the other heads, O only their columns, and the graph's head reshapes
    ``(b, n, H, dh)`` / ``(b, n, H*dh)`` become ``H' = H - len(heads)``; so the converter
    builds no neuron, gate or synapse for them.  Returns the weights removed."""
    import torch
    heads = sorted(set(int(h) for h in heads))
    H, dh = att.heads, att.head_dim
    keep = [h for h in range(H) if h not in heads]
    if not keep:
        raise ParameterError("sparsify", "heads", f"would remove every head of attention layer {att.index}.",
                             "prune fewer heads, or use 'heads:K/layer' with K < heads per layer.")
    rows = torch.cat([torch.arange(h * dh, (h + 1) * dh) for h in keep])
    removed = 0
    with torch.no_grad():
        for lin in (att.q, att.k, att.v):
            mod = gm.get_submodule(lin)
            removed += int(mod.weight.numel() - rows.numel() * mod.weight.shape[1])
            mod.weight = torch.nn.Parameter(mod.weight[rows].clone())
            if getattr(mod, "bias", None) is not None:
                mod.bias = torch.nn.Parameter(mod.bias[rows].clone())
        mod = gm.get_submodule(att.o)
        removed += int(mod.weight.numel() - rows.numel() * mod.weight.shape[0])
        mod.weight = torch.nn.Parameter(mod.weight[:, rows].clone())
    g = gm.graph
    nodes = {n.name: n for n in g.nodes}
    lins = [n for n in g.nodes if n.op == "call_function" and _op(n) == "linear" and n.args[1].op == "get_attr"]
    starts = [n for n in lins if str(n.args[1].target).rsplit(".", 1)[0] in (att.q, att.k, att.v)]
    o_lin = next(n for n in lins if str(n.args[1].target).rsplit(".", 1)[0] == att.o)
    down = set(starts)
    order = list(g.nodes)
    for node in order[min(order.index(s) for s in starts):order.index(o_lin)]:
        if any(a in down for a in node.all_input_nodes):
            down.add(node)
    Hn = len(keep)
    for node in down:
        if node in starts or node.op != "call_function" or _op(node) not in ("view", "reshape", "_unsafe_view"):
            continue
        shape = list(node.args[1])
        if len(shape) >= 2 and shape[-2] == H and shape[-1] == dh:
            shape[-2] = Hn
        elif shape and shape[-1] == H * dh:
            shape[-1] = Hn * dh
        node.args = (node.args[0], shape) + tuple(node.args[2:])
    av = nodes[att.node]
    val = av.meta.get("val")
    if val is not None:
        av.meta["val"] = torch.empty((1, Hn) + tuple(int(s) for s in val.shape[2:]), device="meta")
    g.lint()
    gm.recompile()
    return removed


def _kl(p_logits, q_logits):
    import torch
    lp = torch.log_softmax(p_logits.double(), -1)
    lq = torch.log_softmax(q_logits.double(), -1)
    return float((lp.exp() * (lp - lq)).sum(-1).mean())


def head_importance(gm, calib, batch: int = 256) -> dict:
    """``{(layer, head): I}`` with ``I`` the mean KL divergence (nats) between the model's
    output and its output with that head masked, on ``calib`` (module docstring)."""
    import copy

    import torch
    x = torch.as_tensor(np.asarray(calib)) if not isinstance(calib, torch.Tensor) else calib
    x = x.float() if x.is_floating_point() else x
    atts = find_attention(gm)
    with torch.no_grad():
        ref = torch.cat([gm(x[i:i + batch]) for i in range(0, len(x), batch)])
        out = {}
        for a in atts:
            for h in range(a.heads):
                g = copy.deepcopy(gm)
                zero_head(g, a, h)
                y = torch.cat([g(x[i:i + batch]) for i in range(0, len(x), batch)])
                out[(a.index, h)] = _kl(ref, y)
    return out


def prune_heads(gm, count: int, calib, per_layer: bool = False, structural: bool = True) -> dict:
    """Remove the ``count`` least important heads of ``gm`` in place (all layers together,
    or ``per_layer``: ``count`` in every layer); one-shot ranking by :func:`head_importance`.
    ``structural``: cut them out (:func:`remove_heads`; a layer keeps at least one head,
    else its heads are only zeroed); else zero them (:func:`zero_head`).  Returns
    ``{"importance": {"L.h": I}, "pruned": ["L.h", ...], "weights_zeroed": n, "structural": bool}``."""
    atts = find_attention(gm)
    if not atts:
        raise HeadSearchError("head pruning: the model has no attention layer.")
    total = sum(a.heads for a in atts)
    limit = min(a.heads for a in atts) - 1 if per_layer else total - 1
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= limit:
        raise ParameterError("sparsify", "heads", f"is {count!r}; the model has {total} heads in "
                             f"{len(atts)} attention layer(s).", f"use 'heads:K' with 0 <= K <= {limit} "
                             "(at least one head must stay).")
    imp = head_importance(gm, calib) if count else {}
    order = sorted(imp, key=lambda lh: (imp[lh], lh))
    if per_layer:
        chosen = [lh for li in range(len(atts)) for lh in [o for o in order if o[0] == li][:count]]
    else:
        chosen = order[:count]
    n, cut = 0, False
    for li, a in enumerate(atts):
        hs = [h for l2, h in chosen if l2 == li]
        if not hs:
            continue
        if structural and len(hs) < a.heads:
            n += remove_heads(gm, a, hs)
            cut = True
        else:
            n += sum(zero_head(gm, a, h) for h in hs)
    return {"importance": {f"{li}.{h}": v for (li, h), v in imp.items()},
            "pruned": [f"{li}.{h}" for li, h in sorted(chosen)], "heads": sorted(chosen), "weights_zeroed": n,
            "structural": cut}
