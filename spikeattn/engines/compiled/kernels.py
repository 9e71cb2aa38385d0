"""numba step kernels of the compiled engine: one per Dynamics class (see ``registry.py``).

Each kernel updates the neurons ``lo .. hi-1`` (global population-neuron index) of one
sample ``b`` for one step, with the same float64 / int64 arithmetic, in the same order, as
the model's numpy step in :mod:`spikeattn.dynamics`; it also applies the active-update rule
(``carries(state before the step) | received >= 1 event``) and writes the indices (local,
ascending) and values of the non-zero outputs into ``idx`` / ``val``.  Each returns
``(active, n_out)``: active updates and non-zero outputs of the step.

Arrays: ``U``, ``V`` (batch, neurons) state; ``REF`` (batch, neurons) int64 refractory
counters; ``FP`` / ``IP`` (rows, neurons) float64 / int64 per-neuron parameters (rows named
by the ``F_*`` / ``I_*`` constants); ``a_in`` (local) summed input; ``got`` (local, uint8)
"received >= 1 event for this step".  No fastmath: LLVM may not contract ``u * ku + a`` into
an FMA, so every product and sum is rounded as numpy rounds it.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .registry import F_BIAS, F_KU, F_KV, F_VRESET, F_VTH, I_BIAS, I_DU, I_DV, I_VTH  # noqa: E402

DECAY_UNITY = 4096
U_HALF = 1 << 23
U_WRAP = 1 << 24
V_MAX = (1 << 23) - 1


@njit(cache=True, inline="always")
def wrap32(x):
    """Two's-complement wrap of an int64 to int32: ``((x + 2**31) & 0xFFFFFFFF) - 2**31``."""
    return ((x + np.int64(2147483648)) & np.int64(0xFFFFFFFF)) - np.int64(2147483648)


@njit(cache=True, inline="always")
def trunc0(x):
    """``sign(x) * (|x| >> 12)``: division by 4096 rounding toward zero."""
    if x >= 0:
        return x >> 12
    return -((-x) >> 12)


@njit(cache=True, inline="always")
def shift(x, e):
    """``x << e`` for ``e >= 0``, else ``x >> -e`` (arithmetic)."""
    if e >= 0:
        return x << e
    return x >> (-e)


@njit(cache=True, inline="always")
def scan_nonzero(flags, m, idx):
    """Indices k < m with ``flags[k] != 0`` into ``idx`` (ascending); returns their number.
    ``flags`` is uint8 with a length that is a multiple of 8: it is read 8 bytes at a time."""
    words = flags.view(np.uint64)
    n = 0
    for c in range((m + 7) // 8):
        if words[c] != 0:
            for k in range(c * 8, min(c * 8 + 8, m)):
                if flags[k] != 0:
                    idx[n] = k
                    n += 1
    return n


@njit(cache=True, inline="always")
def finite(x):
    """``x`` is finite: ``x - x`` is 0.0 for finite x and NaN for inf / NaN (two vector ops)."""
    return (x - x) == 0.0


@njit(cache=True, inline="always")
def lif_integrate(u0, v0, a, ku, kv, bias):
    """The LIF integration of one neuron for one step (the one place the compiled engine
    writes it): ``(u, v, carries)`` with ``carries`` of the state before the step."""
    uk = u0 * ku
    vk = v0 * kv
    carries = (uk != 0.0) | (vk != 0.0) | (bias != 0.0)
    u = uk + a
    v = vk + u
    v = v + bias
    return u, v, carries


@njit(cache=True, inline="always")
def lif_fire(v, vth, v_reset, subtract):
    """Threshold and reset of one neuron: ``(v after the reset, spiked)``."""
    s = v > vth
    vs = (v - vth) if subtract else v_reset
    return (vs if s else v), s


@njit(cache=True, inline="always")
def lif_neuron(u0, v0, a, ku, kv, bias, vth, v_reset, subtract):
    """:func:`lif_integrate` then :func:`lif_fire`: ``(u, v, spiked, carries)``."""
    u, v, carries = lif_integrate(u0, v0, a, ku, kv, bias)
    v, s = lif_fire(v, vth, v_reset, subtract)
    return u, v, s, carries


@njit(cache=True, inline="always")
def _lif_uniform(u_, v_, a_in, got, spk, m, ku, kv, vth, v_reset, bias, subtract):
    """The branch-free LIF pass over m neurons sharing one set of parameters (scalars: no
    per-neuron loads).  Returns (active, bad_u, bad_v)."""
    active = 0
    bad_u = 0
    bad_v = 0
    for k in range(m):
        u0 = u_[k]
        v0 = v_[k]
        u, v, s, carries = lif_neuron(u0, v0, a_in[k], ku, kv, bias, vth, v_reset, subtract)
        active += carries | (got[k] != 0)
        bad_u += finite(u0) & ~finite(u)
        bad_v += finite(v0) & ~finite(v)
        spk[k] = s
        u_[k] = u
        v_[k] = v
    return active, bad_u, bad_v


@njit(cache=True, inline="always")
def _lif_per_neuron(u_, v_, a_in, got, spk, m, ku_, kv_, vth_, vr_, bias_, subtract):
    """:func:`_lif_uniform` with per-neuron parameter arrays (indexed by k, as the state:
    an index computed as ``k * stride`` kept LLVM from vectorising, 4-10x slower)."""
    active = 0
    bad_u = 0
    bad_v = 0
    for k in range(m):
        u0 = u_[k]
        v0 = v_[k]
        u, v, s, carries = lif_neuron(u0, v0, a_in[k], ku_[k], kv_[k], bias_[k], vth_[k], vr_[k], subtract)
        active += carries | (got[k] != 0)
        bad_u += finite(u0) & ~finite(u)
        bad_v += finite(v0) & ~finite(v)
        spk[k] = s
        u_[k] = u
        v_[k] = v
    return active, bad_u, bad_v


@njit(cache=True)
def lif_step(U, V, REF, FP, b, lo, hi, a_in, got, subtract, refractory, uniform, idx, val, spk, DIAG, pi, t):
    """Float LIF / IF (``spikeattn.dynamics.LIFDynamics``)::

        carries = u*ku != 0 or v*kv != 0 or bias != 0          (state before the update)
        u = u*ku + a_in;  v = (v*kv + u) + bias
        refractory r > 0: v = v_reset while ref > 0; ref = max(ref - 1, 0)
        s = v > vth;  v = v - vth (subtract) or v_reset (zero) where s;  ref = r where s

    Diagnostics ``nonfinite:u`` / ``nonfinite:v``: u or v was finite before the step and is
    inf/NaN after it (``Dynamics.check``; counted in ``DIAG[pi, 0 / 1, t, b]``).  Without a
    refractory period the update is one branch-free pass (LLVM vectorises it) writing the
    spike flags ``spk`` (uint8), then the spikes are listed from them 8 at a time;
    ``uniform``: every parameter is one value for the population (read once, not per neuron).
    """
    if refractory > 0:
        return lif_step_refractory(U, V, REF, FP, b, lo, hi, a_in, got, refractory, idx, val, DIAG, pi, t)
    m = hi - lo
    # 1-D views indexed by k in range(m): LLVM sees k >= 0 and vectorises the loop
    u_, v_ = U[b, lo:hi], V[b, lo:hi]
    if uniform:
        active, bad_u, bad_v = _lif_uniform(u_, v_, a_in, got, spk, m, FP[F_KU, lo], FP[F_KV, lo], FP[F_VTH, lo],
                                            FP[F_VRESET, lo], FP[F_BIAS, lo], subtract)
    else:
        active, bad_u, bad_v = _lif_per_neuron(u_, v_, a_in, got, spk, m, FP[F_KU, lo:hi], FP[F_KV, lo:hi],
                                               FP[F_VTH, lo:hi], FP[F_VRESET, lo:hi], FP[F_BIAS, lo:hi], subtract)
    n = scan_nonzero(spk, m, idx)
    for e in range(n):
        val[e] = 1.0
    if bad_u:
        DIAG[pi, 0, t, b] = bad_u
    if bad_v:
        DIAG[pi, 1, t, b] = bad_v
    return active, n


@njit(cache=True)
def lif_step_refractory(U, V, REF, FP, b, lo, hi, a_in, got, refractory, idx, val, DIAG, pi, t):
    """:func:`lif_step` with a refractory period (reset "zero" only, as the model requires)."""
    active = 0
    n = 0
    bad_u = 0
    bad_v = 0
    for j in range(lo, hi):
        k = j - lo
        u0 = U[b, j]
        v0 = V[b, j]
        u, v, carries = lif_integrate(u0, v0, a_in[k], FP[F_KU, j], FP[F_KV, j], FP[F_BIAS, j])
        if carries or got[k] != 0:
            active += 1
        r = REF[b, j]
        if r > 0:
            v = FP[F_VRESET, j]
            r -= 1
        v, s = lif_fire(v, FP[F_VTH, j], FP[F_VRESET, j], False)
        if s:
            r = refractory
            idx[n] = k
            val[n] = 1.0
            n += 1
        REF[b, j] = r
        if not (np.isfinite(u) and np.isfinite(v)):
            if np.isfinite(u0) and not np.isfinite(u):
                bad_u += 1
            if np.isfinite(v0) and not np.isfinite(v):
                bad_v += 1
        U[b, j] = u
        V[b, j] = v
    if bad_u:
        DIAG[pi, 0, t, b] = bad_u
    if bad_v:
        DIAG[pi, 1, t, b] = bad_v
    return active, n


@njit(cache=True)
def graded_relu_step(V, FP, b, lo, hi, a_in, got, idx, val, DIAG, pi, t):
    """GradedReLU (``spikeattn.dynamics.GradedReLUDynamics``): ``v = a_in``; output
    ``v - vth`` where ``v > vth`` else 0 (float64).  Memoryless: it carries nothing, so an
    update is active only if an event arrived.  Diagnostic ``nonfinite:v`` (v finite before,
    inf/NaN after) in ``DIAG[pi, 0, t, b]``."""
    m = hi - lo
    v_, vth_ = V[b, lo:hi], FP[F_VTH, lo:hi]
    active = 0
    bad = 0
    for k in range(m):
        active += got[k] != 0
        a = a_in[k]
        bad += (np.abs(v_[k]) < np.inf) & ~(np.abs(a) < np.inf)
        v_[k] = a
    n = 0
    for k in range(m):
        v = v_[k]
        vth = vth_[k]
        if v > vth:
            idx[n] = k
            val[n] = v - vth
            n += 1
    if bad:
        DIAG[pi, 0, t, b] = bad
    return active, n


@njit(cache=True)
def ternary_if_step(V, FP, b, lo, hi, a_in, got, idx, val, DIAG, pi, t):
    """TernaryIF (``spikeattn.dynamics.TernaryIFDynamics``)::

        carries = v != 0 or bias != 0;   v = (v + a_in) + bias
        s = +1 if v > vth, -1 if v < -vth, else 0;   v = v - s * vth

    Graded (signed) output; diagnostic ``nonfinite:v`` in ``DIAG[pi, 0, t, b]``."""
    m = hi - lo
    v_, vth_, bias_ = V[b, lo:hi], FP[F_VTH, lo:hi], FP[F_BIAS, lo:hi]
    active = 0
    bad = 0
    n = 0
    for k in range(m):
        v0 = v_[k]
        bias = bias_[k]
        vth = vth_[k]
        if v0 != 0.0 or bias != 0.0 or got[k] != 0:
            active += 1
        v = v0 + a_in[k]
        v = v + bias
        s = 1.0 if v > vth else (-1.0 if v < -vth else 0.0)
        v = v - s * vth
        if np.isfinite(v0) and not np.isfinite(v):
            bad += 1
        v_[k] = v
        if s != 0.0:
            idx[n] = k
            val[n] = s
            n += 1
    if bad:
        DIAG[pi, 0, t, b] = bad
    return active, n


@njit(cache=True)
def multi_threshold_if_step(V, FP, b, lo, hi, a_in, got, levels, signed, idx, val, DIAG, pi, t):
    """MultiThresholdIF (``spikeattn.dynamics.MultiThresholdIFDynamics``), L = levels::

        carries = v != 0 or bias != 0;   v = (v + a_in) + bias
        up = clip(ceil(v / vth) - 1, 0, L);  down = clip(ceil(-v / vth) - 1, 0, L) if signed else 0
        n = up if v >= 0 else -down;   s = n;   v = v - n * vth

    (clip keeps NaN as numpy's does).  Diagnostic ``nonfinite:v`` in ``DIAG[pi, 0, t, b]``."""
    m = hi - lo
    v_, vth_, bias_ = V[b, lo:hi], FP[F_VTH, lo:hi], FP[F_BIAS, lo:hi]
    top = float(levels)
    active = 0
    bad = 0
    n = 0
    for k in range(m):
        v0 = v_[k]
        bias = bias_[k]
        vth = vth_[k]
        if v0 != 0.0 or bias != 0.0 or got[k] != 0:
            active += 1
        v = v0 + a_in[k]
        v = v + bias
        up = np.ceil(v / vth) - 1.0
        if up < 0.0:
            up = 0.0
        elif up > top:
            up = top
        down = 0.0
        if signed:
            down = np.ceil(-v / vth) - 1.0
            if down < 0.0:
                down = 0.0
            elif down > top:
                down = top
        s = up if v >= 0.0 else -down
        v = v - s * vth
        if np.isfinite(v0) and not np.isfinite(v):
            bad += 1
        v_[k] = v
        if s != 0.0:
            idx[n] = k
            val[n] = s
            n += 1
    if bad:
        DIAG[pi, 0, t, b] = bad
    return active, n


@njit(cache=True)
def loihi_lif_step(U, V, IP, b, lo, hi, a_in, got, idx, val, spk, DIAG, pi, t):
    """Loihi fixed-point LIF, Lava 0.10 ``PyLifModelBitAcc`` (int64 holding int32 values)::

        act = wrap32(wrap32(a_in) << 6)
        du_u = trunc0(u * (4096 - (du + 1)));  u1 = wrap32(du_u + act)
        u = u1 - 2**24 if u1 > 2**23, u1 + 2**24 if u1 <= -2**23, else u1
        dv_v = trunc0(v * (4096 - dv));  v = clip(wrap32(dv_v + u + bias), -(2**23-1), 2**23-1)
        s = v > (vth << 6);  v = 0 where s
        carries = du_u != 0 or dv_v != 0 or bias != 0

    Diagnostics (``spikeattn.dynamics.fixed_point.loihi_lif_diagnostics``), counted in
    ``DIAG[pi, 0..3, t, b]``: ``overflow:a_in`` (the input or ``a_in << 6`` left int32),
    ``overflow:u`` (``du_u + act`` left int32 or u left 24 bits), ``overflow:v``
    (``dv_v + u + bias`` left int32), ``saturation:v`` (v clipped).  One branch-free pass
    (selects only, so LLVM vectorises it), then the spikes are listed from ``spk``.
    """
    m = hi - lo
    u_, v_ = U[b, lo:hi], V[b, lo:hi]
    du_, dv_, vth_, bias_ = IP[I_DU, lo:hi], IP[I_DV, lo:hi], IP[I_VTH, lo:hi], IP[I_BIAS, lo:hi]
    active = 0
    o_in = 0
    o_u = 0
    o_v = 0
    sat = 0
    for k in range(m):
        bias = bias_[k]
        xu = u_[k] * (DECAY_UNITY - (du_[k] + 1))
        xv = v_[k] * (DECAY_UNITY - dv_[k])
        du_u = (xu >> 12) if xu >= 0 else -((-xu) >> 12)
        dv_v = (xv >> 12) if xv >= 0 else -((-xv) >> 12)
        active += (du_u != 0) | (dv_v != 0) | (bias != 0) | (got[k] != 0)
        a = a_in[k]
        a32 = wrap32(a)
        shifted = a32 << 6
        act = wrap32(shifted)
        o_in += (a32 != a) | (act != shifted)
        u0 = du_u + act
        u1 = wrap32(u0)
        hi_u = u1 > U_HALF
        lo_u = u1 <= -U_HALF
        o_u += (u1 != u0) | hi_u | lo_u
        u1 = (u1 - U_WRAP) if hi_u else ((u1 + U_WRAP) if lo_u else u1)
        v0 = dv_v + u1 + bias
        v1 = wrap32(v0)
        o_v += v1 != v0
        sat += (v1 > V_MAX) | (v1 < -V_MAX)
        v1 = V_MAX if v1 > V_MAX else (-V_MAX if v1 < -V_MAX else v1)
        s = v1 > (vth_[k] << 6)
        spk[k] = s
        u_[k] = u1
        v_[k] = 0 if s else v1
    n = scan_nonzero(spk, m, idx)
    for e in range(n):
        val[e] = 1
    if o_in:
        DIAG[pi, 0, t, b] = o_in
    if o_u:
        DIAG[pi, 1, t, b] = o_u
    if o_v:
        DIAG[pi, 2, t, b] = o_v
    if sat:
        DIAG[pi, 3, t, b] = sat
    return active, n
