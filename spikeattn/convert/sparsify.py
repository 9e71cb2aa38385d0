"""Sparsification before conversion: magnitude weight pruning.

``magnitude_prune(gm, fraction)`` zeroes, in every weight matrix (parameters with two or
more dimensions: linear, convolution, embedding), the ``fraction`` of entries with the
smallest magnitude (per tensor).  The converter drops zero weights from its sparse
projections, so the savings show in the circuit's synapse count and in ``synaptic_acs``;
where linear maps compose (residual stream, folded LayerNorm) the composed matrix can be
denser than its factors, which the counts state honestly.
"""
from __future__ import annotations

from ..errors import ParameterError


def parse_prune(text: str | None):
    """``"magnitude:0.5"`` -> ``("magnitude", 0.5)``; None -> None."""
    if text is None:
        return None
    kind, _, val = str(text).partition(":")
    try:
        frac = float(val)
    except ValueError:
        frac = -1.0
    if kind != "magnitude" or not 0.0 <= frac < 1.0:
        raise ParameterError("convert", "prune", f"is {text!r}.", "use 'magnitude:F' with 0 <= F < 1.")
    return kind, frac


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
