"""numba step kernels of the fixed-point conversion neurons (see ``kernels.py`` for the
calling convention): ``LoihiMultiThresholdIF`` and ``LoihiGradedReLU``, int64 arithmetic as
in :mod:`spikeattn.dynamics.loihi_convert`, the same diagnostics, graded int64 outputs.
"""
from __future__ import annotations

from numba import njit

from .kernels import V_MAX, wrap32
from .registry import I_BIAS, I_VTH


@njit(cache=True)
def loihi_multi_threshold_if_step(V, IP, b, lo, hi, a_in, got, levels, signed, idx, val, DIAG, pi, t):
    """LoihiMultiThresholdIF (``spikeattn.dynamics.LoihiMultiThresholdIFDynamics``), L = levels::

        carries = v != 0 or bias != 0
        v = clip(wrap32(v + a_in + bias), -(2**23-1), 2**23-1)
        n = min((v - 1) // vth, L) if v > 0;  -min((-v - 1) // vth, L) if v < 0 and signed;  else 0
        s = n;  v = v - n * vth

    Diagnostics in ``DIAG[pi, 0..2, t, b]``: ``overflow:a_in`` (a_in left int32),
    ``overflow:v`` (``v + a_in + bias`` left int32), ``saturation:v`` (v clipped)."""
    o_in = 0
    o_v = 0
    sat = 0
    active = 0
    n = 0
    for j in range(lo, hi):
        k = j - lo
        v0 = V[b, j]
        bias = IP[I_BIAS, j]
        vth = IP[I_VTH, j]
        if v0 != 0 or bias != 0 or got[k] != 0:
            active += 1
        a = a_in[k]
        if wrap32(a) != a:
            o_in += 1
        x = v0 + a + bias
        v = wrap32(x)
        if v != x:
            o_v += 1
        if v > V_MAX:
            v = V_MAX
            sat += 1
        elif v < -V_MAX:
            v = -V_MAX
            sat += 1
        s = 0
        if v > 0:
            s = (v - 1) // vth
            if s > levels:
                s = levels
        elif v < 0 and signed:
            s = (-v - 1) // vth
            if s > levels:
                s = levels
            s = -s
        V[b, j] = v - s * vth
        if s != 0:
            idx[n] = k
            val[n] = s
            n += 1
    if o_in:
        DIAG[pi, 0, t, b] = o_in
    if o_v:
        DIAG[pi, 1, t, b] = o_v
    if sat:
        DIAG[pi, 2, t, b] = sat
    return active, n


@njit(cache=True)
def loihi_graded_relu_step(V, IP, b, lo, hi, a_in, got, idx, val, DIAG, pi, t):
    """LoihiGradedReLU (``spikeattn.dynamics.LoihiGradedReLUDynamics``), memoryless::

        v = clip(wrap32(a_in), -(2**23-1), 2**23-1);  s = v - vth where v > vth, else 0

    Active only where an event arrived.  Diagnostics in ``DIAG[pi, 0..1, t, b]``:
    ``overflow:a_in`` (a_in left int32), ``saturation:v`` (v clipped)."""
    o_in = 0
    sat = 0
    active = 0
    n = 0
    for j in range(lo, hi):
        k = j - lo
        if got[k] != 0:
            active += 1
        a = a_in[k]
        v = wrap32(a)
        if v != a:
            o_in += 1
        if v > V_MAX:
            v = V_MAX
            sat += 1
        elif v < -V_MAX:
            v = -V_MAX
            sat += 1
        V[b, j] = v
        vth = IP[I_VTH, j]
        if v > vth:
            idx[n] = k
            val[n] = v - vth
            n += 1
    if o_in:
        DIAG[pi, 0, t, b] = o_in
    if sat:
        DIAG[pi, 1, t, b] = sat
    return active, n
