"""Attention agreement: spike-derived attention maps against the dense model's softmax maps.

Dense maps come from running the dense graph with ``torch.fx.Interpreter``: every
``softmax`` output and every ``scaled_dot_product_attention`` map
``softmax(Q K^T * scale + mask)`` (recomputed from its arguments), in graph order.  The
spike-derived map of the same attention (same order) is the mean over the T steps of the
attention quantiser's output (``vth * n``: ReLU attention in ``accumulate`` mode, the
quantised softmax in ``exact`` mode), each row normalised to sum 1 (a uniform row where it
is all zero).  Per head, averaged over queries and samples: KL(dense || spiking) in nats
(eps 1e-9), Pearson correlation of the flattened maps, and top-k overlap
(|top-k(dense) & top-k(spiking)| / k, k = min(3, N_keys)).
"""
from __future__ import annotations

import numpy as np


def dense_maps(gm, x) -> list:
    import torch
    aten = torch.ops.aten
    maps = []

    class Grab(torch.fx.Interpreter):
        def call_function(self, target, args, kwargs):
            out = super().call_function(target, args, kwargs)
            if target in (aten.softmax.int, aten._softmax.default):
                maps.append(out.detach().double().numpy())
            elif target is aten.scaled_dot_product_attention.default:
                q, k = args[0], args[1]
                mask = args[3] if len(args) > 3 else kwargs.get("attn_mask")
                causal = args[5] if len(args) > 5 else kwargs.get("is_causal", False)
                scale = kwargs.get("scale") or 1.0 / q.shape[-1] ** 0.5
                s = q @ k.transpose(-2, -1) * scale
                if causal:
                    s = s.masked_fill(~torch.ones_like(s, dtype=torch.bool).tril(), float("-inf"))
                if mask is not None:
                    s = s.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else s + mask
                maps.append(torch.softmax(s, -1).detach().double().numpy())
            return out

    with torch.no_grad():
        Grab(gm).run(x)
    return maps


def _norm(a):
    s = a.sum(-1, keepdims=True)
    return np.where(s > 0, a / np.where(s > 0, s, 1), 1.0 / a.shape[-1])


def attention_agreement(sm, x) -> dict | None:
    """Per attention layer and head: ``{"kl", "correlation", "topk_overlap"}`` (see module)."""
    import torch
    if not sm.program.attention or sm.dense is None or not getattr(sm, "first_rec", None):
        return None
    n = next(iter(sm.first_rec.values())).shape[1]
    xt = torch.as_tensor(np.asarray(x[:n]))
    xt = xt.float() if xt.is_floating_point() else xt
    dense = dense_maps(sm.dense, xt)
    if len(dense) != len(sm.program.attention):
        return {"note": f"{len(dense)} dense maps but {len(sm.program.attention)} spiking maps; not compared"}
    out = {}
    for li, ((node, shape, vth), d) in enumerate(zip(sm.program.attention, dense)):
        s = sm.first_rec[node].mean(axis=0) * vth                 # (samples, numel)
        s = s.reshape((n,) + tuple(shape[1:]))
        if d.size != s.size:
            out[f"attention{li}"] = {"note": f"sparsified: dense {d.shape[1:]}, spiking {tuple(shape[1:])}; "
                                             "not compared"}
            continue
        d = d.reshape(s.shape)
        sn, dn = _norm(np.maximum(s, 0)), d
        heads = s.shape[1] if s.ndim == 4 else 1
        if s.ndim == 3:
            sn, dn = sn[:, None], dn[:, None]
        k = min(3, sn.shape[-1])
        layer = {}
        for h in range(heads):
            a, b = dn[:, h], sn[:, h]
            kl = float(np.mean(np.sum(a * (np.log(a + 1e-9) - np.log(b + 1e-9)), axis=-1)))
            corr = float(np.corrcoef(a.reshape(-1), b.reshape(-1))[0, 1]) if b.std() > 0 else None
            ta, tb = np.argsort(-a, axis=-1)[..., :k], np.argsort(-b, axis=-1)[..., :k]
            overlap = float(np.mean([len(set(p) & set(q)) / k for p, q in
                                     zip(ta.reshape(-1, k).tolist(), tb.reshape(-1, k).tolist())]))
            layer[f"head{h}"] = {"kl": kl, "correlation": corr, "topk_overlap": overlap}
        out[f"attention{li}"] = layer
    out["samples"] = int(n)
    return out
