"""Rotary position embeddings (issue 17 item 1): LLaMA / GPT-NeoX ``rotate_half``
(``torch.cat((-x[..., d/2:], x[..., :d/2]), -1)``) and the interleaved GPT-J form
(``x[..., ::2]``, ``x[..., 1::2]``, ``stack``, ``flatten``), applied as ``q * cos +
rotate_half(q) * sin`` with per-position cos / sin buffers inside a small causal attention
block; also HF LLaMA's layout (``cos[:T].unsqueeze(1).to(x.dtype)`` on ``(B, T, H, dh)``) and
GPT-NeoX's partial rotary (the first features of each head rotated, the rest passed by ``cat``).  RoPE is a fixed per-position linear map of each token's features, so it converts in
exact, accumulate (flat) and structured modes, and on integer inputs the accumulate-mode
circuits multiply nothing (0 synaptic MACs).

Oracle: the quantised model in float64 torch (``sm.quantised``), as in
``test_ops_families``: the converted circuit's step-1 readout equals it.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the converter needs torch (extra 'torch')")
nn, F = torch.nn, torch.nn.functional

from spikeattn.convert import convert  # noqa: E402
from spikeattn.convert.structured_model import run  # noqa: E402
from spikeattn.convert.structured_report import per_sample  # noqa: E402

C, T, H = 8, 5, 2
PATHS = [("exact", False), ("accumulate", False), ("accumulate", True)]


def _ints(shape, hi=4, seed=0):
    return torch.as_tensor(np.random.default_rng(seed).integers(0, hi, shape).astype(np.float32))


def rotate_half(x, interleaved):
    if interleaved:                                           # GPT-J: pairs (0, 1), (2, 3), ...
        return torch.stack((-x[..., 1::2], x[..., ::2]), -1).flatten(-2)
    d = x.shape[-1] // 2                                      # LLaMA / GPT-NeoX: halves
    return torch.cat((-x[..., d:], x[..., :d]), -1)


class RopeAttention(nn.Module):
    """q, k rotated per position; SDPA with is_causal; the last token read out."""

    def __init__(s, interleaved=False):
        super().__init__()
        s.interleaved = interleaved
        s.q, s.k, s.v, s.head = nn.Linear(C, C), nn.Linear(C, C), nn.Linear(C, C), nn.Linear(C, 3)
        dh = C // H
        inv = 1.0 / (10000 ** (torch.arange(0, dh, 2).float() / dh))
        f = torch.outer(torch.arange(T).float(), inv)         # (T, dh / 2)
        emb = torch.repeat_interleave(f, 2, -1) if interleaved else torch.cat((f, f), -1)
        s.register_buffer("cos", emb.cos())                   # (T, dh): broadcast over batch and heads
        s.register_buffer("sin", emb.sin())

    def forward(s, x):
        B, T_, _ = x.shape
        q, k, v = (t.view(B, T_, H, C // H).transpose(1, 2) for t in (s.q(x), s.k(x), s.v(x)))
        q = q * s.cos + rotate_half(q, s.interleaved) * s.sin
        k = k * s.cos + rotate_half(k, s.interleaved) * s.sin
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return s.head(y.transpose(1, 2).reshape(B, T_, C)[:, -1])


class HFLayout(RopeAttention):
    """HF LLaMA: cos / sin sliced by the sequence length, unsqueezed over heads and cast;
    the rotation applied before the heads are transposed."""

    def forward(s, x):
        B, T_, _ = x.shape
        q, k, v = (t.view(B, T_, H, C // H) for t in (s.q(x), s.k(x), s.v(x)))
        cos, sin = s.cos[:T_].unsqueeze(1).to(x.dtype), s.sin[:T_].unsqueeze(1).to(x.dtype)
        q = q * cos + rotate_half(q, False) * sin
        k = k * cos + rotate_half(k, False) * sin
        y = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True)
        return s.head(y.transpose(1, 2).reshape(B, T_, C)[:, -1])


class PartialRotary(RopeAttention):
    """GPT-NeoX rotary_pct = 0.5: the first half of each head's features rotated, the rest
    passed through, joined by ``cat``."""

    def forward(s, x):
        B, T_, _ = x.shape
        q, k, v = (t.view(B, T_, H, C // H).transpose(1, 2) for t in (s.q(x), s.k(x), s.v(x)))
        r = C // H // 2
        cos, sin = s.cos[:, :r], s.sin[:, :r]

        def rope(t):
            a, rest = t[..., :r], t[..., r:]
            return torch.cat((a * cos + rotate_half(a, False) * sin, rest), -1)
        y = F.scaled_dot_product_attention(rope(q), rope(k), v, is_causal=True)
        return s.head(y.transpose(1, 2).reshape(B, T_, C)[:, -1])


FORMS = {"halves": lambda: RopeAttention(), "interleaved": lambda: RopeAttention(interleaved=True),
         "hf-layout": HFLayout, "partial": PartialRotary}


def test_rotate_half_is_the_rotation_by_the_position_angle():
    """The model's RoPE is the rotation it claims: pair (i, i + d/2) at position p turned by
    p * theta_i (closed form), so the test exercises real RoPE and not another linear map."""
    m = RopeAttention()
    q = torch.randn(1, 1, T, C // H, dtype=torch.float64)
    got = q * m.cos.double() + rotate_half(q, False) * m.sin.double()
    d = C // H // 2
    ang = torch.arange(T, dtype=torch.float64)[:, None] / 10000 ** (torch.arange(0, 2 * d, 2) / (2 * d))
    a, b = q[..., :d], q[..., d:]
    want = torch.cat((a * ang.cos() - b * ang.sin(), b * ang.cos() + a * ang.sin()), -1)
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("mode,structured", PATHS, ids=["exact", "accumulate", "structured"])
def test_rope_attention_equals_quantised_torch(form, mode, structured):
    x = _ints((6, T, C))
    torch.manual_seed(0)
    sm = convert(FORMS[form]().eval(), x, mode=mode, epochs=0, calib=x, levels=3,
                 structured=structured)
    with torch.no_grad():
        want = sm.quantised(x.double()).numpy()
    if structured:
        r = run(sm, x.numpy(), steps=1)
        got, counts = r.logits, per_sample(r.counts)
    else:
        got = sm.run(x.numpy(), steps=1)[0]
        counts = sm.last_counts["totals"] if mode == "accumulate" else None
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    assert np.ptp(want) > 0                                   # not a constant readout
    if mode == "accumulate":                                  # integer inputs: RoPE adds no multiplies
        assert counts["synaptic_macs"] == 0 and counts["synaptic_acs"] > 0
    if mode == "accumulate" and not structured:
        assert sm.host_stages == []
