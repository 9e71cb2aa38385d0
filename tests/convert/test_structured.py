"""The structured converter (``convert(..., structured=True)``) against the flat one.

Oracles, independent of the structured code: the flat converter's circuit (per-token
copies, products as gate neurons) run on the numpy engine, neuron by neuron; the quantised
ANN in float64 torch; closed-form structure (per-layer increments of stored weights are
constant in depth; causal masks are the lower triangle).

Identity statement: the two circuits form their sums in different orders (composed CSR
matrices against factored ``W`` and einsums), so in general their logits agree to float
rounding (asserted: ``rtol = 1e-9``) while every quantiser's spikes and every prediction are
identical (asserted).  With ``grid=5`` every number the converter controls is a multiple of
``2**-5`` and the models' own constants are powers of two, so every sum is exact and the
logits are bitwise identical (asserted with ``array_equal``).
"""
import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the converter needs torch (extra 'torch')")
nn = torch.nn

from spikeattn.convert import convert  # noqa: E402
from spikeattn.models import data as sdata  # noqa: E402
from spikeattn.models.zoo import build, train  # noqa: E402
from spikeattn.convert.structured_model import StructuredModel, load_model, run, save_model  # noqa: E402
from spikeattn.errors import FileFormatError, MemoryLimitError, ParameterError  # noqa: E402
from spikeattn.ir.structured import ProductProjection, StructuredProjection  # noqa: E402
from spikeattn.simulate import simulate  # noqa: E402

RTOL = 1e-9


# --------------------------------------------------------------------------- models
class PreNormViT(nn.Module):
    """CLS token, patch embedding by Conv2d or by nn.Linear on reshaped patches, pre-norm
    TransformerEncoderLayer blocks (GELU -> quantised ReLU), classification from CLS."""

    def __init__(s, conv=True, dim=16, heads=2, layers=2):
        super().__init__()
        s.conv = conv
        s.embed = nn.Conv2d(1, dim, 4, stride=4) if conv else nn.Linear(16, dim)
        s.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.5)
        s.pos = nn.Parameter(torch.randn(1, 5, dim) * 0.5)
        s.blocks = nn.ModuleList(nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, activation="gelu",
                                                            batch_first=True, norm_first=True) for _ in range(layers))
        s.norm = nn.LayerNorm(dim)
        s.head = nn.Linear(dim, 4)

    def forward(s, x):
        b = x.shape[0]
        if s.conv:
            t = s.embed(x.reshape(b, 1, 8, 8)).flatten(2).transpose(1, 2)
        else:
            t = s.embed(x.reshape(b, 2, 4, 2, 4).permute(0, 1, 3, 2, 4).reshape(b, 4, 16))
        t = torch.cat([s.cls.expand(b, -1, -1), t], 1) + s.pos
        for blk in s.blocks:
            t = blk(t)
        return s.head(s.norm(t)[:, 0])


class CausalDecoder(nn.Module):
    """GPT-style: token + position embeddings, causal pre-norm blocks (is_causal and the
    square mask), tied LM head read on the last position."""

    def __init__(s, vocab=24, dim=16, heads=2, layers=2, seq=6):
        super().__init__()
        s.wte = nn.Embedding(vocab, dim)
        s.wpe = nn.Parameter(torch.randn(1, seq, dim) * 0.3)
        s.blocks = nn.ModuleList(nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, activation="gelu",
                                                            batch_first=True, norm_first=True) for _ in range(layers))
        s.ln_f = nn.LayerNorm(dim)
        s.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(seq))

    def forward(s, ids):
        t = s.wte(ids) + s.wpe
        for blk in s.blocks:
            t = blk(t, src_mask=s.mask, is_causal=True)
        return s.ln_f(t)[:, -1] @ s.wte.weight.T


class Dyadic(nn.Module):
    """Every constant a power of two: 8 tokens of 4 integer features, width 8, 2 heads of 4
    (scale 1/2, 1/n_keys = 1/8, LayerNorm mean 1/8), mean pool over 8 tokens."""

    def __init__(s, causal=False):
        super().__init__()
        s.causal = causal
        s.emb = nn.Linear(4, 8)
        s.blocks = nn.ModuleList(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                                            norm_first=True) for _ in range(2))
        s.norm = nn.LayerNorm(8)
        s.head = nn.Linear(8, 3)
        s.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(8))

    def forward(s, x):
        t = s.emb(x.reshape(x.shape[0], 8, 4))
        for b in s.blocks:
            t = b(t, src_mask=s.mask, is_causal=True) if s.causal else b(t)
        return s.head(s.norm(t).mean(1))


def _ints(shape, hi, seed=0):
    return torch.as_tensor(np.random.default_rng(seed).integers(0, hi, shape).astype(np.float32))


@pytest.fixture(scope="module")
def digits_vit():
    d = sdata.digits()
    torch.manual_seed(0)
    m = build("digits-vit", dim=16, heads=2, layers=1, hidden=16, patch=4)
    train(m, d["x_train"], d["y_train"], epochs=4, lr=1e-2, batch=64, seed=0)
    return m, torch.as_tensor(d["x_train"][:128]), d["x_test"][:60]


@pytest.fixture(scope="module")
def recall_transformer():
    d = sdata.recall(n_train=600, n_test=60)
    torch.manual_seed(0)
    m = build("recall-transformer", dim=16, heads=2, hidden=16)
    train(m, d["x_train"], d["y_train"], epochs=4, lr=1e-2, batch=64, seed=0)
    return m, torch.as_tensor(d["x_train"][:128]), d["x_test"][:60]


@pytest.fixture(scope="module")
def mnist1d_attention():
    torch.manual_seed(0)
    m = build("mnist1d-attention", dim=16, heads=2, layers=2, hidden=16, patch=4)
    x = _ints((200, 40), 17, seed=1)
    y = torch.as_tensor(np.random.default_rng(2).integers(0, 10, 200))
    train(m, x.numpy(), y.numpy(), epochs=3, lr=1e-2, batch=64, seed=0)
    return m, x[:128], x[128:188].numpy()


# --------------------------------------------------------------------------- helpers
def _pair(model, calib, **kw):
    sm = convert(model, calib, mode="accumulate", calib=calib, epochs=0, levels=3, structured=True, **kw)
    fm = convert(model, calib, mode="accumulate", calib=calib, epochs=0, levels=3,
                 **{k: v for k, v in kw.items() if k == "grid"})
    return sm, fm


def _spikes_equal(sm, fm, x, steps=2):
    """Every quantiser of the graph: the structured population read through its view equals
    the flat population, spike for spike (structured on numpy = its expansion)."""
    rs = simulate(sm.circuit, sm.encode(x), steps=steps)
    seg = fm.program.segments[0].circuit
    rf = simulate(seg, fm._encode(x), steps=steps)
    assert sm.quant_views
    for g, (pop, pos) in sm.quant_views.items():
        flat = [n for n in seg.populations if n.split("_", 1)[1] == f"q_{g}"]
        assert len(flat) == 1, g
        s = rs.spikes[pop].reshape(steps, len(x), -1)
        s = s if pos is None else s[..., pos]
        np.testing.assert_array_equal(s, rf.spikes[flat[0]], err_msg=f"quantiser {g}")
    return rs, rf


def _check_equivalent(sm, fm, x, steps=(1, 2), exact=False):
    for T in steps:
        r, rf = run(sm, x, steps=T), run(fm, x, steps=T)
        if exact:
            np.testing.assert_array_equal(r.logits, rf.logits)
        else:
            np.testing.assert_allclose(r.logits, rf.logits, rtol=RTOL, atol=1e-12)
        np.testing.assert_array_equal(r.predictions, rf.predictions)
    assert np.ptp(r.logits) > 0                               # not a constant readout
    _spikes_equal(sm, fm, x)
    return r, rf


def _kinds(c):
    return {p.kind if isinstance(p, StructuredProjection) else "flat" for p in c.projections.values()}


# --------------------------------------------------------------------------- in-repo models
@pytest.mark.parametrize("name", ["digits_vit", "recall_transformer", "mnist1d_attention"])
@pytest.mark.parametrize("max_terms", ["auto", 2])
def test_in_repo_models_structured_equal_flat(name, max_terms, request):
    model, calib, x = request.getfixturevalue(name)
    sm, fm = _pair(model, calib, max_terms=max_terms)
    assert isinstance(sm, StructuredModel) and sm.host_stages == []
    r, rf = _check_equivalent(sm, fm, x)
    # the same quantised ANN: step 1 predicts what it predicts
    np.testing.assert_array_equal(run(sm, x, steps=1).predictions, sm.quantised_predict(x))
    # structured: shared weights, index maps and products only; no per-token copies
    assert _kinds(sm.circuit) <= {"shared", "index", "product"}
    s = sm.summary()
    params = sum(p.numel() for p in model.parameters())
    assert s["stored_weights"] <= 6 * params
    assert s["neurons"] * 5 < fm.circuit.summary()["neurons"]
    if max_terms == "auto":     # small models: the flat path's structure, accumulate-only
        assert r.counts.totals()["synaptic_macs"] == 0 == rf.counts.totals()["synaptic_macs"]
        assert not any(kind == "stream" for kind, *_ in sm.meta.get("relays", []))


# --------------------------------------------------------------------------- random ViT / GPT
@pytest.mark.parametrize("conv", [True, False])
def test_random_prenorm_vit(conv):
    torch.manual_seed(1)
    m = PreNormViT(conv=conv).eval()
    x = _ints((48, 64), 5)
    sm, fm = _pair(m, x)
    _check_equivalent(sm, fm, x.numpy())
    # the patches are one shared (n_patch_pixels -> width) matrix read from an im2col source
    # whose CLS row is a hole: one source, no flat projection
    assert len(sm.circuit.sources) == 1 and "flat" not in _kinds(sm.circuit)
    (src,) = sm.inputs.values()
    assert src["perm"].shape == (5 * 16,) and np.all(src["perm"][:16] == -1)
    assert sorted(np.unique(src["perm"][16:])) == list(range(64))


def test_random_causal_decoder_masks_products():
    torch.manual_seed(2)
    m = CausalDecoder().eval()
    ids = torch.as_tensor(np.random.default_rng(3).integers(0, 24, (48, 6)))
    sm, fm = _pair(m, ids)
    _check_equivalent(sm, fm, ids.numpy())
    masked = [p for p in sm.circuit.projections.values() if isinstance(p, ProductProjection) and p.mask is not None]
    assert len(masked) == 2                                   # QK^T of each layer
    tril = np.tril(np.ones((6, 6), bool))
    for p in masked:                                          # post (heads, query, key)
        assert p.post_shape == (2, 6, 6)
        np.testing.assert_array_equal(np.broadcast_to(p.mask, p.post_shape), np.broadcast_to(tril, (2, 6, 6)))
    # masked terms are neither computed nor counted: 21 of 36 (query, key) pairs per head
    assert all(p.terms == 2 * 21 * 8 for p in masked)


@pytest.mark.parametrize("causal", [False, True])
def test_dyadic_grid_gives_bitwise_identical_logits(causal):
    torch.manual_seed(3)
    m = Dyadic(causal).eval()
    x = _ints((48, 32), 4)
    sm, fm = _pair(m, x, grid=5)
    _check_equivalent(sm, fm, x.numpy(), steps=(1, 2, 4), exact=True)
    with torch.no_grad():
        q = sm.quantised(x.double()).numpy()
    np.testing.assert_array_equal(run(sm, x.numpy(), steps=1).logits, q)   # and the quantised ANN's


def test_stream_relays_keep_predictions_and_cost_macs():
    torch.manual_seed(1)
    m = PreNormViT(conv=True, layers=3).eval()
    x = _ints((40, 64), 5)
    sm, fm = _pair(m, x, max_terms=1)
    _check_equivalent(sm, fm, x.numpy())
    r = run(sm, x.numpy(), steps=2)
    graded = [p for p in sm.circuit.projections.values() if p.message == "graded"]
    assert graded and r.counts.totals()["synaptic_macs"] > 0
    macs = sum(r.counts.total("synaptic_macs", elements=[p.name]) for p in graded)
    assert macs == r.counts.totals()["synaptic_macs"]          # only stream relays multiply


class Gated(nn.Module):
    """An elementwise product of two quantised tensors (a gated linear unit with ReLUs)."""

    def __init__(s):
        super().__init__()
        s.a, s.b, s.h = nn.Linear(8, 6), nn.Linear(8, 6), nn.Linear(6, 3)

    def forward(s, x):
        x = x.reshape(x.shape[0], 2, 8)
        return s.h(nn.functional.relu(s.a(x)) * nn.functional.relu(s.b(x))).mean(1)


def test_elementwise_product_of_two_quantised_tensors():
    torch.manual_seed(0)
    x = _ints((30, 16), 4)
    sm, fm = _pair(Gated().eval(), x)
    _check_equivalent(sm, fm, x.numpy())
    eqs = [p.equation for p in sm.circuit.projections.values() if isinstance(p, ProductProjection)]
    assert eqs == ["bc,bc->bc"] * 2                          # (token, feature), into the relay pair


def _stored(layers, max_terms):
    torch.manual_seed(0)
    m = PreNormViT(conv=True, layers=layers).eval()
    x = _ints((8, 64), 5)
    sm = convert(m, x, calib=x, epochs=0, levels=2, structured=True, max_terms=max_terms,
                 signal_check=False)    # a random model, stored weights only: its predictions do not matter
    return sm.summary()["stored_weights"]


def test_residual_stream_is_linear_in_depth():
    relayed = [_stored(L, 2) for L in (2, 3, 4)]
    d = np.diff(relayed)
    assert d[0] == d[1] > 0                                   # the same per-layer cost at every depth
    direct = [_stored(L, None) for L in (2, 3, 4)]
    assert np.diff(np.diff(direct))[0] > 0                    # without stream nodes: quadratic


# --------------------------------------------------------------------------- files, run, memory
def test_save_load_round_trip(digits_vit, tmp_path):
    model, calib, x = digits_vit
    sm = convert(model, calib, calib=calib, epochs=0, levels=3, structured=True)
    path = save_model(sm, tmp_path / "vit.spikeattn")
    assert not list(tmp_path.glob("*.tmp"))
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert "model.json" in names and all(n == "model.json" or n.endswith(".npy") for n in names)
        for n in names:
            if n.endswith(".npy"):
                with zf.open(n) as fh:
                    np.load(fh, allow_pickle=False)
    lm = load_model(path)
    assert lm.circuit == sm.circuit and lm.quant_views.keys() == sm.quant_views.keys()
    for k, info in sm.inputs.items():
        np.testing.assert_array_equal(info["perm"], lm.inputs[k]["perm"])
    a, b = run(sm, x, steps=2), run(lm, x, steps=2)
    np.testing.assert_array_equal(a.logits, b.logits)
    assert a.counts == b.counts
    raw = path.read_bytes()
    bad = tmp_path / "bad.spikeattn"
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(FileFormatError):
        load_model(bad)
    with zipfile.ZipFile(path) as zf, zipfile.ZipFile(tmp_path / "new.spikeattn", "w") as out:
        for n in zf.namelist():
            data = zf.read(n)
            out.writestr(n, data.replace(b'"format_version": 1', b'"format_version": 99') if n == "model.json" else data)
    with pytest.raises(FileFormatError, match="format_version"):
        load_model(tmp_path / "new.spikeattn")


def test_run_is_pure_and_returns_segments(digits_vit):
    model, calib, x = digits_vit
    sm, fm = _pair(model, calib)
    before = dict(vars(sm))
    r = run(sm, x, steps=2, batch=25)
    assert vars(sm).keys() == before.keys() and all(vars(sm)[k] is v for k, v in before.items())
    assert r.logits.shape == (len(x), 10) and r.counts.batch == len(x) and r.batch == 25
    assert [s.name for s in r.segments] == [sm.circuit.name]
    rf = run(fm, x, steps=2)
    assert fm.last_counts is None                              # nothing stored on the flat model either
    np.testing.assert_allclose(rf.logits, fm.run(x, steps=2).mean(axis=0), rtol=1e-12, atol=1e-12)
    assert rf.counts.totals() == fm.last_counts["totals"]


@pytest.mark.parametrize("structured", [True, False])
def test_conversion_over_the_memory_limit_is_refused_before_it_allocates(digits_vit, monkeypatch, structured):
    model, calib, _ = digits_vit
    import spikeattn.convert.api as api

    def boom(*a, **k):
        raise AssertionError("calibration ran: the conversion allocated before checking its memory")
    monkeypatch.setattr(api, "calibrate", boom)
    monkeypatch.setattr(api, "prepare", boom)
    with pytest.raises(MemoryLimitError, match=r"needs about [\d,]+ bytes .*Nothing was allocated\. Fix:") as e:
        convert(model, calib, calib=calib, epochs=0, structured=structured, max_bytes=100_000)
    assert ("structured=True" in str(e.value)) is (not structured)


def test_run_over_the_memory_limit_is_refused(digits_vit):
    model, calib, x = digits_vit
    sm = convert(model, calib, calib=calib, epochs=0, levels=3, structured=True)
    with pytest.raises(MemoryLimitError, match="engine='torch'"):
        run(sm, x, steps=2, max_bytes=50_000)


def test_structured_refuses_host_stage_modes(digits_vit):
    model, calib, _ = digits_vit
    with pytest.raises(ParameterError, match="structured"):
        convert(model, calib, mode="exact", structured=True, epochs=0)


def test_torch_engine_runs_the_structured_circuit_when_registered(digits_vit):
    from spikeattn.engines.base import ENGINES, engine_class
    if "torch" not in ENGINES or not getattr(engine_class("torch"), "runs_structured", False):
        pytest.skip("the torch engine does not run structured circuits natively (yet)")
    model, calib, x = digits_vit
    sm = convert(model, calib, calib=calib, epochs=0, levels=3, structured=True)
    a, b = run(sm, x, steps=2), run(sm, x, steps=2, engine="torch")
    np.testing.assert_allclose(a.logits, b.logits, rtol=RTOL, atol=1e-12)
    np.testing.assert_array_equal(a.predictions, b.predictions)
