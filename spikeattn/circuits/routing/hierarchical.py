"""Hierarchical (coarse-to-fine) selection: pooled regions first, tokens within them next.

``hierarchical_selector(R, G, k_regions, k_tokens, coarse_window, fine_window)`` returns a
fragment with input port ``tokens`` (``N = R * G`` neurons, region ``r`` = tokens
``r*G .. r*G+G-1``) and output ports ``regions`` (``R`` one-shot winners) and ``tokens``
(``N`` one-shot winners).

1. *Coarse*: a k-WTA (count mode, window ``[0, Tc)``) over the pooled region scores
   ``p_r = sum_{i in r} c_i`` (pooling weights 1) selects the top ``k_regions`` regions.
2. *Gate*: a coincidence router (:func:`.gating.gated_router`) opens the selected
   regions: from the step after the coarse decision, token ``i`` of an open region is
   relayed one step later; tokens of closed regions are never relayed.
3. *Fine*: a k-WTA (count mode, window ``fine_window`` over the relayed spikes, i.e.
   token steps ``[f0 - 1, f1 - 1)``) selects the top ``k_tokens`` tokens.  Its ramp is
   enabled per region by the region latches (``enable_blocks = G``), so a token of a
   closed region can never be selected, not even with a zero score.

So the fine stage only receives events inside the selected regions, and the result is
:func:`reference.two_level_topk` of (pooled coarse counts, fine-window counts).  By default
``fine_window`` starts when the coarse decision is guaranteed to be made.
"""
from __future__ import annotations

import numpy as np

from ...errors import ParameterError
from ...ir import Circuit
from .gating import gated_router
from .timers import blocks
from .wta import kwta, required_steps


def hierarchical_selector(R: int, G: int, k_regions: int = 1, k_tokens: int = 1, coarse_window: int = 8,
                          fine_window=None, fixed_point: bool = False, name: str = "hier",
                          dt: float = 1e-3) -> Circuit:
    """Build the coarse-to-fine selector described in the module docstring.

    ``fine_window``: ``(f0, f1)`` steps of the fine k-WTA (over relayed spikes) or a length
    (default 8) starting at the earliest safe step.  ``fixed_point``: Loihi fixed-point
    neurons (see :mod:`.timers`).  ``meta['hierarchical']`` records the timing."""
    if not isinstance(k_tokens, (int, np.integer)) or not 1 <= k_tokens <= k_regions * G:
        raise ParameterError("hierarchical_selector", "k_tokens", f"is {k_tokens!r}; must be in "
                             f"[1, k_regions * G = {k_regions * G}].")
    N = R * G
    coarse = kwta(R, k_regions, "count", window=coarse_window, scores=blocks(R, G, 1, transpose=True),
                  fixed_point=fixed_point, name="coarse")
    f0_min = required_steps(coarse.meta) + 2
    if fine_window is None or np.ndim(fine_window) == 0:
        length = 8 if fine_window is None else int(fine_window)
        f0, f1 = f0_min, f0_min + length
    else:
        f0, f1 = (int(x) for x in fine_window)
        if f0 < f0_min:
            raise ParameterError("hierarchical_selector", "fine_window", f"starts at {f0}, before the coarse "
                                 f"decision is guaranteed (step {f0_min}).", f"start at >= {f0_min}.")
    c = Circuit(name, dt)
    c.add_source("tokens", N)
    c.include(coarse, "coarse", bind={"in": "tokens"})
    c.include(gated_router(R, G, "coincidence", merge=False, fixed_point=fixed_point, name="regions"), "regions",
              bind={"in": "tokens", "select": "coarse.winners"})
    fine = kwta(N, k_tokens, "count", window=(f0, f1), enable_blocks=G, fixed_point=fixed_point, name="fine")
    c.include(fine, "fine", bind={"in": "regions.relays", "enable": "regions.open"})
    c.expose("regions", "coarse.winners")
    c.expose("tokens", "fine.winners")
    c.meta["hierarchical"] = {"R": int(R), "G": int(G), "k_regions": int(k_regions), "k_tokens": int(k_tokens),
                              "coarse_window": int(coarse_window), "fine_window": [f0, f1],
                              "token_window": [f0 - 1, f1 - 1], "coarse": coarse.meta["kwta"],
                              "fine": fine.meta["kwta"], "steps": required_steps(fine.meta)}
    return c


def flat_selector(N: int, k_tokens: int, fine_window, fixed_point: bool = False, name: str = "flat",
                  dt: float = 1e-3) -> Circuit:
    """The non-hierarchical baseline: one k-WTA over all ``N`` tokens on the same window
    (token steps ``[f0 - 1, f1 - 1)``), for comparing event counts."""
    f0, f1 = fine_window
    c = Circuit(name, dt)
    c.add_source("tokens", N)
    fine = kwta(N, k_tokens, "count", window=(f0 - 1, f1 - 1), fixed_point=fixed_point, name="fine")
    c.include(fine, "fine", bind={"in": "tokens"})
    c.expose("tokens", "fine.winners")
    c.meta["flat"] = {"steps": required_steps(fine.meta), "token_window": [f0 - 1, f1 - 1]}
    return c


def coarse_to_fine_attention(R: int, G: int, D: int, k_regions: int = 1, coarse_window: int = 8, heads: int = 1,
                             order: str = "qk_v", scale: float = 0.125, fixed_point: bool = False,
                             name: str = "c2f", dt: float = 1e-3) -> Circuit:
    """Coarse-to-fine spiking attention: select regions, then self-attend only within them.

    Input port ``x``: ``(N, D)`` token spikes, ``N = R * G`` (region ``r`` = tokens
    ``r*G .. r*G+G-1``, all their channels).  A count-mode k-WTA over the pooled region
    spike counts in ``[0, coarse_window)`` picks ``k_regions`` regions; a coincidence router
    (blocks of ``G * D`` neurons) relays the selected regions' spikes from the step after
    the decision; Spikformer SSA (:func:`spikeattn.circuits.attention.ssa_attention`, Q = K
    = V = the relayed spikes) attends over them.  Closed regions' tokens are silent, so
    every SSA event involves selected tokens only: the ``N_q x N_k`` work of full attention
    shrinks to ``(k_regions G)^2``.  Output port ``y`` (``(N, D)``, SSA latency after the
    relays); the oracle is ``ssa_reference`` applied to the relayed spikes.  ``fixed_point``:
    the fixed-point k-WTA, router (:mod:`.timers`) and SSA (``ssa_attention(...,
    fixed_point=True)``, oracle ``ssa_reference(..., fixed_point=True)``): runs on Lava
    ``fixed_pt``, bit-exact with numpy."""
    from ..attention import ssa_attention

    N = R * G
    coarse = kwta(R, k_regions, "count", window=coarse_window, scores=blocks(R, G * D, 1, transpose=True),
                  fixed_point=fixed_point, name="coarse")
    c = Circuit(name, dt)
    c.add_source("x", (N, D))
    c.include(coarse, "coarse", bind={"in": "x"})
    c.include(gated_router(R, G * D, "coincidence", merge=False, fixed_point=fixed_point, name="regions"), "regions",
              bind={"in": "x", "select": "coarse.winners"})
    attn = ssa_attention(N, D, heads=heads, order=order, scale=scale, fixed_point=fixed_point, name="attn")
    c.include(attn, "attn", bind={"q": "regions.relays", "k": "regions.relays", "v": "regions.relays"})
    c.expose("y", "attn.y")
    c.expose("regions", "coarse.winners")
    c.meta["coarse_to_fine"] = {"R": int(R), "G": int(G), "D": int(D), "k_regions": int(k_regions),
                                "coarse_window": int(coarse_window), "heads": int(heads), "order": order,
                                "scale": float(scale), "fixed_point": bool(fixed_point), "attn_latency": int(attn.meta.get("latency_steps", 4)),
                                "decision_steps_max": required_steps(coarse.meta)}
    return c
