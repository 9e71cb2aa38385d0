"""Structured projections: closed-form expansions, hand-counted products, files, refusals.

Oracles: numpy's ``kron`` (shared), direct indexing (index), scipy's ``correlate2d`` (conv),
``numpy.einsum`` on the recorded spikes (product), and hand-computed counts.
"""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import scipy.signal

import spikeattn as sa
from spikeattn.errors import FileFormatError, MemoryLimitError, ShapeMismatchError, UnsupportedFeatureError, \
    ValidationError
from spikeattn.ir import MultiThresholdIF

RNG = np.random.default_rng(7)


def _dyadic(shape, lo=-8, hi=9, den=8.0):
    return RNG.integers(lo, hi, shape) / den


def test_shared_expands_to_kron_of_scale_and_weights():
    c = sa.Circuit("s")
    c.add_source("x", (4, 3))
    c.add_population("h", (4, 5), sa.IF())
    W, scale = _dyadic((5, 3)), np.array([1.0, 0.5, -2.0, 0.25])
    W[1, 2] = 0.0
    p = c.connect_shared("x", "h", W, scale=scale)
    assert np.array_equal(p.expand_matrix().toarray(), np.kron(np.diag(scale), W))
    assert p.synapse_count() == 4 * np.count_nonzero(W) == c.summary()["synapses"]
    assert np.array_equal(p.fan_out(), np.count_nonzero(np.kron(np.diag(scale), W), axis=0))


def test_index_expands_to_a_gather_with_holes():
    c = sa.Circuit("i")
    c.add_source("x", 6)
    c.add_population("h", (2, 4), sa.IF())
    idx = np.array([5, 0, -1, 2, 2, -1, 1, 3])
    w = np.array([0.5, 1.0, 3.0, -0.25, 2.0, 1.0, 0.0, 1.5])
    p = c.connect_index("x", "h", idx, w)
    x = RNG.normal(size=6)
    want = np.where(idx >= 0, w * x[np.maximum(idx, 0)], 0.0)
    assert np.allclose(p.expand_matrix() @ x, want, rtol=0, atol=0)
    assert p.synapse_count() == 5                      # -1 entries and the zero weight have no synapse
    assert p.fan_out().tolist() == [1, 0, 2, 1, 0, 1]


@pytest.mark.parametrize("stride,padding", [((1, 1), (0, 0)), ((2, 1), (1, 2)), ((3, 3), (1, 1))])
def test_conv_expands_to_scipy_correlate2d(stride, padding):
    ci, co, H, W, kh, kw = 2, 3, 6, 7, 3, 2
    K = _dyadic((co, ci, kh, kw))
    K[0, 1, 2, 1] = 0.0
    p = sa.ir.structured.ConvProjection("c", "x", "y", K, (H, W), stride, padding)
    Ho, Wo = p.output_hw
    c = sa.Circuit("c")
    c.add_source("x", (ci, H, W))
    c.add_population("y", (co, Ho, Wo), sa.IF())
    c.add(p)
    x = RNG.normal(size=(ci, H, W))
    xp = np.pad(x, ((0, 0), padding[:1] * 2, padding[1:] * 2))
    want = np.stack([sum(scipy.signal.correlate2d(xp[i], K[o, i], mode="valid") for i in range(ci))
                     for o in range(co)])[:, ::stride[0], ::stride[1]]
    assert want.shape == (co, Ho, Wo)
    assert np.allclose(p.expand_matrix() @ x.reshape(-1), want.reshape(-1), atol=1e-12)
    M = p.expand_matrix()
    assert p.synapse_count() == M.nnz and np.array_equal(p.fan_out(), np.diff(M.tocsc().indptr))


def _levels_circuit(a_in, b_in, equation, a_shape, b_shape, out_shape, weight=1.0, mask=None, delay=1,
                    signed=(False, False)):
    """a, b: MultiThresholdIF(vth=1) driven once (step 0) by graded inputs, so they emit
    ceil(x) - 1 levels at step 0; out: LIF with du = dv = 1 (v = this step's input)."""
    c = sa.Circuit("prod")
    c.add_source("xa", a_shape, encoder="graded")
    c.add_source("xb", b_shape, encoder="graded")
    c.add_population("a", a_shape, MultiThresholdIF(vth=1.0, levels=3, signed=signed[0]))
    c.add_population("b", b_shape, MultiThresholdIF(vth=1.0, levels=3, signed=signed[1]))
    c.add_population("out", out_shape, sa.LIF(du=1.0, dv=1.0, vth=1e9))
    c.connect_index("xa", "a", np.arange(int(np.prod(a_shape))), message="graded", delay=0)
    c.connect_index("xb", "b", np.arange(int(np.prod(b_shape))), message="graded", delay=0)
    c.connect_product("a", "b", "out", equation, weight=weight, mask=mask, name="P", delay=delay)
    c.probe("out", ("v",))
    steps = 3
    xa = np.zeros((steps, 1, int(np.prod(a_shape))))
    xb = np.zeros((steps, 1, int(np.prod(b_shape))))
    xa[0, 0], xb[0, 0] = np.ravel(a_in), np.ravel(b_in)
    return c, {"xa": xa, "xb": xb}, steps


def test_product_hand_counted():
    """a = [2, 1] (levels), b = [[1], [3]]: out = 2*1 + 1*3 = 5; 5 accumulates (|a||b|),
    3 gated messages (|a| per term with b != 0), all at step 0; delivered at step 1."""
    c, x, steps = _levels_circuit([2.5, 1.5], [1.5, 3.5], "ik,kj->ij", (1, 2), (2, 1), (1, 1), weight=1.0)
    r = sa.simulate(c, x, steps=steps)
    assert r.spikes["a"][0, 0].tolist() == [2, 1] and r.spikes["b"][0, 0].tolist() == [1, 3]
    assert r.probes["out"]["v"][:, 0, 0].tolist() == [0.0, 5.0, 0.0]
    f = r.counts.elements["P"].fields
    assert f["synaptic_acs"][:, 0].tolist() == [5, 0, 0]
    assert f["messages"][:, 0].tolist() == [3, 0, 0]
    assert r.counts.elements["out"].fields["neuron_updates_active"][:, 0].tolist() == [0, 1, 0]


@pytest.mark.parametrize("signed", [(False, False), (True, False), (True, True)])
def test_product_equals_einsum_of_the_recorded_levels(signed):
    """QKᵀ per head with a causal mask: the input reaching ``out`` is weight x einsum of the
    levels a and b emitted one step earlier; acs and messages as defined in structured.py."""
    T, H, D = 3, 2, 2
    mask = np.tril(np.ones((T, T), bool))
    lo = -3.5 if signed[0] else 0.0
    a_in = RNG.choice(np.arange(lo, 4.0, 1.0), (T, H, D))
    b_in = RNG.choice(np.arange(-3.5 if signed[1] else 0.0, 4.0, 1.0), (T, H, D))
    c, x, steps = _levels_circuit(a_in, b_in, "thd,shd->hts", (T, H, D), (T, H, D), (H, T, T), weight=0.25,
                                  mask=mask, signed=signed)
    r = sa.simulate(c, x, steps=steps)
    a, b = r.spikes["a"][0, 0].reshape(T, H, D), r.spikes["b"][0, 0].reshape(T, H, D)
    assert np.abs(a).max() > 0 and np.abs(b).max() > 0
    want = 0.25 * np.einsum("thd,shd->hts", a, b) * mask
    assert np.array_equal(r.probes["out"]["v"][1, 0], want.reshape(-1))
    f = r.counts.elements["P"].fields
    assert f["synaptic_acs"][0, 0] == (np.einsum("thd,shd->hts", np.abs(a), np.abs(b)) * mask).sum()
    assert f["messages"][0, 0] == (np.einsum("thd,shd->hts", np.abs(a), (b != 0).astype(float)) * mask).sum()
    got = (np.einsum("thd,shd->hts", (a != 0).astype(float), (b != 0).astype(float)) * mask) > 0
    assert r.counts.elements["out"].fields["neuron_updates_active"][1, 0] == got.sum()


def test_product_counts_and_synapses_per_element():
    c, _, _ = _levels_circuit(np.zeros(6), np.zeros(8), "ik,jk->ij", (3, 2), (4, 2), (3, 4),
                              mask=np.array([[True, False, True, True]]))
    p = c.projections["P"]
    assert p.terms == 3 * 3 * 2 and p.synapse_count() == p.terms
    assert p.fan_out().tolist() == [3] * 6                 # each a[i, k] meets 3 unmasked j
    ia, ib, io = p.term_indices()
    assert len(ia) == p.terms and set(io.tolist()) == {0, 2, 3, 4, 6, 7, 8, 10, 11}


def test_product_of_graded_values_has_no_expansion():
    c = sa.Circuit("g")
    c.add_source("x", 2, encoder="graded")
    c.add_population("a", (1, 2), sa.ir.neurons_extra.GradedReLU())
    c.add_population("o", (1, 1), sa.IF())
    c.connect_index("x", "a", np.arange(2), message="graded")
    c.connect_product("a", "a", "o", "ik,jk->ij")
    with pytest.raises(UnsupportedFeatureError, match="unbounded.*engine='torch'"):
        c.expand()


def test_expand_keeps_every_name_and_refuses_beyond_the_memory_limit():
    c = sa.Circuit("big")
    c.add_source("x", (100_000, 1000))
    c.add_population("h", (100_000, 1000), sa.IF())
    c.connect_shared("x", "h", np.ones((1000, 1000)))
    with pytest.raises(MemoryLimitError, match=r"expand\(\).*bytes.*engine='torch'"):
        c.expand()
    with pytest.raises(MemoryLimitError):
        sa.simulate(c, steps=1, engine="numpy")      # refused before the expansion is allocated
    small, _, _ = _levels_circuit(np.zeros(2), np.zeros(2), "ik,kj->ij", (1, 2), (2, 1), (1, 1))
    e = small.expand()
    assert set(small.nodes()) <= set(e.nodes()) and set(small.projections) <= set(e.projections)
    assert not e.structured and small.structured
    with pytest.raises(MemoryLimitError, match="expand"):
        small.expand(max_bytes=100)


def test_validation_names_the_field():
    c = sa.Circuit("v")
    c.add_source("x", (3, 4))
    c.add_population("h", (3, 5), sa.IF())
    with pytest.raises(ShapeMismatchError, match="field 'weights'.*G \\* n_in"):
        c.connect_shared("x", "h", np.ones((5, 3)))
    with pytest.raises(ShapeMismatchError, match="field 'scale'"):
        c.connect_shared("x", "h", np.ones((5, 4)), scale=np.ones(2))
    with pytest.raises(ValidationError, match="field 'index'.*outside"):
        c.connect_index("x", "h", np.full(15, 12))
    with pytest.raises(ShapeMismatchError, match="field 'equation'"):
        c.connect_product("x", "x", "h", "ab,bc->ac")
    c.add_population("att", (3, 3), sa.IF())
    with pytest.raises(ShapeMismatchError, match="field 'mask'"):
        c.connect_product("x", "x", "att", "ik,jk->ij", mask=np.ones((2, 2), bool))
    with pytest.raises(ValidationError, match="field 'equation'"):
        c.connect_product("x", "x", "h", "iK,jk->ij")
    c.add_population("fx", (3, 5), sa.LoihiLIF())
    with pytest.raises(ValidationError, match="fixed-point"):
        c.connect_shared("x", "fx", np.ones((5, 4)))


def _all_kinds():
    rng = np.random.default_rng(11)
    c = sa.Circuit("kinds")
    c.add_source("x", (2, 3, 4), encoder="graded")
    c.add_population("m", (2, 3, 4), MultiThresholdIF(vth=0.5, levels=2, signed=True))
    c.add_population("s", (2, 3, 2), sa.IF())
    c.add_population("p", (2, 3, 3), sa.IF())
    c.add_population("cv", (1, 2, 1), sa.IF())
    c.connect_shared("x", "m", rng.integers(-8, 9, (4, 4)) / 8, message="graded", delay=0,
                     scale=np.array([1.0, 0.5, 2, 1, 1, 1]))
    c.connect_index("m", "s", rng.integers(-1, 24, 12), rng.integers(-8, 9, 12) / 8, message="count", delay=2)
    c.connect_product("m", "m", "p", "hik,hjk->hij", weight=-0.5, mask=np.tril(np.ones((3, 3), bool)))
    c.connect_conv("s", "cv", rng.integers(-8, 9, (1, 2, 2, 1)) / 8, input_hw=(3, 2), stride=(1, 2))
    c.probe("p", ("v",))
    c.expose("out", "p")
    return c


def test_files_round_trip_every_kind(tmp_path):
    c = _all_kinds()
    path = sa.save(c, tmp_path / "c.zip")
    back = sa.load(path)
    assert back == c and back.structured
    assert {type(p).__name__ for p in back.projections.values()} == {
        "SharedProjection", "IndexProjection", "ProductProjection", "ConvProjection"}
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("circuit.json"))["format_version"] == 2
    flat = sa.Circuit("flat")
    flat.add_population("n", 1, sa.IF())
    with zipfile.ZipFile(sa.save(flat, tmp_path / "f.zip")) as zf:
        assert json.loads(zf.read("circuit.json"))["format_version"] == 1   # readable by older versions


@pytest.mark.parametrize("edit,match", [
    (lambda d: d["structured"][0].update(kind="warp"), r"structured\[0\]\.kind"),
    (lambda d: d["structured"][0]["params"].update(foo=1), "unknown parameters"),
    (lambda d: d["structured"][0]["params"].pop("post"), "lacks"),
    (lambda d: d["structured"][0]["arrays"].update(weights={"array": "nope"}), "missing array"),
])
def test_corrupt_structured_files_name_the_member(tmp_path, edit, match):
    path = sa.save(_all_kinds(), tmp_path / "c.zip")
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    doc = json.loads(members["circuit.json"])
    edit(doc)
    members["circuit.json"] = json.dumps(doc).encode()
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    with pytest.raises(FileFormatError, match=match):
        sa.load(bad)


def test_include_renames_both_product_inputs():
    outer = sa.Circuit("outer")
    mapping = outer.include(_all_kinds(), "blk")
    p = outer.projections["blk.m*m->p"]
    assert (p.pre, p.pre_b, p.post) == ("blk.m", "blk.m", "blk.p") and mapping["m"] == "blk.m"
    outer.validate()
    assert outer.summary()["synapses"] == _all_kinds().summary()["synapses"]


def test_structured_circuit_runs_through_its_expansion_on_numpy():
    c = _all_kinds()
    x = RNG.choice(np.arange(-4, 5) / 4.0, (6, 2, 24))
    r = sa.simulate(c, {"x": x}, steps=6, engine="numpy")
    e = sa.simulate(c.expand(), {"x": x}, steps=6, engine="numpy")
    for n in c.populations:
        assert np.array_equal(r.spikes[n], e.spikes[n])
    assert r.counts == e.counts


@pytest.mark.parametrize("eq,sa_,sb,so", [("ik,kj->ij", (2, 3), (3, 4), (2, 4)), ("thd,shd->hts", (3, 2, 2), (3, 2, 2), (2, 3, 3)),
                                          ("jd,jd->d", (4, 3), (4, 3), (3,)), ("id,d->id", (4, 3), (3,), (4, 3)),
                                          ("ab,cd->ac", (2, 3), (4, 5), (2, 4)), ("hij,jhe->ihe", (2, 3, 4), (4, 2, 5), (3, 2, 5))])
@pytest.mark.parametrize("masked", [False, True])
def test_product_term_counts_closed_form_equals_the_enumeration(eq, sa_, sb, so, masked):
    """The closed-form terms per a, b and output element equal a count over the enumerated
    terms (term_indices: every letter assignment, masked ones dropped)."""
    mask = np.random.default_rng(len(eq)).random(so) < 0.6 if masked else None
    p = sa.ir.structured.ProductProjection("p", "a", "b", "o", eq, 1.0, mask)
    p.bind((sa_, sb), so)
    ia, ib, io = p.term_indices()
    for key, idx, shape in (("a", ia, sa_), ("b", ib, sb), ("out", io, so)):
        assert np.array_equal(p.term_counts(key), np.bincount(idx, minlength=int(np.prod(shape))))
    assert p.terms == len(ia)
