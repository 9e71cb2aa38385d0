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
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the converter needs torch (extra 'torch')")
nn, F = torch.nn, torch.nn.functional

from spikeattn.convert import convert  # noqa: E402
from spikeattn.convert.registry import ConversionError  # noqa: E402
from spikeattn.convert.structured_model import run  # noqa: E402

C, T = 8, 5
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
    from spikeattn.convert.data import digits
    from spikeattn.convert.models import build, train
    d = digits()
    torch.manual_seed(0)
    m = build("digits-vit", dim=16, heads=2, layers=1, hidden=16, patch=4)
    train(m, d["x_train"], d["y_train"], epochs=4, lr=1e-2, batch=64, seed=0)
    with pytest.raises(ConversionError, match=r"scores \d+\.\d% on the training data \(chance"):
        convert(m, torch.tensor(d["x_train"][:2]), mode="accumulate", calib=d["x_calib"],
                train=(d["x_train"][:256], d["y_train"][:256]), epochs=1, levels=3)
