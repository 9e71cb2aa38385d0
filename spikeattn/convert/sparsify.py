"""Sparsification before conversion: magnitude weight pruning, head pruning, top-k tokens.

Spec strings (``parse_prune``), comma-separated, applied in the order given:

* ``magnitude:F`` (0 <= F < 1): ``magnitude_prune`` zeroes, in every weight matrix
  (parameters with two or more dimensions: linear, convolution, embedding), the fraction
  ``F`` of entries with the smallest magnitude (per tensor).  The converter drops zero
  weights from its sparse projections, so the savings show in the circuit's synapse count
  and in ``synaptic_acs``; where linear maps compose (residual stream, folded LayerNorm)
  the composed matrix can be denser than its factors, which the counts state honestly.
* ``heads:K`` (K >= 0 integer): prune the K least important attention heads **in total,
  over all layers** (``heads:K/layer``: K in every layer); importance and removal in
  :mod:`.heads`.
* ``topk:K`` or ``topk:K@l``: keep the CLS token and the K tokens receiving the most
  attention in layer ``l-1`` for layers ``l..`` (default ``l = 1``); the selection is a
  k-WTA spiking stage, :mod:`.token_select`.

``apply_sparsification(gm, specs, calib, train=None, seed=0)`` applies them to a prepared,
calibrated graph module in place; with ``train=(x, y)`` it then fine-tunes briefly with
the pruned weights held at zero.  It returns a report ``{kind: what was pruned}``.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError

KINDS = ("magnitude", "heads", "topk")
_FIX = ("use a comma-separated list of 'magnitude:F' (0 <= F < 1), 'heads:K' or 'heads:K/layer' "
        "(K >= 0 heads) and 'topk:K' or 'topk:K@l' (K >= 1 tokens, layer l >= 1), e.g. "
        "'magnitude:0.5,heads:1,topk:2'.")


def parse_prune(text):
    """``"magnitude:0.5,heads:1,topk:2@1"`` -> ``[("magnitude", 0.5), ("heads", 1),
    ("topk", (2, 1))]``; a float F -> ``[("magnitude", F)]``; None or "" -> ``[]``.

    ``heads:K/layer`` gives ``("heads", (K, "layer"))``.  Each kind at most once."""
    if text is None or text == "":
        return []
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        text = f"magnitude:{text}"
    out, seen = [], set()
    for part in str(text).split(","):
        part = part.strip()
        kind, sep, val = part.partition(":")
        if kind in KINDS and not sep:
            raise ParameterError("convert", "prune", f"has {part!r}: missing ':VALUE'.", _FIX)
        if kind not in KINDS:
            raise ParameterError("convert", "prune", f"has {part!r}: unknown kind {kind!r} "
                                 f"(known: {list(KINDS)}).", _FIX)
        if kind in seen:
            raise ParameterError("convert", "prune", f"names {kind!r} twice in {text!r}.", "give each kind once.")
        seen.add(kind)
        if kind == "magnitude":
            try:
                frac = float(val)
            except ValueError:
                frac = -1.0
            if not 0.0 <= frac < 1.0:
                raise ParameterError("convert", "prune", f"has {part!r}: the fraction must be in [0, 1).", _FIX)
            out.append((kind, frac))
        elif kind == "heads":
            k, _, scope = val.partition("/")
            if not k.isdigit() or scope not in ("", "layer"):
                raise ParameterError("convert", "prune", f"has {part!r}: K must be an integer >= 0 "
                                     "(optionally '/layer').", _FIX)
            out.append((kind, (int(k), "layer") if scope else int(k)))
        else:
            from .token_select import parse_topk
            try:
                out.append((kind, parse_topk(val)))
            except ParameterError:
                raise ParameterError("convert", "prune", f"has {part!r}: K must be an integer >= 1 and the "
                                     "layer after '@' an integer >= 1.", _FIX) from None
    return out


def magnitude_prune(gm, fraction: float) -> dict:
    """Zero the smallest-magnitude ``fraction`` of every weight matrix of ``gm`` in place;
    returns ``{"pruned": n, "weights": total}``."""
    import torch
    pruned = total = 0
    with torch.no_grad():
        for name, p in gm.named_parameters():
            if p.ndim < 2 or fraction <= 0:
                total += p.numel() if p.ndim >= 2 else 0
                continue
            k = int(fraction * p.numel())
            total += p.numel()
            if k == 0:
                continue
            thr = p.abs().reshape(-1).kthvalue(k).values
            mask = p.abs() <= thr
            pruned += int(mask.sum())
            p[mask] = 0.0
    return {"pruned": pruned, "weights": total}


def zero_masks(gm) -> dict:
    """``{param name: bool tensor}`` of the weight entries that are exactly zero now."""
    return {n: (p == 0) for n, p in gm.named_parameters() if p.ndim >= 1 and bool((p == 0).any())}


def masked_finetune(gm, x, y, masks: dict, epochs: int = 5, lr: float = 1e-3, batch: int = 64,
                    seed: int = 0, grids=(1,)) -> None:
    """Adam on cross-entropy (quantisers' straight-through gradients) with the entries of
    ``masks`` reset to zero after every step, so pruned weights stay absent (``grids``: see
    :func:`~.modes.finetune`)."""
    import torch

    from .modes import finetune
    params = dict(gm.named_parameters())

    def hold_zero():
        with torch.no_grad():
            for n, m in masks.items():
                params[n][m] = 0.0

    finetune(gm, x, y, epochs=epochs, lr=lr, batch=batch, seed=seed, cosine=False, after_step=hold_zero, grids=grids)


def apply_sparsification(gm, specs, calib, train=None, seed: int = 0, epochs: int = 5, lr: float = 1e-3,
                         grids=(1,)) -> dict:
    """Apply ``specs`` (a spec string or ``parse_prune``'s list) to the prepared,
    calibrated graph module ``gm`` in place; fine-tune ``epochs`` with pruned weights held
    at zero when ``train=(x, y)`` is given.  Returns ``{"magnitude": {...}, "heads": {...},
    "topk": {...}, "finetune": {...}}`` (only the kinds applied)."""
    import torch
    torch.manual_seed(seed)
    specs = parse_prune(specs) if not isinstance(specs, list) else specs
    x = torch.as_tensor(np.asarray(calib)) if not isinstance(calib, torch.Tensor) else calib
    x = x.float() if x.is_floating_point() else x
    report: dict = {}
    for kind, val in specs:
        if kind == "magnitude":
            report[kind] = {"fraction": val, **magnitude_prune(gm, val)}
        elif kind == "heads":
            from .heads import prune_heads
            k, per_layer = (val[0], True) if isinstance(val, tuple) else (val, False)
            r = prune_heads(gm, k, x, per_layer=per_layer)
            report[kind] = {"count": k, "per_layer": per_layer, "pruned": r["pruned"],
                            "importance_kl_nats": r["importance"], "weights_removed": r["weights_zeroed"],
                            "structural": r["structural"]}
        elif kind == "topk":
            from .token_select import insert_token_select
            k, layer = val
            report[kind] = insert_token_select(gm, k, layer)
    if train is not None and epochs > 0 and specs:
        xt, yt = (torch.as_tensor(np.asarray(a)) for a in train)
        masks = zero_masks(gm)
        gm.train()
        masked_finetune(gm, xt.float() if xt.is_floating_point() else xt, yt.long(), masks, epochs=epochs,
                        lr=lr, seed=seed, grids=grids)
        gm.eval()
        report["finetune"] = {"epochs": epochs, "lr": lr, "masked_params": len(masks)}
    return report


def convert_prepared(gm, example, mode: str = "accumulate", levels: int = 4, input_scale: float = 1.0,
                     input_kind: str = "count", name: str = "sparsified"):
    """The last steps of :func:`spikeattn.convert.convert` for an already prepared (and
    sparsified) graph module: float64 re-export of one sample, walk, ``SpikingModel``.
    For tests and benchmarks; ``convert(prune=...)`` does the same inside its pipeline."""
    import copy

    import torch

    from . import capture as cap
    from . import token_select  # noqa: F401  (registers the token_select converter)
    from .program import Program
    from .quantiser import QuantModule
    from .spiking import SpikingModel
    token_select._setup()
    example = torch.as_tensor(np.asarray(example))
    gm.eval()
    gm64 = copy.deepcopy(gm).double()
    one = example[:1].double() if example.is_floating_point() else example[:1]
    ep1 = torch.export.export(gm64, (one,))
    program = Program(name)
    ctx = cap.Context(program, ep1.module(), mode)
    ctx.attention_modules = {n for n, m in gm.named_modules() if isinstance(m, QuantModule)
                             and m.role in ("relu_attention", "softmax")}
    out = cap.walk(ep1.module(), one, program, ctx, input_kind=input_kind, input_scale=input_scale)
    program.finish(out)
    return SpikingModel(program, mode, 1 if mode == "rate" else levels, quantised=gm64, dense=None,
                        meta={"input_kind": input_kind, "example": one})
