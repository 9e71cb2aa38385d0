"""The whole simulation loop, compiled with numba (``@njit(cache=True)``, cached on disk).

For each sample (independent: the parallel driver gives each thread one block of
consecutive samples with ``prange``; a thread runs its samples one after the other), for
each step ``t`` in ``[t0, t1)``, for each node in ``circuit.update_order()``:

* a source emits the non-zero entries of its input for step t (binary: value 1);
* a population sums its input ``a_in = 0.0 + acc[p1][t] + acc[p2][t] + ...`` over its
  incoming projections in name order (fixed point: each exact integer sum wrapped to int32
  where Lava wraps, then shifted by ``weight_exp``) and reads "received an event" (its
  arrival flag or a non-zero slot, see :func:`deliver`), clears those slots and flags,
  runs its kernel (:mod:`.kernels`), which also applies the active-update rule, and
  records its outputs and probes;
* each outgoing projection touches only the CSR rows of the non-zero outputs, in ascending
  pre index then synapse order, adding ``w`` (binary; ``w * sign(s)`` from signed-output
  models) or ``w * s`` (graded, count) into its own
  ring slot ``(t + delay) % (delay + 1)`` (setting the post neuron's arrival flag where the
  sum becomes exactly zero).

Counts, written in the same loop (definitions in :mod:`spikeattn.counts`):
``CPOP[pop, 0/1, t, b]`` = active updates / non-zero outputs; ``CSRC[src, t, b]`` = non-zero
inputs; ``CPROJ[proj, 0/1, t, b]`` = synaptic ops (sum of fan-outs of the non-zero outputs)
/ messages (non-zero outputs with fan-out > 0); ``DIAG[pop, flag, t, b]`` = diagnostics.
Samples never share memory, so the parallel and serial drivers give identical results.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .kernels import (graded_relu_step, lif_step, loihi_lif_step, multi_threshold_if_step, shift,
                      ternary_if_step, wrap32)
from .pack import (J_ACC, J_DELAY, J_INT32, J_MODE, J_NPOST, J_POST, J_PTR, J_WEXP, KIND_SOURCE, M_BINARY,
                   M_COUNT, M_SIGNED, N_KIND, N_OUT0, N_OUT1, N_REF, P_ARR_LEN, P_ARR_LO, P_GRADED, P_HI, P_IN0,
                   P_IN1, P_KERNEL, P_LEVELS, P_LO, P_OUT_LO, P_PRB0, P_PRB1, P_REFRAC, P_SIGNED, P_SUBTRACT,
                   P_UNIFORM, R_LO, R_SLOT, S_GRADED, S_LO, S_SIZE, S_WORDS)
from .kernels_loihi_convert import loihi_graded_relu_step, loihi_multi_threshold_if_step
from .registry import K_GRADED_RELU, K_LIF, K_LOIHI_GRADED_RELU, K_LOIHI_MULTI_THRESHOLD_IF, K_TERNARY_IF


@njit(cache=True, inline="always")
def emit_source(b, t, s, SRC, SB, SB64, SV, idx, val):
    """Non-zero inputs of source ``s`` at step t into ``idx`` / ``val``; returns their number.
    Binary rows that start on an 8-byte boundary are scanned 8 bytes at a time (``SB64``)."""
    lo = SRC[s, S_LO]
    size = SRC[s, S_SIZE]
    n = 0
    if SRC[s, S_GRADED] == 0:
        row = SB[t, b, lo:lo + size]
        if SRC[s, S_WORDS] != 0:
            words = SB64[t, b, lo // 8:(lo + size + 7) // 8]
            for c in range(words.shape[0]):
                if words[c] != 0:
                    for i in range(c * 8, min(c * 8 + 8, size)):
                        if row[i] != 0:
                            idx[n] = i
                            val[n] = 1
                            n += 1
        else:
            for i in range(size):
                if row[i] != 0:
                    idx[n] = i
                    val[n] = 1
                    n += 1
    else:
        vrow = SV[t, b, lo:lo + size]
        for i in range(size):
            x = vrow[i]
            if x != 0:
                idx[n] = i
                val[n] = x
                n += 1
    return n


@njit(cache=True, inline="always")
def gather_float(b, t, q, POP, PROJ, INL, ACC, ARR, a_in, got):
    """``a_in = 0.0 + acc[p][slot] + ...`` over q's incoming projections in name order, and
    ``got`` = "received >= 1 event for step t" = its arrival flag or a non-zero sum (see
    :func:`deliver`); clears the slots and the flags.  One pass per projection."""
    size = POP[q, P_HI] - POP[q, P_LO]
    base = POP[q, P_ARR_LO] + (t % POP[q, P_ARR_LEN]) * size
    flags = ARR[b, base:base + size]
    e0, e1 = POP[q, P_IN0], POP[q, P_IN1]
    if e1 == e0:        # no incoming projection: nothing ever arrives
        for i in range(size):
            a_in[i] = 0.0
            got[i] = 0
    for e in range(e0, e1):
        p = INL[e]
        base = PROJ[p, J_ACC] + (t % (PROJ[p, J_DELAY] + 1)) * size
        acc = ACC[b, base:base + size]
        if e == e0:
            for i in range(size):
                x = acc[i]
                a_in[i] = 0.0 + x
                got[i] = flags[i] | (x != 0.0)
                flags[i] = 0
                acc[i] = 0.0
        else:
            for i in range(size):
                x = acc[i]
                a_in[i] = a_in[i] + x
                got[i] |= x != 0.0
                acc[i] = 0.0


@njit(cache=True, inline="always")
def gather_fixed(b, t, q, POP, PROJ, INL, ACC, ARR, a_in, got):
    """Fixed point: per projection exact sum, int32 wrap where Lava wraps, weight_exp shift;
    ``got`` as in :func:`gather_float`."""
    size = POP[q, P_HI] - POP[q, P_LO]
    base = POP[q, P_ARR_LO] + (t % POP[q, P_ARR_LEN]) * size
    flags = ARR[b, base:base + size]
    for i in range(size):
        a_in[i] = 0
        got[i] = flags[i]
        flags[i] = 0
    for e in range(POP[q, P_IN0], POP[q, P_IN1]):
        p = INL[e]
        base = PROJ[p, J_ACC] + (t % (PROJ[p, J_DELAY] + 1)) * size
        w32 = PROJ[p, J_INT32] != 0
        wexp = PROJ[p, J_WEXP]
        acc = ACC[b, base:base + size]
        for i in range(size):
            x = acc[i]
            got[i] |= x != 0
            if w32:
                x = wrap32(x)
            a_in[i] += shift(x, wexp)
            acc[i] = 0


@njit(cache=True, inline="always")
def record(b, t, q, POP, PRB, U, V, OB, OG, PO, idx, val, n):
    """Write population q's outputs (bool or graded) and probed state for step t."""
    lo = POP[q, P_LO]
    size = POP[q, P_HI] - lo
    olo = POP[q, P_OUT_LO]
    if POP[q, P_GRADED] != 0:
        og = OG[t, b, olo:olo + size]
        for e in range(n):
            og[idx[e]] = val[e]
    else:
        ob = OB[t, b, olo:olo + size]
        for e in range(n):
            ob[idx[e]] = 1
    for r in range(POP[q, P_PRB0], POP[q, P_PRB1]):
        plo = PRB[r, R_LO]
        po = PO[t, b, plo:plo + size]
        st = U[b, lo:lo + size] if PRB[r, R_SLOT] == 0 else V[b, lo:lo + size]
        for i in range(size):
            po[i] = st[i]


@njit(cache=True, inline="always")
def deliver(b, t, p, PROJ, POP, INDPTR, INDICES, W, ACC, ARR, idx, val, n, CPROJ):
    """Event-driven propagation of the n non-zero outputs over projection p (rows of
    spiking pre neurons only, ascending), counting ops and messages.  Contribution per
    synapse: ``w`` (binary), ``w * sign(s)`` (binary from a signed-output model), ``w * s``
    (graded; count, which also counts ``|s|`` ops per synapse).

    "Received >= 1 event" (the active-update rule) is the post neuron's arrival flag OR a
    non-zero accumulator: the flag is set only where an addition gives exactly zero (0, -0.0:
    events that cancel), so a synapse costs no store beyond its accumulator in general; if
    any event arrived, either the final sum is non-zero or the last addition gave zero."""
    post = PROJ[p, J_POST]
    d = PROJ[p, J_DELAY]
    npost = PROJ[p, J_NPOST]
    base = PROJ[p, J_ACC] + ((t + d) % (d + 1)) * npost
    abase = POP[post, P_ARR_LO] + ((t + d) % POP[post, P_ARR_LEN]) * npost
    ptr = PROJ[p, J_PTR]
    mode = PROJ[p, J_MODE]
    acc = ACC[b, base:base + npost]
    got = ARR[b, abase:abase + npost]
    ops = 0
    msgs = 0
    for e in range(n):
        i = idx[e]
        r0 = INDPTR[ptr + i]
        r1 = INDPTR[ptr + i + 1]
        if r1 > r0:
            msgs += 1
            if mode == M_BINARY:
                ops += r1 - r0
                for s in range(r0, r1):
                    j = INDICES[s]
                    x = acc[j] + W[s]
                    acc[j] = x
                    if x == 0:
                        got[j] = 1
            else:
                x = val[e]
                if mode == M_COUNT:
                    ops += (r1 - r0) * np.int64(abs(x))
                else:
                    ops += r1 - r0
                if mode == M_SIGNED:
                    x = (x > 0) - (x < 0)
                for s in range(r0, r1):
                    j = INDICES[s]
                    y = acc[j] + W[s] * x
                    acc[j] = y
                    if y == 0:
                        got[j] = 1
    CPROJ[p, 0, t, b] = ops
    CPROJ[p, 1, t, b] = msgs


@njit(cache=True)
def run_block_float(b0, b1, t0, t1, NODE, POP, SRC, PROJ, OUTL, INL, PRB, FP, IP, INDPTR, INDICES, W, SB, SB64, SV,
                    U, V, REF, ACC, ARR, OB, OG, PO, CPOP, CSRC, CPROJ, DIAG, max_n):
    """Steps t0 .. t1-1 of samples b0 .. b1-1, one sample after the other (sample-major: a
    sample's state, accumulators and arrival flags stay in the core's caches for all its
    steps), float64 circuits (LIF / IF, GradedReLU, TernaryIF, MultiThresholdIF)."""
    idx = np.empty(max_n, np.int64)
    val = np.empty(max_n, np.float64)
    a_in = np.empty(max_n, np.float64)
    got = np.empty(max_n, np.uint8)
    spk = np.zeros((max_n + 7) // 8 * 8, np.uint8)
    for b in range(b0, b1):
        for t in range(t0, t1):
            for k in range(NODE.shape[0]):
                q = NODE[k, N_REF]
                if NODE[k, N_KIND] == KIND_SOURCE:
                    n = emit_source(b, t, q, SRC, SB, SB64, SV, idx, val)
                    CSRC[q, t, b] = n
                else:
                    gather_float(b, t, q, POP, PROJ, INL, ACC, ARR, a_in, got)
                    lo = POP[q, P_LO]
                    hi = POP[q, P_HI]
                    if POP[q, P_KERNEL] == K_LIF:
                        active, n = lif_step(U, V, REF, FP, b, lo, hi, a_in, got, POP[q, P_SUBTRACT] != 0,
                                             POP[q, P_REFRAC], POP[q, P_UNIFORM] != 0, idx, val, spk, DIAG, q, t)
                    elif POP[q, P_KERNEL] == K_GRADED_RELU:
                        active, n = graded_relu_step(V, FP, b, lo, hi, a_in, got, idx, val, DIAG, q, t)
                    elif POP[q, P_KERNEL] == K_TERNARY_IF:
                        active, n = ternary_if_step(V, FP, b, lo, hi, a_in, got, idx, val, DIAG, q, t)
                    else:  # K_MULTI_THRESHOLD_IF (the engine packs no other float kernel)
                        active, n = multi_threshold_if_step(V, FP, b, lo, hi, a_in, got, POP[q, P_LEVELS],
                                                            POP[q, P_SIGNED] != 0, idx, val, DIAG, q, t)
                    CPOP[q, 0, t, b] = active
                    CPOP[q, 1, t, b] = n
                    record(b, t, q, POP, PRB, U, V, OB, OG, PO, idx, val, n)
                for o in range(NODE[k, N_OUT0], NODE[k, N_OUT1]):
                    deliver(b, t, OUTL[o], PROJ, POP, INDPTR, INDICES, W, ACC, ARR, idx, val, n, CPROJ)


@njit(cache=True)
def run_block_fixed(b0, b1, t0, t1, NODE, POP, SRC, PROJ, OUTL, INL, PRB, FP, IP, INDPTR, INDICES, W, SB, SB64, SV,
                    U, V, REF, ACC, ARR, OB, OG, PO, CPOP, CSRC, CPROJ, DIAG, max_n):
    """:func:`run_block_float` for fixed-point circuits (int64): LoihiLIF,
    LoihiMultiThresholdIF, LoihiGradedReLU."""
    idx = np.empty(max_n, np.int64)
    val = np.empty(max_n, np.int64)
    a_in = np.empty(max_n, np.int64)
    got = np.empty(max_n, np.uint8)
    spk = np.zeros((max_n + 7) // 8 * 8, np.uint8)
    for b in range(b0, b1):
        for t in range(t0, t1):
            for k in range(NODE.shape[0]):
                q = NODE[k, N_REF]
                if NODE[k, N_KIND] == KIND_SOURCE:
                    n = emit_source(b, t, q, SRC, SB, SB64, SV, idx, val)
                    CSRC[q, t, b] = n
                else:
                    gather_fixed(b, t, q, POP, PROJ, INL, ACC, ARR, a_in, got)
                    lo = POP[q, P_LO]
                    hi = POP[q, P_HI]
                    if POP[q, P_KERNEL] == K_LOIHI_MULTI_THRESHOLD_IF:
                        active, n = loihi_multi_threshold_if_step(V, IP, b, lo, hi, a_in, got, POP[q, P_LEVELS],
                                                                  POP[q, P_SIGNED] != 0, idx, val, DIAG, q, t)
                    elif POP[q, P_KERNEL] == K_LOIHI_GRADED_RELU:
                        active, n = loihi_graded_relu_step(V, IP, b, lo, hi, a_in, got, idx, val, DIAG, q, t)
                    else:  # K_LOIHI_LIF
                        active, n = loihi_lif_step(U, V, IP, b, lo, hi, a_in, got, idx, val, spk, DIAG, q, t)
                    CPOP[q, 0, t, b] = active
                    CPOP[q, 1, t, b] = n
                    record(b, t, q, POP, PRB, U, V, OB, OG, PO, idx, val, n)
                for o in range(NODE[k, N_OUT0], NODE[k, N_OUT1]):
                    deliver(b, t, OUTL[o], PROJ, POP, INDPTR, INDICES, W, ACC, ARR, idx, val, n, CPROJ)


@njit(cache=True)
def run_float_serial(t0, t1, blocks, NODE, POP, SRC, PROJ, OUTL, INL, PRB, FP, IP, INDPTR, INDICES, W, SB, SB64, SV,
                     U, V, REF, ACC, ARR, OB, OG, PO, CPOP, CSRC, CPROJ, DIAG, max_n):
    run_block_float(0, U.shape[0], t0, t1, NODE, POP, SRC, PROJ, OUTL, INL, PRB, FP, IP, INDPTR, INDICES, W,
                    SB, SB64, SV, U, V, REF, ACC, ARR, OB, OG, PO, CPOP, CSRC, CPROJ, DIAG, max_n)


@njit(cache=True, parallel=True)
def run_float_parallel(t0, t1, blocks, NODE, POP, SRC, PROJ, OUTL, INL, PRB, FP, IP, INDPTR, INDICES, W, SB, SB64,
                       SV, U, V, REF, ACC, ARR, OB, OG, PO, CPOP, CSRC, CPROJ, DIAG, max_n):
    """``blocks`` (the number of threads) blocks of consecutive samples, one per prange
    iteration (samples are independent, so any split gives the same result)."""
    batch = U.shape[0]
    blocks = max(1, min(batch, blocks))
    for c in prange(blocks):
        run_block_float(c * batch // blocks, (c + 1) * batch // blocks, t0, t1, NODE, POP, SRC, PROJ, OUTL,
                        INL, PRB, FP, IP, INDPTR, INDICES, W, SB, SB64, SV, U, V, REF, ACC, ARR, OB, OG, PO, CPOP,
                        CSRC, CPROJ, DIAG, max_n)


@njit(cache=True)
def run_fixed_serial(t0, t1, blocks, NODE, POP, SRC, PROJ, OUTL, INL, PRB, FP, IP, INDPTR, INDICES, W, SB, SB64, SV,
                     U, V, REF, ACC, ARR, OB, OG, PO, CPOP, CSRC, CPROJ, DIAG, max_n):
    run_block_fixed(0, U.shape[0], t0, t1, NODE, POP, SRC, PROJ, OUTL, INL, PRB, FP, IP, INDPTR, INDICES, W,
                    SB, SB64, SV, U, V, REF, ACC, ARR, OB, OG, PO, CPOP, CSRC, CPROJ, DIAG, max_n)


@njit(cache=True, parallel=True)
def run_fixed_parallel(t0, t1, blocks, NODE, POP, SRC, PROJ, OUTL, INL, PRB, FP, IP, INDPTR, INDICES, W, SB, SB64,
                       SV, U, V, REF, ACC, ARR, OB, OG, PO, CPOP, CSRC, CPROJ, DIAG, max_n):
    batch = U.shape[0]
    blocks = max(1, min(batch, blocks))
    for c in prange(blocks):
        run_block_fixed(c * batch // blocks, (c + 1) * batch // blocks, t0, t1, NODE, POP, SRC, PROJ, OUTL,
                        INL, PRB, FP, IP, INDPTR, INDICES, W, SB, SB64, SV, U, V, REF, ACC, ARR, OB, OG, PO, CPOP,
                        CSRC, CPROJ, DIAG, max_n)


DRIVERS = {(False, False): run_float_serial, (False, True): run_float_parallel,
           (True, False): run_fixed_serial, (True, True): run_fixed_parallel}
