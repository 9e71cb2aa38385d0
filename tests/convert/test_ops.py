"""Per converter: the converted op equals the torch op (oracle: torch itself, float64).

Linear/shape ops add no neurons, so the spiking model's step-1 readout must equal the torch
model on the same (integer, i.e. already quantised) inputs; ops behind a quantiser are
compared with the quantised torch graph (``SpikingModel.quantised``) in float64."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the converter needs torch (extra 'torch')")
nn, F = torch.nn, torch.nn.functional

from spikeattn.convert import UnsupportedOpError, convert  # noqa: E402


def _x(shape, seed=0):
    return torch.as_tensor(np.random.default_rng(seed).integers(0, 5, shape).astype(np.float32))


class Lin(nn.Module):
    def __init__(s):
        super().__init__()
        s.a, s.b = nn.Linear(12, 8), nn.Linear(8, 5)

    def forward(s, x):
        return s.b(F.dropout(s.a(x), 0.3, training=False)) * 0.5 - 1.0


class Shapes(nn.Module):
    def __init__(s):
        super().__init__()
        s.cls = nn.Parameter(torch.randn(1, 1, 4))
        s.pos = nn.Parameter(torch.randn(1, 4, 4))
        s.lin = nn.Linear(4, 3)

    def forward(s, x):
        b = x.shape[0]
        t = x.reshape(b, 3, 4).permute(0, 2, 1).transpose(1, 2)
        t = torch.cat([s.cls.expand(b, -1, -1), t], dim=1) + s.pos
        return torch.cat([s.lin(t[:, 0]), t[:, 1:, :2].flatten(1), t.mean(dim=1)], dim=1)


class Conv(nn.Module):
    def __init__(s, stride=4, padding=0):
        super().__init__()
        s.c = nn.Conv2d(1, 6, 4, stride=stride, padding=padding)

    def forward(s, x):
        return s.c(x.reshape(x.shape[0], 1, 8, 8)).flatten(1)


class Emb(nn.Module):
    def __init__(s):
        super().__init__()
        s.e = nn.Embedding(7, 5)

    def forward(s, ids):
        return s.e(ids).mean(1) * 2


@pytest.mark.parametrize("model,shape", [(Lin(), (6, 12)), (Shapes(), (6, 12)), (Conv(), (6, 64)),
                                         (Conv(stride=2, padding=1), (6, 64))])
def test_linear_and_shape_ops_equal_torch(model, shape):
    torch.manual_seed(0)
    x = _x(shape)
    sm = convert(model, x, mode="exact", epochs=0, calib=x)
    got = sm.run(x.numpy(), steps=1)[0]
    want = model.double()(x.double()).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    assert sm.circuit.summary()["synapses"] == 0   # folded: no neurons do linear work


def test_embedding_equals_torch():
    torch.manual_seed(0)
    m = Emb()
    ids = torch.as_tensor(np.random.default_rng(1).integers(0, 7, (5, 3)))
    sm = convert(m, ids, mode="exact", epochs=0, calib=ids)
    np.testing.assert_allclose(sm.run(ids.numpy(), steps=1)[0], m.double()(ids).detach().numpy(), atol=1e-9)


class Host(nn.Module):
    def __init__(s):
        super().__init__()
        s.ln, s.lin = nn.LayerNorm(6), nn.Linear(6, 6)

    def forward(s, x):
        return F.softmax(s.lin(s.ln(x)), dim=-1)


def test_layer_norm_and_softmax_host_stages_equal_torch():
    torch.manual_seed(0)
    m = Host()
    x = _x((4, 6)) - 2
    sm = convert(m, x, mode="exact", epochs=0, calib=x)
    assert sm.host_stages == ["layer_norm", "softmax"]
    with torch.no_grad():   # exact mode quantises the softmax output: the oracle is the quantised graph
        want = sm.quantised(x.double()).numpy()
        dense = m.double()(x.double()).numpy()
    np.testing.assert_allclose(sm.run(x.numpy(), steps=1)[0], want, atol=1e-9)
    assert np.abs(want - dense).max() < 0.5 * float(np.abs(dense).max())


class Prod(nn.Module):
    def __init__(s):
        super().__init__()
        s.a, s.b, s.c = nn.Linear(6, 8), nn.Linear(6, 8), nn.Linear(4, 3)

    def forward(s, x):
        x = x.reshape(x.shape[0], 4, 6)
        p = torch.relu(s.a(x)) @ s.b(x).transpose(1, 2)        # ReLU quantiser x signed quantiser
        return s.c(p).flatten(1)


@pytest.mark.parametrize("levels", [1, 3])
def test_product_gates_equal_quantised_torch(levels):
    torch.manual_seed(0)
    m = Prod()
    x = _x((8, 24))
    sm = convert(m, x, mode="accumulate", epochs=0, calib=x, levels=levels)
    got = sm.run(x.numpy(), steps=1)[0]
    with torch.no_grad():
        want = sm.quantised(x.double()).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    assert np.abs(want).max() > 0                                # the gates did fire
    assert sm.last_counts["totals"]["synaptic_macs"] == 0
    assert sm.last_counts["totals"]["synaptic_acs"] > 0


class Sin(nn.Module):
    def __init__(s):
        super().__init__()
        s.lin = nn.Linear(4, 4)

    def forward(s, x):
        return torch.sin(s.lin(x))


def test_unsupported_op_names_op_place_and_supported_ops():
    x = _x((2, 4))
    with pytest.raises(UnsupportedOpError) as e:
        convert(Sin(), x, mode="exact", epochs=0, calib=x)
    msg = str(e.value)
    assert "aten.sin.default" in msg and "aten.linear.default" in msg
    assert "test_ops.py" in msg and "torch.sin" in msg           # the source line


def test_importing_convert_does_not_import_torch():
    import subprocess
    import sys
    code = "import sys, spikeattn, spikeattn.convert; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_magnitude_pruning_gives_sparser_projections_still_equal_to_torch():
    torch.manual_seed(0)
    m = Prod()
    x = _x((8, 24))
    dense = convert(m, x, mode="accumulate", epochs=0, calib=x, levels=2)
    sm = convert(m, x, mode="accumulate", epochs=0, calib=x, levels=2, prune=0.5)
    assert sm.meta["pruned"]["magnitude"]["pruned"] >= 0.45 * sm.meta["pruned"]["magnitude"]["weights"]
    syn = lambda s: sum(p.synapse_count() for p in s.circuit.projections.values()
                        if p.pre.startswith(next(iter(s.program.inputs))))
    assert syn(sm) < syn(dense)                   # the input projections lost half their synapses
    got = sm.run(x.numpy(), steps=1)[0]
    with torch.no_grad():
        want = sm.quantised(x.double()).numpy()  # the pruned quantised graph in torch
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
