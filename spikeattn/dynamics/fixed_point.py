"""Loihi 2 fixed-point arithmetic as in Lava 0.10 (``PyLifModelBitAcc``, ``PyDenseModelBitAcc``).

Pure functions on integer numpy arrays; ``>>`` is numpy's arithmetic shift (rounds toward
minus infinity).  See ``LoihiLIF``'s docstring for the neuron equations.
"""
from __future__ import annotations

import numpy as np

DECAY_SHIFT = 12          # decays are 12-bit: x * (4096 - d) >> 12
DECAY_UNITY = 1 << DECAY_SHIFT
ACT_SHIFT = 6             # synaptic input and threshold are scaled by 2**6
U_WRAP = 1 << 24          # u is a 24-bit register that wraps
V_MAX = (1 << 23) - 1     # v saturates at +-(2**23 - 1)


def sign_mode(weights: np.ndarray, declared: str = "auto") -> str:
    """Lava's sign mode: declared, else excitatory if min >= 0, inhibitory if max <= 0."""
    if declared != "auto":
        return declared
    if weights.size == 0 or weights.min() >= 0:
        return "excitatory"
    if weights.max() <= 0:
        return "inhibitory"
    return "mixed"


def quantise_weights(weights: np.ndarray, num_weight_bits: int = 8, declared: str = "auto") -> np.ndarray:
    """Clip to 8 bits and truncate to ``num_weight_bits`` as Lava's bit-accurate Dense does.

    mixed: clip to [-256, 255], truncate by ``8 - bits + 1`` bits; excitatory: clip to
    [0, 255], truncate by ``8 - bits``; inhibitory: the negation of excitatory on ``-W``.
    """
    w = np.asarray(weights).astype(np.int64)
    mode = sign_mode(w, declared)
    tb = 8 - num_weight_bits + (1 if mode == "mixed" else 0)
    if mode == "mixed":
        w = np.clip(w, -256, 255)
        return (w >> tb) << tb
    if mode == "excitatory":
        w = np.clip(w, 0, 255)
        return (w >> tb) << tb
    w = np.clip(-w, 0, 255)
    return -((w >> tb) << tb)


def shift(acc: np.ndarray, exp: int) -> np.ndarray:
    """``acc << exp`` for ``exp >= 0``, else ``acc >> -exp`` (arithmetic)."""
    return acc << exp if exp >= 0 else acc >> -exp


def trunc0(x: np.ndarray) -> np.ndarray:
    """Divide by 4096 rounding toward zero: ``sign(x) * (|x| >> 12)``."""
    return np.sign(x) * (np.abs(x) >> DECAY_SHIFT)


def wrap32(x: np.ndarray) -> np.ndarray:
    """Two's-complement wrap of int64 values to int32, as Lava's int32 arrays overflow."""
    return ((np.asarray(x, np.int64) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def loihi_lif_step(a_in, u, v, du: int, dv: int, vth: int, bias):
    """One step of the fixed-point LIF; returns ``(spikes, u, v)`` (new arrays).

    ``a_in``: weight-exp-shifted synaptic input (int64, summed over projections); ``bias``
    already shifted by ``bias_exp``.  Equations in :class:`spikeattn.ir.LoihiLIF`.

    Lava keeps u, v and the input in int32 arrays, so where values leave 32 bits (inputs of
    ``>= 2**25`` after the weight exponent; the single 24-bit correction of u lets u grow
    past 24 bits under such inputs) they wrap modulo 2**32: the input as it travels
    (int32 ports), ``a_in << 6``, ``decay(u) + (a_in << 6)`` and ``decay(v) + u + bias``.
    :func:`wrap32` reproduces each of these; for ordinary values it changes nothing.
    """
    act = wrap32(wrap32(a_in) << ACT_SHIFT)
    u1 = wrap32(trunc0(u * (DECAY_UNITY - (du + 1))) + act)
    u_new = np.where(u1 > (1 << 23), u1 - U_WRAP, np.where(u1 <= -(1 << 23), u1 + U_WRAP, u1))
    v1 = wrap32(trunc0(v * (DECAY_UNITY - dv)) + u_new + bias)
    v_new = np.clip(v1, -V_MAX, V_MAX)
    s = v_new > (vth << ACT_SHIFT)
    v_new = np.where(s, 0, v_new)
    return s, u_new, v_new


def effective_bias(bias_mant, bias_exp) -> np.ndarray:
    """``bias_mant << bias_exp`` (or ``>>`` for negative exponents), element-wise."""
    m = np.asarray(bias_mant, np.int64)
    e = np.asarray(bias_exp, np.int64)
    return np.where(e >= 0, m << np.maximum(e, 0), m >> np.maximum(-e, 0))


def loihi_lif_diagnostics(a_in, u, v, du, dv, bias) -> dict:
    """Where one :func:`loihi_lif_step` changed a value by a wrap or a clip, ``(batch, size)`` bool.

    ``overflow:a_in``: the input or ``a_in << 6`` left int32 (Lava's int32 ports wrap);
    ``overflow:u``: ``decay(u) + act`` left int32 or u left its 24-bit register (the wrap of u);
    ``overflow:v``: ``decay(v) + u + bias`` left int32; ``saturation:v``: v was clipped at
    +-(2**23 - 1).  The step keeps the wrap (it is what Lava and Loihi do); these flags only
    report it."""
    a_in = np.asarray(a_in, np.int64)
    a32 = wrap32(a_in)
    shifted = a32 << ACT_SHIFT
    act = wrap32(shifted)
    over_in = (a32 != a_in) | (act != shifted)
    u0 = trunc0(u * (DECAY_UNITY - (du + 1))) + act
    u1 = wrap32(u0)
    over_u = (u1 != u0) | (u1 > (1 << 23)) | (u1 <= -(1 << 23))
    u_new = np.where(u1 > (1 << 23), u1 - U_WRAP, np.where(u1 <= -(1 << 23), u1 + U_WRAP, u1))
    v0 = trunc0(v * (DECAY_UNITY - dv)) + u_new + bias
    v1 = wrap32(v0)
    return {"overflow:a_in": over_in, "overflow:u": over_u, "overflow:v": v1 != v0,
            "saturation:v": np.abs(v1) > V_MAX}
