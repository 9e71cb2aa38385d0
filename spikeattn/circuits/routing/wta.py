"""Winner-take-all and k-WTA token selection by lateral inhibition.

``kwta(n, k, mode=...)`` returns a :class:`~spikeattn.ir.Circuit` fragment with input port
``in`` (a source of ``d`` neurons) and output ports ``winners`` (``n`` one-shot neurons:
winner ``i`` spikes exactly once if token ``i`` is selected, never otherwise) and
``decision`` (one neuron that spikes once, when the selection is final).

Mode ``"count"`` — keep the top-k tokens by (weighted) spike count in a window
-------------------------------------------------------------------------------
1. *Window*: input spikes at steps ``start <= t < stop`` pass a coincidence relay
   (``gate``, one step later) together with a ``window`` timer neuron that spikes exactly
   in those steps (see :mod:`.timers`); other input spikes are ignored.
2. *Accumulate*: ``acc`` (non-leaky, one-shot, ``vth = S + 1/2``) integrates the score
   ``s_i = sum_j W_ij * c_j`` where ``c_j`` counts input ``j``'s spikes in the window
   (``W`` = ``scores``, identity by default, so ``s`` = the counts).  ``S = score_max``
   bounds every partial score, so no accumulator fires during the window.
3. *Race (count -> latency)*: a ``ramp`` clock starting at ``R = stop + 1`` adds 1 per step
   to every accumulator: accumulator ``i`` fires at step ``t_i = R + S - s_i + 1`` (integer
   scores), so a larger score fires strictly earlier.
4. *k-WTA by lateral inhibition*: every first spike excites its ``winners`` neuron (one
   step later) and a global inhibitory counter ``decide`` (``vth = k - 1/2``).  ``decide``
   fires in the step where the k-th accumulator spike arrives and inhibits (``-4``, delay
   1) every winner neuron, the accumulators still racing and the ramp, so accumulators
   that fire after the k-th one are never relayed.

Mode ``"first_spike"`` — keep the k tokens that spike first (time-to-first-spike codes)
--------------------------------------------------------------------------------------
``acc`` latches each input's first spike (``vth = 1/2``, one-shot); steps 4 as above.

Tie-breaking (documented, and reproduced by :func:`reference.topk_with_ties`): tokens
whose accumulators fire in the same step are indistinguishable, so **all tokens tied with
the k-th largest score (or the k-th earliest first spike) are selected** — the circuit
returns more than k winners only when the k-th place is tied.  Scores are resolved to the
ramp step (1): non-integer scores that differ by less than 1 may tie.

Arithmetic: float LIF/IF by default (numpy, Brian2); ``fixed_point=True`` builds the same
circuit from Loihi fixed-point neurons with integer weights (numpy, Lava; integer
``scores`` only, ``stop + S`` within Loihi's 64-step delays for Lava), see :mod:`.timers`.

Timing (count mode): winners spike at ``t_i + 1``, ``decide`` at ``t_(k) + 1`` where
``t_(k)`` is the k-th accumulator spike; run at least ``stop + S - s_(k) + 4`` steps.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...errors import ParameterError
from ...ir import Circuit
from .timers import blocks, broadcast, kit, one_to_one

MODES = ("count", "first_spike")


def _check(n, k, mode, window):
    where = "kwta"
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(where, "n", f"is {n!r}; must be an int >= 1 (number of tokens).")
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ParameterError(where, "k", f"is {k!r}; must be an int in [1, n={n}].")
    if mode not in MODES:
        raise ParameterError(where, "mode", f"is {mode!r}.", f"use one of {list(MODES)}.")
    if mode == "count" and window is None:
        raise ParameterError(where, "window", "count mode needs a window (stop) or (start, stop) in steps.",
                             "e.g. window=20 counts the input spikes of steps 0..19.")
    if window is not None:
        start, stop = (0, window) if np.ndim(window) == 0 else tuple(window)
        if not (0 <= int(start) < int(stop)):
            raise ParameterError(where, "window", f"is {window!r}; need 0 <= start < stop.")
        return int(start), int(stop)
    return None


def kwta(n: int, k: int = 1, mode: str = "count", window=None, scores=None, score_max: float | None = None,
         enable_blocks: int | None = None, fixed_point: bool = False, name: str = "kwta",
         dt: float = 1e-3) -> Circuit:
    """Build a k-winner-take-all selector over ``n`` tokens (see the module docstring).

    ``window``: ``stop`` or ``(start, stop)`` steps during which input spikes count (needed
    for ``"count"``; optional for ``"first_spike"``).  ``scores``: ``(n, d)`` weights from
    the ``d`` input neurons to the ``n`` token scores (default identity, ``d = n``).
    ``score_max``: upper bound of any partial score (default ``window length x largest row
    sum of positive weights``).  ``enable_blocks = G`` (count mode) adds an input port
    ``enable`` of ``n / G`` neurons: the ramp reaches the accumulators of block ``b`` (tokens
    ``b*G .. b*G+G-1``) only in steps where ``enable[b]`` spiked one step earlier (a
    coincidence relay ``ramp_gate``), so tokens of blocks never enabled can never win,
    even with a zero score.  The ramp then arrives one step later.  ``fixed_point``: build
    from Loihi fixed-point neurons.  The circuit's ``meta['kwta']`` records the timing."""
    W = np.eye(n) if scores is None else (scores.toarray() if sp.issparse(scores) else np.asarray(scores, float))
    if W.ndim != 2 or W.shape[0] != n:
        raise ParameterError("kwta", "scores", f"has shape {W.shape}; expected (n={n}, d).")
    if mode == "first_spike" and scores is not None:
        raise ParameterError("kwta", "scores", "first_spike mode selects inputs one-to-one.", "leave scores=None.")
    if fixed_point and not np.array_equal(W, np.rint(W)):
        raise ParameterError("kwta", "scores", "must be integers for fixed_point=True.")
    kt = kit(fixed_point)
    d = W.shape[1]
    win = _check(n, k, mode, window)
    c = Circuit(name, dt)
    c.add_source("in", d)
    src = "in"
    if win is not None:
        start, stop = win
        kt.window(c, "window", start, stop)
        kt.relay(c, "gate", d)
        c.connect("in", "gate", one_to_one(d, kt.relay_and))
        c.connect("window", "gate", broadcast(d, 1, kt.relay_and))
        src = "gate"
    ramp_delay = None
    if mode == "count":
        length = stop - start
        s_max = float(length * np.clip(W, 0, None).sum(axis=1).max()) if score_max is None else float(score_max)
        if s_max <= 0:
            raise ParameterError("kwta", "score_max", f"is {s_max}; must be > 0 (no positive score possible).")
        if fixed_point and s_max != int(s_max):
            raise ParameterError("kwta", "score_max", f"is {s_max}; must be an integer for fixed_point=True.")
        kt.one_shot(c, "acc", n, s_max + 0.5)
        c.connect(src, "acc", kt.w(sp.csr_matrix(W)))
        ramp_start = stop + 1
        kt.clock(c, "ramp", ramp_start)
        ramp_delay = 1
        if enable_blocks:
            if not isinstance(enable_blocks, (int, np.integer)) or enable_blocks < 1 or n % enable_blocks:
                raise ParameterError("kwta", "enable_blocks", f"is {enable_blocks!r}; must divide n={n}.")
            nb = n // enable_blocks
            c.add_source("enable", nb)
            kt.relay(c, "ramp_gate", nb)
            c.connect("ramp", "ramp_gate", broadcast(nb, 1, kt.relay_and))
            c.connect("enable", "ramp_gate", one_to_one(nb, kt.relay_and))
            c.connect("ramp_gate", "acc", kt.w(blocks(nb, int(enable_blocks), 1)))
            ramp_delay = 2
        else:
            c.connect("ramp", "acc", kt.w(broadcast(n, 1, 1)))
    else:
        s_max, ramp_start = None, None
        kt.one_shot(c, "acc", n, 0.5)
        c.connect(src, "acc", kt.w(one_to_one(n, 1)))
    kt.one_shot(c, "decide", 1, k - 0.5)
    kt.one_shot(c, "winners", n, 0.5)
    c.connect("acc", "winners", kt.w(one_to_one(n, 1)))
    c.connect("acc", "decide", kt.w(broadcast(1, n, 1)))
    c.connect("decide", "winners", kt.w(broadcast(n, 1, -4)))
    kt.inhibit(c, "decide", "acc")
    if mode == "count":
        kt.inhibit(c, "decide", "ramp")
    c.expose("winners", "winners")
    c.expose("decision", "decide")
    c.meta["kwta"] = {"n": int(n), "k": int(k), "mode": mode, "window": list(win) if win else None,
                      "score_max": s_max, "ramp_start": ramp_start, "ramp_delay": ramp_delay,
                      "fixed_point": bool(fixed_point)}
    return c


def required_steps(meta: dict, kth_score: float | None = None) -> int:
    """Steps a ``kwta`` fragment needs to decide (count mode: for a k-th score of
    ``kth_score``, default the worst case 0; first_spike: window stop + 3)."""
    m = meta["kwta"] if "kwta" in meta else meta
    if m["mode"] == "count":
        s = 0.0 if kth_score is None else float(kth_score)
        return int(np.ceil(m["ramp_start"] + m.get("ramp_delay", 1) + m["score_max"] - s + 3))
    return int((m["window"][1] if m["window"] else 0) + 3)


def winners_from_spikes(spikes: np.ndarray) -> np.ndarray:
    """``(steps, batch, n)`` winner spikes -> ``(batch, n)`` bool selection."""
    return np.asarray(spikes != 0).any(axis=0)
