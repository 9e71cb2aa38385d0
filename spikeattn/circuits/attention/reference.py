"""Dense numpy formulas the attention circuits implement (the oracles of the tests).

Shapes: spike trains are ``(T, B, N, D)`` arrays (steps, batch, tokens, channels), binary;
``heads`` splits the channels into ``H`` heads of ``c = D / H`` channels (head ``h`` owns
channels ``h*c .. h*c + c - 1``).  ``mask`` is an ``(N_q, N_k)`` boolean array (None: full).

Per step t, per head (no softmax, Spikformer SSA)::

    X[t] = (Q[t] K[t]^T ⊙ M) V[t]          integer counts; equal to Q[t] (K[t]^T V[t]) when M is full
    y_in[t + L] = scale * X[t]             L = latency_steps of the circuit (4 for SSA)
    y = LIF(y_in)                          the circuit's output LIF (equations in spikeattn.ir.LIF)

Fixed point (``ssa_reference(..., fixed_point=True)``): ``a[t + L] = w * X[t]`` (integers,
``w`` from ``ssa.fixed_point_output(scale)``) drives Loihi's LIF, written out here from the
equations of Lava 0.10's bit-accurate LIF (not from the engine code), see :func:`loihi_lif_run`.

Spike-driven self-attention (SDSA, channel-wise, heads do not matter)::

    S[t]   = sum_j (K[t] ⊙ V[t])[j, :]      column sum over tokens (per query over its allowed keys with a mask)
    kv     = LIF_kv(kv_in),  kv_in[t + 2] = S[t]
    out[t + 3] = Q[t] ⊙ kv[t + 2]           binary Hadamard mask; latency 3

Everything is computed with plain numpy (einsum, loops over steps) — no circuit machinery.
"""
from __future__ import annotations

import numpy as np

from ...errors import ParameterError


def lif_run(x: np.ndarray, du=1.0, dv=0.0, vth=1.0, bias=0.0, reset="zero", v_reset=0.0) -> np.ndarray:
    """Spikes of LIF neurons driven by input ``x[t]`` (first axis = steps)::

        u = u * (1 - du) + x[t];  v = v * (1 - dv) + u + bias;  s = v > vth;  reset
    """
    u = np.zeros(x.shape[1:])
    v = np.zeros(x.shape[1:])
    out = np.zeros(x.shape, bool)
    for t in range(x.shape[0]):
        u = u * (1.0 - du) + x[t]
        v = v * (1.0 - dv) + u + bias
        s = v > vth
        v = np.where(s, v - vth, v) if reset == "subtract" else np.where(s, v_reset, v)
        out[t] = s
    return out


def _trunc0(x: np.ndarray) -> np.ndarray:
    """``sign(x) * (|x| >> 12)``: division by 4096 rounding toward zero (integers)."""
    return np.sign(x) * (np.abs(x) >> 12)


def loihi_lif_run(a: np.ndarray, du: int = 0, dv: int = 0, vth: int = 10, bias: int = 0) -> np.ndarray:
    """Spikes of Loihi fixed-point LIF neurons driven by integer input ``a[t]`` (first axis = steps)::

        u = trunc0(u * (4096 - (du + 1))) + (a[t] << 6), wrapped once into 24 bits
        v = clip(trunc0(v * (4096 - dv)) + u + bias, -(2**23 - 1), 2**23 - 1)
        s = v > (vth << 6);  v[s] = 0                    (u is not reset)

    ``bias`` is the already shifted ``bias_mant << bias_exp``.  int64 throughout: valid
    while the sums stay inside int32 (no int32 wrap is modelled)."""
    a = np.asarray(a, np.int64)
    u = np.zeros(a.shape[1:], np.int64)
    v = np.zeros(a.shape[1:], np.int64)
    out = np.zeros(a.shape, bool)
    for t in range(a.shape[0]):
        u = _trunc0(u * (4096 - (int(du) + 1))) + a[t] * 64
        u = np.where(u > 2**23, u - 2**24, np.where(u <= -2**23, u + 2**24, u))
        v = np.clip(_trunc0(v * (4096 - int(dv))) + u + int(bias), -(2**23 - 1), 2**23 - 1)
        s = v > int(vth) * 64
        v = np.where(s, 0, v)
        out[t] = s
    return out


def lif_params(model) -> dict:
    """The LIF parameters of a :class:`spikeattn.ir.LIF` as keyword arguments of :func:`lif_run`."""
    return {k: getattr(model, k) for k in ("du", "dv", "vth", "bias", "reset", "v_reset")}


def shift(x: np.ndarray, steps: int) -> np.ndarray:
    """``out[t] = x[t - steps]`` (zeros for t < steps): the pipeline latency."""
    out = np.zeros_like(x)
    if steps < x.shape[0]:
        out[steps:] = x[: x.shape[0] - steps]
    return out


def split_heads(x: np.ndarray, heads: int) -> np.ndarray:
    """``(..., N, D) -> (..., H, N, D/H)``."""
    d = x.shape[-1]
    if d % heads:
        raise ParameterError("attention", "heads", f"{heads} heads do not divide {d} channels.")
    y = x.reshape(x.shape[:-1] + (heads, d // heads))
    return np.moveaxis(y, -2, -3)


def merge_heads(x: np.ndarray) -> np.ndarray:
    """``(..., H, N, c) -> (..., N, H*c)``."""
    y = np.moveaxis(x, -3, -2)
    return y.reshape(y.shape[:-2] + (-1,))


def _mask(mask, n_q, n_k) -> np.ndarray:
    if mask is None:
        return np.ones((n_q, n_k), bool)
    return np.asarray(mask.toarray() if hasattr(mask, "toarray") else mask, bool)


def _num(x) -> np.ndarray:
    """Spikes (bool/int) as int64 for exact integer products; rates keep their float values."""
    x = np.asarray(x)
    return x.astype(np.int64) if (x.dtype == bool or np.issubdtype(x.dtype, np.integer)) else x.astype(np.float64)


def qk_map(q: np.ndarray, k: np.ndarray, heads: int = 1, mask=None) -> np.ndarray:
    """Per-step attention scores ``(Q K^T) ⊙ M`` per head: ``(..., H, N_q, N_k)`` (int64 for
    spikes, float for rates)."""
    qh, kh = split_heads(_num(q), heads), split_heads(_num(k), heads)
    a = np.einsum("...hic,...hjc->...hij", qh, kh)
    return a * _mask(mask, q.shape[-2], k.shape[-2])


def ssa_products(q, k, v, heads: int = 1, mask=None, order: str = "qk_v") -> np.ndarray:
    """``X = (Q K^T ⊙ M) V`` per head and step, ``(..., N_q, D)`` (int64 for spikes; ``order`` = "q_kv"
    computes ``Q (K^T V)`` instead; equal when M is full)."""
    vh = split_heads(_num(v), heads)
    if order == "q_kv":
        if mask is not None:
            raise ParameterError("ssa_products", "mask", "Q(K^T V) cannot apply a token mask.")
        qh, kh = split_heads(_num(q), heads), split_heads(_num(k), heads)
        kv = np.einsum("...hjc,...hje->...hce", kh, vh)
        return merge_heads(np.einsum("...hic,...hce->...hie", qh, kv))
    return merge_heads(np.einsum("...hij,...hje->...hie", qk_map(q, k, heads, mask), vh))


def ssa_reference(q, k, v, heads=1, mask=None, scale=0.125, out_model=None, latency=4,
                  fixed_point: bool = False) -> np.ndarray:
    """Expected output spikes ``(T, B, N_q, D)`` of the SSA circuit given Q, K, V spikes
    (``fixed_point``: of ``ssa_attention(..., fixed_point=True)``, whose output is a
    ``LoihiLIF`` fed ``w * X``; ``out_model`` then a ``LoihiLIF``)."""
    from ...ir import LIF

    if fixed_point:
        from .ssa import fixed_point_output

        w, default = fixed_point_output(scale)
        m = out_model or default
        bias = m.bias_mant << m.bias_exp if m.bias_exp >= 0 else m.bias_mant >> -m.bias_exp
        a = w * ssa_products(q, k, v, heads, mask)
        return loihi_lif_run(shift(a, latency), m.du, m.dv, m.vth, int(bias))
    out_model = out_model or LIF(du=1.0, dv=0.5, vth=0.5)
    x = scale * ssa_products(q, k, v, heads, mask).astype(np.float64)
    return lif_run(shift(x, latency), **lif_params(out_model))


def sdsa_sums(k, v, mask=None) -> np.ndarray:
    """``S = sum_j (K ⊙ V)[j]``: ``(..., D)`` without a mask, ``(..., N_q, D)`` with one."""
    kv = (k.astype(np.int64) * v.astype(np.int64))
    if mask is None:
        return kv.sum(axis=-2)
    m = _mask(mask, mask.shape[0], k.shape[-2]).astype(np.int64)
    return np.einsum("ij,...jd->...id", m, kv)


def sdsa_reference(q, k, v, kv_model=None, mask=None, latency=3):
    """Expected ``(out, kv)`` spikes of the SDSA circuit; ``out`` is ``(T, B, N_q, D)``."""
    from ...ir import LIF

    kv_model = kv_model or LIF(du=1.0, dv=0.5, vth=1.0)
    kv = lif_run(shift(sdsa_sums(k, v, mask).astype(np.float64), latency - 1), **lif_params(kv_model))
    kv_b = kv if mask is not None else kv[..., None, :]
    out = shift(q.astype(bool), latency) & shift(kv_b, 1)
    return out, kv


def softmax_attention(q, k, v=None, heads=1, mask=None, scale=None):
    """Real-valued softmax attention on ``(..., N, D)`` inputs.

    Returns ``(out, probs)``: ``probs = softmax(Q K^T * scale + log M)`` per head
    ``(..., H, N_q, N_k)`` and ``out = probs V`` merged back to ``(..., N_q, D)`` (None if
    ``v`` is None).  ``scale`` defaults to ``1/sqrt(D/H)``."""
    qh, kh = split_heads(np.asarray(q, float), heads), split_heads(np.asarray(k, float), heads)
    scale = 1.0 / np.sqrt(qh.shape[-1]) if scale is None else scale
    logits = np.einsum("...hic,...hjc->...hij", qh, kh) * scale
    m = _mask(mask, qh.shape[-2], kh.shape[-2])
    logits = np.where(m, logits, -np.inf)
    logits = logits - logits.max(axis=-1, keepdims=True)
    p = np.exp(logits)
    p = p / p.sum(axis=-1, keepdims=True)
    if v is None:
        return None, p
    return merge_heads(np.einsum("...hij,...hje->...hie", p, split_heads(np.asarray(v, float), heads))), p


def dense_attention_flops(n_q: int, n_k: int, dim: int, heads: int = 1, pairs: int | None = None,
                          softmax: bool = True) -> int:
    """FLOPs of one dense attention evaluation with the same shapes.

    ``QK^T``: ``2 * P * D`` (a multiply and an add per channel and pair), ``AV``: ``2 * P * D``,
    softmax: ``5 * H * P`` (scale, max-subtract, exp, sum, divide), with ``P`` the number of
    attended (query, key) pairs (``n_q * n_k`` for full attention, ``mask.nnz`` with a mask)."""
    p = n_q * n_k if pairs is None else int(pairs)
    return int(4 * p * dim + (5 * heads * p if softmax else 0))
