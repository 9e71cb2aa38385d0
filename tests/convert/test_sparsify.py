"""Sparsification: head pruning by importance, top-k tokens by a k-WTA stage, the spec parser.

Oracles: exact zero (a zeroed head's KL importance), closed-form synapse counts
(``3 n dh d`` per pruned head), additivity of per-head event counts (heads are
independent when nothing follows attention but the readout), numpy ``argsort`` /
``topk_with_ties`` for the k-WTA winners, and the quantised torch model (float64) for the
converted top-k model at T = 1."""
import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the converter needs torch (extra 'torch')")
nn, F = torch.nn, torch.nn.functional

from spikeattn.circuits.routing.reference import topk_with_ties  # noqa: E402
from spikeattn.convert import capture as cap  # noqa: E402
from spikeattn.convert.heads import find_attention, head_importance, prune_heads, remove_heads, zero_head  # noqa: E402
from spikeattn.models.zoo import build  # noqa: E402
from spikeattn.convert.modes import calibrate, prepare
from spikeattn.convert.quantiser import quant_modules  # noqa: E402
from spikeattn.convert.sparsify import apply_sparsification, convert_prepared, parse_prune  # noqa: E402
from spikeattn.convert.token_select import KWTAStage, _setup, kwta_stages, stage_counts  # noqa: E402
from spikeattn.errors import ParameterError  # noqa: E402

N, D, H = 3, 8, 2


class TinyAttn(nn.Module):
    """n=3 tokens of d=8 integer features, one 2-head attention, mean pool, linear head:
    nothing but the readout follows attention, so heads are independent circuits."""

    def __init__(s, heads=H, dh=D // H):
        super().__init__()
        s.heads, s.dh = heads, dh
        s.q, s.k, s.v = (nn.Linear(D, heads * dh) for _ in range(3))
        s.o = nn.Linear(heads * dh, D)
        s.head = nn.Linear(D, 4)

    def forward(s, x):
        b = x.shape[0]
        t = x.reshape(b, N, D)
        q, k, v = (f(t).reshape(b, N, s.heads, s.dh).transpose(1, 2) for f in (s.q, s.k, s.v))
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, N, s.heads * s.dh)
        return s.head(s.o(a).mean(1))


def _x(n=64, shape=(N * D,), hi=5, seed=0):
    return torch.as_tensor(np.random.default_rng(seed).integers(0, hi, (n,) + shape).astype(np.float32))


def _prepared(model, x, mode="accumulate"):
    torch.manual_seed(0)
    ep = cap.capture(model.eval(), x[:2])
    gm = prepare(copy.deepcopy(ep.module()), mode, 4)
    calibrate(gm, x, mode)
    return gm.eval()


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    x = _x()
    return _prepared(TinyAttn(), x), x


def test_finds_the_heads_of_explicit_qkv_attention(tiny):
    gm, _ = tiny
    (a,) = find_attention(gm)
    assert (a.heads, a.head_dim) == (H, D // H)
    assert (a.q, a.k, a.v, a.o) == ("q", "k", "v", "o")


def test_importance_ranks_a_zeroed_head_last(tiny):
    gm, x = tiny
    g = copy.deepcopy(gm)
    zero_head(g, find_attention(g)[0], 1)
    imp = head_importance(g, x)
    assert imp[(0, 1)] == 0.0                  # masking an already-zero head changes nothing
    assert imp[(0, 0)] > 1e-4                  # the other head matters
    rep = prune_heads(g, 1, x)
    assert rep["pruned"] == ["0.1"]


def _synapses(sm):
    return sm.circuit.summary()["synapses"]


def test_pruned_head_weights_absent_and_silent(tiny):
    gm, x = tiny
    full = convert_prepared(copy.deepcopy(gm), x[:2])
    spikes, syn = {}, {}
    for h in range(H):
        g = copy.deepcopy(gm)
        zero_head(g, find_attention(g)[0], h)
        sm = convert_prepared(g, x[:2])
        syn[h] = _synapses(sm)
        sm.predict(x.numpy(), steps=3)
        spikes[h] = sm.last_counts["totals"]["spikes"]
    # closed form: Q, K and V projections lose the dh rows of the head, for each of n tokens
    dh = D // H
    assert _synapses(full) - syn[0] == 3 * N * dh * D
    assert _synapses(full) - syn[1] == 3 * N * dh * D
    full.predict(x.numpy(), steps=3)
    s_full = full.last_counts["totals"]["spikes"]
    # a pruned head emits nothing; the kept head is unchanged, so the two prunings add up
    assert spikes[0] + spikes[1] == s_full
    assert 0 < spikes[0] < s_full and 0 < spikes[1] < s_full


def test_removed_head_circuit_equals_a_model_written_with_one_head(tiny):
    gm, x = tiny
    dh = D // H
    g = copy.deepcopy(gm)
    removed = remove_heads(g, find_attention(g)[0], [1])
    assert removed == 3 * dh * D + D * dh
    assert find_attention(g)[0].heads == 1
    ref = TinyAttn(heads=1, dh=dh)
    with torch.no_grad():
        for name in ("q", "k", "v"):
            getattr(ref, name).weight.copy_(getattr(gm, name).weight[:dh])
            getattr(ref, name).bias.copy_(getattr(gm, name).bias[:dh])
        ref.o.weight.copy_(gm.o.weight[:, :dh])
        ref.o.bias.copy_(gm.o.bias)
        ref.head.weight.copy_(gm.head.weight)
        ref.head.bias.copy_(gm.head.bias)
    gr = _prepared(ref, x)
    with torch.no_grad():                         # same thresholds as the two-head model
        for qa, qb in zip(quant_modules(gr), quant_modules(g)):
            qa.vth.copy_(qb.vth)
        assert torch.allclose(g(x), gr(x), atol=1e-5)
    a, b = convert_prepared(g, x[:2]), convert_prepared(gr, x[:2])
    assert a.circuit.summary()["neurons"] == b.circuit.summary()["neurons"]
    assert _synapses(a) == _synapses(b)
    a.predict(x.numpy(), steps=3)
    b.predict(x.numpy(), steps=3)
    assert a.last_counts["totals"] == b.last_counts["totals"]
    z = copy.deepcopy(gm)
    zero_head(z, find_attention(z)[0], 1)
    zs = convert_prepared(z, x[:2])
    assert a.circuit.summary()["neurons"] < zs.circuit.summary()["neurons"]   # not built at all
    zs.predict(x.numpy(), steps=3)
    assert zs.last_counts["totals"]["spikes"] == a.last_counts["totals"]["spikes"]  # zeroed = silent


def test_heads_spec_through_apply_sparsification(tiny):
    gm, x = tiny
    g = copy.deepcopy(gm)
    rep = apply_sparsification(g, "heads:1", x)
    (pruned,) = rep["heads"]["pruned"]
    assert rep["heads"]["structural"]
    h = int(pruned.split(".")[1])
    kept = slice((1 - h) * (D // H), (2 - h) * (D // H))
    assert tuple(g.q.weight.shape) == (D // H, D) and tuple(g.o.weight.shape) == (D, D // H)
    assert torch.equal(g.q.weight, gm.q.weight[kept]) and torch.equal(g.o.weight, gm.o.weight[:, kept])
    with pytest.raises(ParameterError, match="heads"):
        apply_sparsification(copy.deepcopy(gm), "heads:2", x)   # would remove every head


@pytest.mark.parametrize("k,keep", [(1, 1), (2, 1), (3, 0)])
def test_kwta_stage_selects_the_top_k_of_known_scores(k, keep):
    rng = np.random.default_rng(k)
    T, B, Hh, nq, n, L = 2, 40, 2, 3, 4, 3
    levels = rng.integers(0, L + 1, (T, B, Hh, nq, n))
    levels[:, :5] = 1                                         # fully tied rows: lower index wins
    st = KWTAStage(n, 5, Hh, nq, k, keep, L)
    win = st.select(levels)
    s = levels.sum(axis=(0, 2, 3))[:, keep:]
    C = n - keep
    expect = np.zeros_like(win)
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]     # ties -> lower token index
    np.put_along_axis(expect, order, True, axis=1)
    assert np.array_equal(win, expect)
    # the tie-broken score the circuit integrates has no ties: same as the tie rule's top-k
    assert np.array_equal(win, topk_with_ties(s * C + (C - 1 - np.arange(C)), k))
    assert st.counts["spikes"] > 0 and st.counts["synaptic_acs"] > 0
    # the torch op (quantised reference) picks the same tokens
    _setup()
    att = torch.as_tensor(levels[0].astype(np.float64) * 0.5)
    xt = torch.arange(B * n * 2, dtype=torch.float64).reshape(B, n, 2)
    out = torch.ops.spikeattn.token_select(xt, att, torch.tensor(0.5), k, keep).numpy()
    s1 = levels[0].sum(axis=(1, 2))[:, keep:]
    idx = np.sort(np.argsort(-s1, axis=1, kind="stable")[:, :k], axis=1) + keep
    idx = np.concatenate([np.tile(np.arange(keep), (B, 1)), idx], axis=1)
    assert np.array_equal(out, np.take_along_axis(xt.numpy(), idx[..., None], axis=1))


@pytest.fixture(scope="module")
def two_layer():
    torch.manual_seed(0)
    m = build("digits-vit", dim=8, heads=2, layers=2, hidden=8, patch=4)
    with torch.no_grad():                        # sharper attention than at initialisation
        for blk in m.blocks:
            blk.q.weight.mul_(6.0)
            blk.k.weight.mul_(6.0)
    x = _x(96, (64,), hi=17, seed=1)
    return _prepared(m, x), x


def test_topk_stage_matches_torch_reference_and_saves_events(two_layer):
    gm, x = two_layer
    full = convert_prepared(copy.deepcopy(gm), x[:2])
    g = copy.deepcopy(gm)
    rep = apply_sparsification(g, "topk:2@1", x)
    assert rep["topk"]["tokens_before"] == 5 and rep["topk"]["tokens_after"] == 3
    sm = convert_prepared(g, x[:2])
    assert sm.host_stages == ["kwta"] and len(sm.program.segments) == 2
    xs = x.numpy()
    logits = sm.run(xs, steps=1, batch=len(xs))[0]
    with torch.no_grad():
        ref = g.double()(x.double()).numpy()
    # at T = 1 the spike counts are the quantised levels: same selection, same logits
    assert np.allclose(logits, ref, atol=1e-6)
    (st,) = kwta_stages(sm)
    assert np.all(st.last_winners.sum(axis=1) == 2)
    assert len({tuple(r) for r in st.last_winners}) > 1        # the selection depends on the sample
    # downstream of the stage the circuit is built for 3 tokens: fewer neurons and events
    assert sm.circuit.summary()["neurons"] < full.circuit.summary()["neurons"]
    sm.predict(xs, steps=2)
    full.predict(xs, steps=2)
    seg_ops = sm.last_counts["totals"]["synaptic_acs"] + sm.last_counts["totals"]["synaptic_macs"]
    full_ops = full.last_counts["totals"]["synaptic_acs"] + full.last_counts["totals"]["synaptic_macs"]
    assert seg_ops + stage_counts(sm)["synaptic_acs"] < full_ops
    assert stage_counts(sm)["spikes"] > 0


def test_topk_refuses_a_one_layer_model(tiny):
    gm, x = tiny
    with pytest.raises(ParameterError, match="topk"):
        apply_sparsification(copy.deepcopy(gm), "topk:1", x)


def test_parse_prune_list_and_errors():
    assert parse_prune("magnitude:0.5,heads:1,topk:8") == [("magnitude", 0.5), ("heads", 1), ("topk", (8, 1))]
    assert parse_prune("topk:2@3, heads:1/layer") == [("topk", (2, 3)), ("heads", (1, "layer"))]
    assert parse_prune(None) == [] and parse_prune(0.3) == [("magnitude", 0.3)]
    for bad, word in [("magnitude:1.5", "fraction"), ("heads:x", "integer"), ("topk:0", "topk"),
                      ("sparse:3", "unknown kind"), ("heads:1,heads:2", "twice"), ("magnitude", "missing")]:
        with pytest.raises(ParameterError, match=word) as e:
            parse_prune(bad)
        assert e.value.field == "prune"
        assert "Fix:" in str(e.value)


def test_masked_finetune_keeps_pruned_weights_absent(tiny):
    gm, x = tiny
    g = copy.deepcopy(gm)
    y = torch.as_tensor(np.random.default_rng(3).integers(0, 4, len(x)))
    before = copy.deepcopy(g)
    rep = apply_sparsification(g, "magnitude:0.5", x, train=(x.numpy(), y.numpy()), epochs=2)
    assert rep["finetune"]["epochs"] == 2
    for (name, p), (_, p0) in zip(g.named_parameters(), before.named_parameters()):
        if p.ndim >= 2:
            k = int(0.5 * p.numel())
            zero = p0.abs().reshape(-1) <= p0.abs().reshape(-1).kthvalue(k).values
            assert torch.all(p.reshape(-1)[zero] == 0), name          # the pruned half stays zero
            assert not torch.equal(p.reshape(-1)[~zero], p0.reshape(-1)[~zero]), name   # the rest trained


def test_heads_per_layer_spec(two_layer):
    gm, x = two_layer
    g = copy.deepcopy(gm)
    rep = apply_sparsification(g, "heads:1/layer", x)
    assert sorted(int(p.split(".")[0]) for p in rep["heads"]["pruned"]) == [0, 1]
    assert [a.heads for a in find_attention(g)] == [1, 1]
    assert g(x).shape == (len(x), 10)
