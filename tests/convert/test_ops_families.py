"""Ops and patterns of the transformers researchers write (issue 17): GPT-style attention
(``.transpose(1, 2).contiguous().view``, fused ``split`` of q/k/v, ``masked_fill`` with a
``tril`` buffer), RMSNorm (module and hand-written with ``x.float()``), LayerNorm without
affine, ``gelu(approximate="tanh")``, SiLU, max pooling over tokens, ``unflatten`` /
``unbind`` / ``chunk`` / ``expand`` / ``type_as`` / ``to``, ``nn.Embedding`` with ``arange``
positions; calibration that ignores masked scores and refuses a quantiser that lost the
signal.

Oracle: the quantised model in float64 torch (``sm.quantised``), which computes each op with
torch itself on quantised inputs; the converted circuit's step-1 readout must equal it, in
the flat path (exact and accumulate mode) and in the structured path.
"""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the converter needs torch (extra 'torch')")
nn, F = torch.nn, torch.nn.functional

from spikeattn.convert import convert  # noqa: E402
from spikeattn.convert.capture import capture  # noqa: E402
from spikeattn.convert.modes import calibrate, prepare  # noqa: E402
from spikeattn.convert.quantiser import quant_modules  # noqa: E402
from spikeattn.convert.registry import ConversionError  # noqa: E402
from spikeattn.convert.structured_model import run  # noqa: E402
from spikeattn.errors import ParameterError  # noqa: E402

C, T, H = 8, 5, 2
PATHS = [("exact", False), ("accumulate", False), ("accumulate", True)]


def _ints(shape, hi=4, seed=0):
    return torch.as_tensor(np.random.default_rng(seed).integers(0, hi, shape).astype(np.float32))


def _check(model, x, mode, structured, levels=3):
    """The converted model's step-1 logits equal the quantised torch model's; returns it."""
    torch.manual_seed(0)
    sm = convert(model.eval(), x, mode=mode, epochs=0, calib=x, levels=levels, structured=structured)
    with torch.no_grad():
        xq = x.double() if x.is_floating_point() else x
        want = sm.quantised(xq).numpy()
    got = run(sm, x.numpy(), steps=1).logits if structured else sm.run(x.numpy(), steps=1)[0]
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    assert np.ptp(want) > 0                                   # not a constant readout
    if mode == "accumulate" and not structured:
        assert sm.host_stages == []
    return sm


# --------------------------------------------------------------------------- GPT-style attention
class GPT(nn.Module):
    """nanoGPT's attention: q/k/v as three Linears or one fused Linear split in three, SDPA
    with is_causal or hand-written softmax with a tril buffer and masked_fill(-inf), heads
    merged with .transpose(1, 2).contiguous().view(B, T, C)."""

    def __init__(s, fused=False, sdpa=True):
        super().__init__()
        s.fused, s.sdpa = fused, sdpa
        s.c_attn = nn.Linear(C, 3 * C)
        s.q, s.k, s.v = nn.Linear(C, C), nn.Linear(C, C), nn.Linear(C, C)
        s.proj, s.head = nn.Linear(C, C), nn.Linear(C, 3)
        s.register_buffer("bias", torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def forward(s, x):
        B, T_, _ = x.shape
        q, k, v = s.c_attn(x).split(C, dim=2) if s.fused else (s.q(x), s.k(x), s.v(x))
        q, k, v = (t.view(B, T_, H, C // H).transpose(1, 2) for t in (q, k, v))
        if s.sdpa:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(s.bias[:, :, :T_, :T_] == 0, float("-inf"))
            y = F.softmax(att, dim=-1) @ v
        y = y.transpose(1, 2).contiguous().view(B, T_, C)
        return s.head(s.proj(y)[:, -1])


@pytest.mark.parametrize("fused,sdpa", [(False, True), (True, False)])
@pytest.mark.parametrize("mode,structured", PATHS)
def test_gpt_attention_converts_and_equals_quantised_torch(fused, sdpa, mode, structured):
    torch.manual_seed(0)
    sm = _check(GPT(fused, sdpa), _ints((12, T, C)), mode, structured)
    if mode == "accumulate":      # causal attention maps: real scores, not the -1e4 of masked ones
        q = [m for m in quant_modules(sm.quantised) if m.role == "relu_attention"]
        assert q and all(float(m.vth.abs()) * m.levels < 100 for m in q)


def test_calibration_ignores_masked_scores():
    """The relu-attention threshold is the 99th percentile of the unmasked scores / L
    (closed form on the scores the quantiser sees), whatever the mask's fill value."""
    torch.manual_seed(0)
    x = _ints((16, T, C))
    gm = prepare(capture(GPT(sdpa=False), x[:2]).module(), "accumulate", 3)
    q, = [m for m in quant_modules(gm) if m.role == "relu_attention"]
    seen = []
    h = q.register_forward_pre_hook(lambda m, a: seen.append(a[0].detach().clone()))
    calibrate(gm, x, "accumulate")
    h.remove()
    s = torch.cat([v.reshape(-1) for v in seen])
    tril = torch.tril(torch.ones(T, T, dtype=torch.bool)).expand(16, H, T, T).reshape(-1)
    assert bool((s[~tril] == -1e4).all())                  # masked_fill(-inf) became -1e4
    want = float(torch.quantile(s[tril].abs().double(), 0.99)) / 3
    assert float(q.vth) == pytest.approx(want, rel=1e-6)


class BadMask(nn.Module):
    """A hand-written causal mask whose fill (-500) the converter cannot tell from a score."""

    def __init__(s):
        super().__init__()
        s.q, s.k, s.v, s.head = nn.Linear(C, C), nn.Linear(C, C), nn.Linear(C, C), nn.Linear(C, 3)
        s.register_buffer("mask", torch.triu(torch.full((T, T), -500.0), 1))

    def forward(s, x):
        att = (s.q(x) @ s.k(x).transpose(1, 2)) * 0.1 + s.mask
        return s.head(F.softmax(att, dim=-1) @ s.v(x))[:, -1]


def test_quantiser_that_lost_the_signal_is_refused_naming_the_layer():
    x = _ints((16, T, C))
    torch.manual_seed(2)
    m = BadMask().eval()
    with torch.no_grad():
        assert len(torch.unique(m(x).argmax(-1))) > 1          # the dense model depends on its input
    with pytest.raises(ConversionError) as e:
        convert(m, x, mode="accumulate", epochs=0, calib=x, levels=3)
    msg = str(e.value)
    assert "lost the signal" in msg and "for every calibration sample" in msg
    assert "relu_attention quantiser" in msg
    assert "test_ops_families.py" in msg and "F.softmax(att" in msg      # the layer's source line
    assert "Fix:" in msg


def test_quantised_model_at_chance_is_refused_with_labels():
    """A trained ViT whose accumulate-mode quantised model, fine-tuned one epoch on 256
    samples at 3 levels, scores at chance on its training data (the dense one: ~90 %)."""
    from spikeattn.models.data import digits
    from spikeattn.models.zoo import build, train
    d = digits()
    torch.manual_seed(0)
    m = build("digits-vit", dim=16, heads=2, layers=1, hidden=16, patch=4)
    train(m, d["x_train"], d["y_train"], epochs=4, lr=1e-2, batch=64, seed=0)
    with pytest.raises(ConversionError, match=r"scores \d+\.\d% on the training data \(chance"):
        convert(m, torch.tensor(d["x_train"][:2]), mode="accumulate", calib=d["x_calib"],
                train=(d["x_train"][:256], d["y_train"][:256]), epochs=1, levels=3)


# --------------------------------------------------------------------------- norms and activations
class Block(nn.Module):
    def __init__(s, kind):
        super().__init__()
        s.kind = kind
        s.a, s.b = nn.Linear(C, C), nn.Linear(C, 3)
        s.rms = nn.RMSNorm(C)
        s.ln = nn.LayerNorm(C, elementwise_affine=False)
        s.w = nn.Parameter(torch.linspace(0.5, 1.5, C))
        with torch.no_grad():
            s.rms.weight.copy_(torch.linspace(1.5, 0.5, C))

    def forward(s, x):
        h = s.a(x)
        if s.kind == "rms_norm":
            h = s.rms(h)
        elif s.kind == "rms_hand":              # Meta's LLaMA RMSNorm: x.float() ... type_as(x)
            hf = h.float()
            h = (hf * torch.rsqrt(hf.pow(2).mean(-1, keepdim=True) + 1e-6)).type_as(h) * s.w
        elif s.kind == "layer_norm":
            h = s.ln(h)
        elif s.kind == "gelu_tanh":
            h = F.gelu(h, approximate="tanh")
        elif s.kind == "silu":
            h = F.silu(h)
        return s.b(h).mean(1)


@pytest.mark.parametrize("kind", ["rms_norm", "rms_hand", "layer_norm", "gelu_tanh", "silu"])
@pytest.mark.parametrize("mode,structured", PATHS)
def test_norms_and_activations(kind, mode, structured):
    torch.manual_seed(0)
    m = Block(kind)
    x = _ints((12, T, C)) - 1.5
    sm = _check(m, x, mode, structured)
    if mode == "exact" and kind.startswith("rms"):
        assert sm.host_stages == ["rms_norm"]
    if mode == "accumulate" and kind.startswith("rms"):   # folded: x * w / rms, rms frozen at its calibration mean
        with torch.no_grad():
            h = m.a(x)
            rms = torch.sqrt(h.pow(2).mean(-1) + (1e-6 if kind == "rms_hand" else torch.finfo(torch.float32).eps))
            w = torch.ones(C) if kind == "rms_hand" else m.rms.weight   # hand-written: * w is a separate mul
        g, = [mod.g for mod in sm.quantised.modules() if hasattr(mod, "stds")] if not structured else \
            [[mod.g for mod in sm.quantised.modules() if hasattr(mod, "stds")][0]]
        np.testing.assert_allclose(g.detach().numpy(), (w / rms.mean()).detach().double().numpy(), rtol=1e-5)


class GLU(nn.Module):
    """LLaMA's SwiGLU MLP ``w2(silu(w1 x) * w3 x)`` (bias-free) and GeGLU (``gelu``)."""

    def __init__(s, act):
        super().__init__()
        s.act = act
        s.w1, s.w3 = nn.Linear(C, 2 * C, bias=False), nn.Linear(C, 2 * C, bias=False)
        s.w2, s.head = nn.Linear(2 * C, C, bias=False), nn.Linear(C, 3)

    def forward(s, x):
        return s.head(x + s.w2(s.act(s.w1(x)) * s.w3(x))).mean(1)


@pytest.mark.parametrize("act", [F.silu, F.gelu], ids=["swiglu", "geglu"])
@pytest.mark.parametrize("mode,structured", PATHS)
def test_gated_mlp_is_a_product_of_two_quantised_tensors(act, mode, structured):
    torch.manual_seed(0)
    sm = _check(GLU(act), _ints((12, T, C)), mode, structured)
    if mode == "accumulate" and not structured:            # the product runs on gates: no multiplications
        sm.run(_ints((4, T, C)).numpy(), steps=1)
        assert sm.last_counts["totals"]["synaptic_macs"] == 0
    roles = sorted(m.role for m in quant_modules(sm.quantised))
    assert roles.count("operand") == 1                     # w3 x; silu / gelu(w1 x) is already a quantiser


# --------------------------------------------------------------------------- pooling over tokens
class Pool(nn.Module):
    def __init__(s, kind):
        super().__init__()
        s.kind = kind
        s.a, s.b = nn.Linear(C, C), nn.Linear(C, 3)

    def forward(s, x):
        h = s.a(x)
        if s.kind == "max_relu":
            return s.b(torch.relu(h).max(dim=1).values)
        if s.kind == "max":
            return s.b(h.max(dim=1).values)
        if s.kind == "amax":
            return s.b(h.amax(dim=1))
        return s.b(h.mean(dim=1))


@pytest.mark.parametrize("kind", ["max_relu", "max", "amax", "mean"])
@pytest.mark.parametrize("mode,structured", PATHS)
def test_pooling_over_tokens(kind, mode, structured):
    torch.manual_seed(0)
    sm = _check(Pool(kind), _ints((12, T, C)), mode, structured)
    if mode == "exact" and kind != "mean":
        assert sm.host_stages == ["max"]
    if mode == "accumulate" and not structured:            # integer inputs: no multiplications at all
        sm.run(_ints((4, T, C)).numpy(), steps=2)
        assert sm.last_counts["totals"]["synaptic_macs"] == 0


class SeqFirstMHA(nn.Module):
    """Sequence-first ``nn.MultiheadAttention`` (batch_first=False), residual + LayerNorm,
    max pooling over tokens (dim 0)."""

    def __init__(s):
        super().__init__()
        s.e, s.mha, s.ln, s.h = nn.Linear(C, C), nn.MultiheadAttention(C, 2), nn.LayerNorm(C), nn.Linear(C, 3)

    def forward(s, x):
        t = s.e(x).transpose(0, 1)
        t = s.ln(t + s.mha(t, t, t, need_weights=False)[0])
        return s.h(t.max(dim=0).values)


@pytest.mark.parametrize("mode,structured", PATHS)
def test_sequence_first_mha_with_max_pooling(mode, structured):
    torch.manual_seed(0)
    _check(SeqFirstMHA(), _ints((16, T, C)), mode, structured, levels=4)


def test_max_indices_are_refused():
    class ArgMax(nn.Module):
        def __init__(s):
            super().__init__()
            s.a = nn.Linear(C, C)

        def forward(s, x):
            v, i = s.a(x).max(dim=1)
            return v + i.float()
    x = _ints((6, T, C))
    with pytest.raises(ConversionError, match="indices of max"):
        convert(ArgMax(), x, mode="exact", epochs=0, calib=x)


# --------------------------------------------------------------------------- shape ops
class Shapes(nn.Module):
    def __init__(s):
        super().__init__()
        s.a, s.b = nn.Linear(C, C), nn.Linear(2 * C, 3)
        s.cls = nn.Parameter(torch.randn(1, 1, 2 * C))

    def forward(s, x):
        h = s.a(x)                                            # (B, T, C)
        u = h.unflatten(-1, (2, C // 2))                      # (B, T, 2, C/2)
        first, second = u.unbind(2)
        lo, hi = h.chunk(2, dim=-1)
        h = torch.cat([second, first, hi, lo], -1).to(torch.float32).type_as(x)
        h = torch.cat([s.cls.expand(x.shape[0], -1, -1), h], 1)
        return s.b(torch.relu(h)).mean(1)


@pytest.mark.parametrize("mode,structured", PATHS)
def test_unflatten_unbind_chunk_expand_casts(mode, structured):
    torch.manual_seed(0)
    _check(Shapes(), _ints((12, T, C)) - 1.5, mode, structured)


class Emb(nn.Module):
    def __init__(s):
        super().__init__()
        s.tok, s.pos, s.head = nn.Embedding(7, C), nn.Embedding(T, C), nn.Linear(C, 3)

    def forward(s, ids):
        pos = torch.arange(ids.shape[1], device=ids.device)
        return s.head(torch.relu(s.tok(ids) + s.pos(pos))).mean(1)


@pytest.mark.parametrize("mode,structured", PATHS)
def test_embedding_with_arange_positions(mode, structured):
    torch.manual_seed(0)
    ids = torch.as_tensor(np.random.default_rng(1).integers(0, 7, (12, T)))
    _check(Emb(), ids, mode, structured)


# --------------------------------------------------------------------------- static batch
@pytest.mark.parametrize("batch", [1, 8])
def test_static_batch_export_whose_graph_fixes_the_batch_is_refused_with_advice_that_works(batch):
    torch.manual_seed(0)
    m = GPT().eval()
    x = _ints((12, T, C))
    ep = torch.export.export(m, (x[:batch],))                 # static: view(B, T, H, D) with B a constant
    with pytest.raises(ParameterError) as e:
        convert(ep, x, mode="exact", epochs=0, calib=x)
    msg = str(e.value)
    assert f"static batch of {batch}" in msg and "dynamic_shapes=({0: torch.export.Dim('batch')},)" in msg
    # the advice works: a dynamic batch from an example of 2 samples
    ep = torch.export.export(m, (x[:2],), dynamic_shapes=({0: torch.export.Dim("batch")},))
    sm = convert(ep, x, mode="exact", epochs=0, calib=x, levels=3)
    with torch.no_grad():
        np.testing.assert_allclose(sm.run(x.numpy(), steps=1)[0], sm.quantised(x.double()).numpy(), atol=1e-9)


class TokenMlp(nn.Module):
    """No op depends on the batch size: a static export can be made dynamic."""

    def __init__(s):
        super().__init__()
        s.a, s.b = nn.Linear(C, C), nn.Linear(C, 3)

    def forward(s, x):
        return s.b(torch.relu(s.a(x))).mean(1)


@pytest.mark.parametrize("batch", [1, 8])
def test_static_batch_export_of_a_batch_free_graph_is_re_exported(batch):
    torch.manual_seed(0)
    m = TokenMlp().eval()
    x = _ints((12, T, C))
    sm = convert(torch.export.export(m, (x[:batch],)), x, mode="accumulate", epochs=0, calib=x, levels=3)
    with torch.no_grad():
        np.testing.assert_allclose(sm.run(x.numpy(), steps=1)[0], sm.quantised(x.double()).numpy(), atol=1e-9)


def test_module_whose_forward_fixes_the_batch_is_refused():
    class Fixed(nn.Module):
        def __init__(s):
            super().__init__()
            s.a = nn.Linear(C, 3)

        def forward(s, x):
            return s.a(x.reshape(4, T, C)).mean(1)
    x = _ints((4, T, C))
    with pytest.raises(ParameterError, match=r"fixes the batch size to 4.*x\.shape\[0\]"):
        convert(Fixed(), x, mode="exact", epochs=0, calib=x)
