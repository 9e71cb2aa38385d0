"""engine="torch" on structured circuits against the numpy engine on ``circuit.expand()``.

The torch engine runs shared, index, conv and product projections as they are stored
(matmul, gather, conv2d, einsum); the numpy engine runs their neuron-level expansion.  With
dyadic weights and inputs every sum is exact, so both give the same spikes and probes, and
every count field of every element of the structured circuit is equal (the expansion's extra
line and gate populations exist only there).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import spikeattn as sa
from spikeattn.errors import MemoryLimitError, SpikeattnWarning
from spikeattn.ir import MultiThresholdIF, TernaryIF
from spikeattn.ir.neurons_extra import GradedReLU
from spikeattn.ir.structured import ConvProjection

torch = pytest.importorskip("torch")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

D8 = np.arange(-8, 9) / 8.0           # dyadic weights -1 .. 1
Q4 = np.arange(-4, 9) / 4.0           # graded inputs -1 .. 2


def _w(rng, shape, zeros=0.3):
    w = rng.choice(D8[D8 != 0], shape)
    w[rng.random(shape) < zeros] = 0.0
    return w


def random_structured(seed: int, steps: int = 12, batch: int = 2):
    """Every structured kind and message, every float model, a flat projection, delays 0-3,
    a recurrent index projection, products of signed and unsigned levels, binary spikes and
    one node with itself, with and without masks."""
    rng = np.random.default_rng(seed)
    G, n_in, n_h = (int(rng.integers(2, 4)) for _ in range(3))
    C, H, W = int(rng.integers(1, 3)), int(rng.integers(3, 5)), int(rng.integers(3, 5))
    c = sa.Circuit(f"torch_structured_{seed}")
    c.add_source("x", (G, n_in), encoder="graded")
    c.add_source("img", (C, H, W))
    c.add_population("m", (G, n_h), MultiThresholdIF(vth=0.5, levels=int(rng.integers(1, 4)),
                                                     signed=bool(rng.random() < 0.5)))
    c.add_population("t", (G, n_h), TernaryIF(vth=0.5))
    c.add_population("l", (G, n_h), sa.LIF(du=0.5, dv=0.25, vth=0.5, bias=float(rng.choice([0.0, 0.0625]))))
    c.add_population("g", (G, n_h), GradedReLU(vth=0.25))
    c.add_population("att", (G, G), MultiThresholdIF(vth=0.25, levels=2))
    c.add_population("self", (G, G), sa.IF(vth=0.75))
    c.add_population("out", (G, n_h), sa.LIF(du=1.0, dv=0.5, vth=0.75))
    k = _w(rng, (2, C, 2, 2))
    stride, pad = int(rng.integers(1, 3)), int(rng.integers(0, 2))
    fmap = ConvProjection("tmp", "img", "fm", k, (H, W), (stride, stride), (pad, pad))
    c.add_population("fm", (2, *fmap.output_hw), sa.IF(vth=0.5))
    d = lambda: int(rng.integers(0, 4))            # noqa: E731
    dense = rng.random() < 0.5                      # a shared matrix without zeros: no pattern product
    c.connect_shared("x", "m", _w(rng, (n_h, n_in), 0.0 if dense else 0.3), message="graded", delay=d(),
                     scale=rng.choice([0.5, 1.0, 2.0], G) if rng.random() < 0.5 else None)
    c.connect_shared("x", "t", _w(rng, (n_h, n_in)), message="graded", delay=d())
    c.connect_index("x", "l", rng.permutation(G * n_in)[: G * n_h] if n_in >= n_h else
                    np.where(rng.random(G * n_h) < 0.8, rng.integers(0, G * n_in, G * n_h), -1),
                    rng.choice(D8, G * n_h) if rng.random() < 0.5 else 0.75, message="graded", delay=d())
    c.connect("x", "g", sp.csr_matrix(_w(rng, (G * n_h, G * n_in), 0.6)), name="x->g flat", message="graded",
              delay=d())
    c.connect_conv("img", "fm", k, (H, W), (stride, stride), (pad, pad), delay=d())
    mask = rng.random((G, G)) < 0.7 if rng.random() < 0.7 else None
    c.connect_product("m", "t", "att", "ik,jk->ij", weight=float(rng.choice([0.125, -0.25, 0.5])), mask=mask,
                      delay=d())
    c.connect_product("l", "l", "self", "ik,jk->ij", weight=0.25, mask=np.tril(np.ones((G, G), bool)), delay=d())
    c.connect_product("att", "m", "out", "ij,jk->ik", weight=0.125, delay=int(rng.integers(1, 4)))
    c.connect_shared("g", "out", _w(rng, (n_h, n_h)), message="graded", delay=d())
    c.connect_shared("self", "out", _w(rng, (n_h, G)), message="count", delay=d())
    c.connect_index("t", "out", rng.permutation(G * n_h), rng.choice(D8, G * n_h), delay=d())
    c.connect_index("out", "m", rng.permutation(G * n_h), 0.5, name="out->m", message="count",
                    delay=int(rng.integers(1, 4)))
    c.connect_shared("fm", "out", _w(rng, (G * n_h, c.node("fm").size)), delay=d())
    for pop in ("m", "out", "att"):
        c.probe(pop, tuple(c.node(pop).model.state))
    inputs = {"x": rng.choice(Q4, (steps, batch, G * n_in)), "img": rng.random((steps, batch, C * H * W)) < 0.4}
    return c, inputs, steps


def _run(engine, c, inputs, steps, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikeattnWarning)
        return sa.simulate(c, inputs, steps=steps, engine=engine, **options)


def assert_same_as_expansion(c, inputs, steps, **options):
    ref = _run("numpy", c.expand(), inputs, steps)
    got = _run("torch", c, inputs, steps, **options)
    for n in c.nodes():
        assert np.array_equal(ref.spikes[n], got.spikes[n]), f"spikes of '{n}'"
    for p, vs in got.probes.items():
        for v, arr in vs.items():
            assert np.array_equal(arr, ref.probes[p][v]), f"probe {p}.{v}"
    own = list(c.nodes()) + list(c.projections)
    assert set(got.counts.elements) == set(own)
    for el in own:
        for f, arr in got.counts.elements[el].fields.items():
            assert np.array_equal(arr, ref.counts.elements[el].fields[f]), f"count {el}.{f}"
    return ref, got


@pytest.mark.parametrize("seed", range(6))
def test_random_structured_circuits_equal_the_expansion_on_numpy(seed):
    c, inputs, steps = random_structured(seed)
    ref, got = assert_same_as_expansion(c, inputs, steps)
    kinds = {p.kind for p in c.projections.values() if getattr(p, "structured", False)}
    assert kinds == {"shared", "index", "conv", "product"}
    assert got.counts.total("synaptic_acs", elements=[p for p in c.projections if "product" in
                                                      got.meta["lowering"][p]]) > 0


@pytest.mark.parametrize("seed", [0, 3])
def test_sync_free_path_equals_the_expansion(seed, monkeypatch):
    """The GPU's path (no host syncs) on the CPU."""
    from spikeattn.engines.torch.loop import TorchRun
    monkeypatch.setattr(TorchRun, "host_syncs", False)
    c, inputs, steps = random_structured(seed)
    assert_same_as_expansion(c, inputs, steps)


def test_dense_shared_matrix_receives_without_a_pattern_product():
    """W without zeros: a post neuron of group g receives an event iff a pre neuron of group
    g spiked (the lowering keeps no synapse pattern)."""
    rng = np.random.default_rng(3)
    c = sa.Circuit("dense_shared")
    c.add_source("x", (5, 3))
    c.add_population("h", (5, 4), GradedReLU(vth=10.0))     # never fires: active only by received events
    c.connect_shared("x", "h", rng.choice(D8[D8 != 0], (4, 3)))
    inputs = {"x": rng.random((8, 3, 15)) < 0.2}
    ref, got = assert_same_as_expansion(c, inputs, 8)
    assert got.meta["lowering"]["x->h"].endswith("full")
    x = inputs["x"].reshape(8, 3, 5, 3)
    assert np.array_equal(got.counts.elements["h"].fields["neuron_updates_active"][1:],
                          4 * x.any(axis=3).sum(axis=2)[:-1])


def test_product_of_unsigned_levels_and_of_signed_levels():
    """The value's einsum is the ops' einsum for non-negative levels; signed levels (and
    levels > 1 in b) take their own |a| |b| and |a| [b != 0] einsums."""
    rng = np.random.default_rng(5)
    for signed in (False, True):
        c = sa.Circuit(f"product_{signed}")
        c.add_source("x", (3, 2, 4), encoder="graded")
        c.add_population("a", (3, 2, 4), MultiThresholdIF(vth=0.25, levels=3, signed=signed))
        c.add_population("b", (3, 2, 4), MultiThresholdIF(vth=0.5, levels=2, signed=signed))
        c.add_population("p", (2, 3, 3), sa.IF(vth=100.0))
        c.connect_index("x", "a", np.arange(24), message="graded", delay=0)
        c.connect_index("x", "b", np.arange(24)[::-1], message="graded", delay=0)
        c.connect_product("a", "b", "p", "thd,shd->hts", weight=0.5, mask=np.tril(np.ones((3, 3), bool)), delay=0)
        c.probe("p", ("v",))
        inputs = {"x": rng.choice(Q4, (6, 2, 24))}
        ref, got = assert_same_as_expansion(c, inputs, 6)
        counts = got.counts.elements["a*b->p"].fields
        assert counts["synaptic_acs"].sum() > counts["messages"].sum() > 0


def test_product_of_graded_values_counts_truncated_levels():
    """A product of graded (non-integer) outputs, which has no expansion: the value is
    ``weight * einsum(a, b)``; the ops count ``trunc|a| trunc|b|`` and the messages
    ``trunc|a| [b != 0]`` (count-message convention), the events are where a != 0 and b != 0."""
    rng = np.random.default_rng(9)
    c = sa.Circuit("graded_product")
    c.add_source("x", (3, 2), encoder="graded")
    c.add_population("a", (3, 2), GradedReLU(vth=0.0))
    c.add_population("b", (3, 2), GradedReLU(vth=0.0))
    c.add_population("p", (3, 3), GradedReLU(vth=100.0))       # never fires: active = received
    c.add_population("acc", (3, 3), sa.IF(vth=1e9))
    c.connect_index("x", "a", np.arange(6), message="graded", delay=0)
    c.connect_index("x", "b", np.arange(6)[::-1], 1.5, message="graded", delay=0)
    c.connect_product("a", "b", "p", "ik,jk->ij", weight=0.5, delay=0)
    c.connect_product("a", "b", "acc", "ik,jk->ij", weight=0.5, name="a*b->acc", delay=0)
    c.probe("acc", ("v",))
    x = rng.choice(Q4, (5, 2, 6))
    r = _run("torch", c, {"x": x}, 5)
    a, b = r.spikes["a"].reshape(5, 2, 3, 2), r.spikes["b"].reshape(5, 2, 3, 2)
    assert (a % 1 != 0).any() and (b % 1 != 0).any()
    assert np.array_equal(r.probes["acc"]["v"], np.cumsum(0.5 * np.einsum("tzik,tzjk->tzij", a, b), 0).reshape(5, 2, 9))
    f = r.counts.elements["a*b->p"].fields
    ta, tb = np.trunc(np.abs(a)), np.trunc(np.abs(b))
    assert np.array_equal(f["synaptic_acs"], np.einsum("tzik,tzjk->tz", ta, tb).astype(np.int64))
    assert np.array_equal(f["messages"], np.einsum("tzik,tzjk->tz", ta, (b != 0) * 1.0).astype(np.int64))
    events = np.einsum("tzik,tzjk->tzij", (a != 0) * 1.0, (b != 0) * 1.0) > 0
    assert np.array_equal(r.counts.elements["p"].fields["neuron_updates_active"], events.sum(axis=(2, 3)))


def test_structured_run_refused_before_allocating(monkeypatch):
    import spikeattn.engines.torch.memory as mem
    c, inputs, steps = random_structured(0)
    monkeypatch.setattr(mem, "available_bytes", lambda: 4096)
    with pytest.raises(MemoryLimitError, match=r"engine 'torch'.*weights.*Fix: a smaller batch"):
        _run("torch", c, inputs, steps)


def test_structured_circuit_too_large_to_expand_runs_on_torch():
    """512 tokens x (128 x 128) shared: the expansion would hold 8.4 M synapses; the torch
    engine holds one matrix."""
    rng = np.random.default_rng(0)
    c = sa.Circuit("wide")
    c.add_source("x", (512, 128))
    c.add_population("h", (512, 128), sa.IF(vth=1.0))
    c.connect_shared("x", "h", rng.choice(D8[D8 != 0], (128, 128)))
    with pytest.raises(MemoryLimitError, match="engine='torch'"):
        c.expand(max_bytes=100 << 20)
    r = _run("torch", c, {"x": rng.random((3, 1, 512 * 128)) < 0.05}, 3)
    x = r.spikes["x"].sum(axis=2)
    assert r.counts.elements["x->h"].fields["synaptic_acs"][:, 0].tolist() == (128 * x[:, 0]).tolist()


def test_float32_structured_circuit():
    c, inputs, steps = random_structured(1)
    ref = _run("numpy", c.expand(), inputs, steps)
    got = _run("torch", c, inputs, steps, dtype="float32")
    # levels, ternary spikes and integrate-and-fire sums of few dyadic terms are exact in float32
    for n in ("m", "t", "att", "fm"):
        assert np.array_equal(ref.spikes[n], got.spikes[n]), n


@needs_cuda
def test_cuda_structured_equals_the_expansion():
    c, inputs, steps = random_structured(2)
    assert_same_as_expansion(c, inputs, steps, device="cuda")


@pytest.mark.parametrize("equation, mask", [("id,d->id", False), ("id,d->id", True), ("jd,jd->d", False),
                                            ("jd,jd->d", True), ("id,id->id", True), ("ik,jk->ij", True)])
def test_binary_products_take_the_bool_path_and_equal_the_expansion(equation, mask):
    """Two binary populations: ``a & b`` (no letter summed, or the same letters in both) or a
    float32 einsum; spikes and every count as the expansion on numpy."""
    rng = np.random.default_rng(11)
    a_sub, b_sub, o_sub = equation.replace("->", ",").split(",")
    size = {"i": 5, "j": 4, "d": 3, "k": 3}
    c = sa.Circuit("binary_product")
    c.add_source("x", (10,), encoder="graded")
    for name, sub in (("a", a_sub), ("b", b_sub)):
        n = int(np.prod([size[ch] for ch in sub]))
        c.add_population(name, tuple(size[ch] for ch in sub), sa.LIF(du=0.5, dv=0.25, vth=0.5))
        c.connect("x", name, sp.csr_matrix(rng.choice(D8, (n, 10))), name=f"x->{name}", message="graded", delay=0)
    post_shape = tuple(size[ch] for ch in o_sub)
    c.add_population("p", post_shape, GradedReLU(vth=0.0))
    c.add_population("q", post_shape, sa.IF(vth=2.5))
    m = rng.random(post_shape) < 0.6 if mask else None
    c.connect_product("a", "b", "p", equation, weight=1.0, mask=m, delay=0)
    c.connect_product("a", "b", "q", equation, weight=0.5, mask=m, name="a*b->q", delay=1)
    c.probe("q", ("v",))
    ref, got = assert_same_as_expansion(c, {"x": rng.choice(Q4, (10, 3, 10))}, 10)
    assert got.counts.elements["a*b->p"].fields["synaptic_acs"].sum() > 0
    assert "float32" in got.meta["lowering"]["a*b->p"]


@pytest.mark.parametrize("level, dtype", [(64, "float32"), (4096, "float64")])
@pytest.mark.parametrize("masked", [False, True])
def test_product_of_declared_levels_is_exact_in_float32_only_within_its_bound(level, dtype, masked):
    """``L_a L_b S <= 2**24`` (64 * 64 * 1024) sums in float32, 4096 * 4096 * 1024 in float64;
    both equal numpy's float64 einsum of the same integers (the oracle), and the ops and
    messages are the closed forms ``sum |a| |b|`` and ``sum |a| [b != 0]``."""
    rng = np.random.default_rng(4)
    n, k, steps, batch = 3, 1024, 3, 2
    c = sa.Circuit("levels_product")
    c.add_source("a", (n, k), encoder="graded")
    c.add_source("b", (n, k), encoder="graded")
    c.add_population("acc", (n, n), sa.IF(vth=1e300))
    mask = np.tril(np.ones((n, n), bool)) if masked else None
    c.connect_product("a", "b", "acc", "ik,jk->ij", weight=0.25, mask=mask, delay=0, levels=(level, level))
    c.probe("acc", ("v",))
    x = {s: rng.integers(-level, level + 1, (steps, batch, n * k)).astype(np.float64) for s in ("a", "b")}
    x["a"][rng.random(x["a"].shape) < 0.3] = 0.0
    x["b"][:, :, :k] = level                     # sums far beyond 2**24 on the float64 path
    r = _run("torch", c, x, steps)
    assert dtype in r.meta["lowering"]["a*b->acc"]
    a, b = x["a"].reshape(steps, batch, n, k), x["b"].reshape(steps, batch, n, k)
    m = np.ones((n, n)) if mask is None else mask * 1.0
    value = np.einsum("tzik,tzjk->tzij", a, b) * m
    assert np.array_equal(r.probes["acc"]["v"], np.cumsum(0.25 * value, 0).reshape(steps, batch, n * n))
    f = r.counts.elements["a*b->acc"].fields
    assert np.array_equal(f["synaptic_acs"], np.einsum("tzik,tzjk,ij->tz", np.abs(a), np.abs(b), m).astype(np.int64))
    assert np.array_equal(f["messages"], np.einsum("tzik,tzjk,ij->tz", np.abs(a), (b != 0) * 1.0, m).astype(np.int64))


def test_two_products_of_the_same_outputs_share_their_sums():
    """The relays of a signed product (weights +1 and -1, same equation and mask) read one
    einsum per step (memo) and still count and receive each on its own."""
    rng = np.random.default_rng(2)
    c = sa.Circuit("relays")
    c.add_source("x", (3, 4), encoder="graded")
    c.add_population("a", (3, 4), MultiThresholdIF(vth=0.25, levels=2, signed=True))
    c.add_population("b", (3, 4), TernaryIF(vth=0.5))
    c.add_population("p", (3, 3), GradedReLU(vth=0.0))
    c.add_population("m", (3, 3), GradedReLU(vth=0.0))
    c.connect_index("x", "a", np.arange(12), message="graded", delay=0)
    c.connect_index("x", "b", np.arange(12)[::-1], message="graded", delay=0)
    c.connect_product("a", "b", "p", "ik,jk->ij", weight=1.0, name="ab+", delay=0)
    c.connect_product("a", "b", "m", "ik,jk->ij", weight=-1.0, name="ab-", delay=0)
    ref, got = assert_same_as_expansion(c, {"x": rng.choice(Q4, (8, 2, 12))}, 8)
    plus, minus = (got.counts.elements[p].fields for p in ("ab+", "ab-"))
    assert all(np.array_equal(plus[f], minus[f]) for f in plus)
    assert (got.spikes["p"] > 0).any() and (got.spikes["m"] > 0).any()


def test_shared_matrices_and_their_negations_share_one_product():
    """The converter's positive and negative streams: ``p -> A`` (W), ``m -> A`` (-W),
    ``p -> B`` (-W), ``m -> B`` (W) run as one ``(p - m) @ W^T`` per step (B reads its
    negation); a negated pair from one pre with delay 2 and a scaled copy (kept apart)
    too.  Spikes and every count as the expansion on numpy."""
    rng = np.random.default_rng(8)
    G, n_in, n_out = 3, 4, 5
    w, w2 = _w(rng, (n_out, n_in), 0.2), _w(rng, (n_out, n_in), 0.0)
    c = sa.Circuit("negated_streams")
    c.add_source("x", (G, n_in), encoder="graded")
    c.add_population("p", (G, n_in), GradedReLU(vth=0.0))
    c.add_population("m", (G, n_in), GradedReLU(vth=0.0))
    for post in ("A", "B", "C", "D", "E"):
        c.add_population(post, (G, n_out), MultiThresholdIF(vth=0.25, levels=3, signed=True))
    c.connect_index("x", "p", np.arange(G * n_in), message="graded", delay=0)
    c.connect_index("x", "m", np.arange(G * n_in), -1.0, message="graded", delay=0)
    c.connect_shared("p", "A", w, message="graded", delay=0)
    c.connect_shared("m", "A", -w, message="graded", delay=0)
    c.connect_shared("p", "B", -w, message="graded", delay=0)
    c.connect_shared("m", "B", w, message="graded", delay=0)
    c.connect_shared("x", "C", w2, message="graded", delay=2)
    c.connect_shared("x", "D", -w2, message="graded", delay=2)
    c.connect_shared("x", "E", w2, message="graded", delay=0, scale=np.array([0.5, 1.0, 2.0]))
    c.probe("A", ("v",))
    c.probe("B", ("v",))
    ref, got = assert_same_as_expansion(c, {"x": rng.choice(Q4, (9, 2, G * n_in))}, 9)
    low = got.meta["lowering"]
    assert low["m->B"].endswith(", -W of 'm->A'") and low["p->A"].endswith(", -W of 'm->A'")
    assert low["p->B"].endswith(", W of 'm->A'") and "of" not in low["m->A"]
    assert low["x->D"].endswith("-W of 'x->C'") and "of" not in low["x->E"]
    assert np.array_equal(got.probes["A"]["v"] != 0, got.probes["B"]["v"] != 0)
    assert (got.spikes["A"] != 0).any() and (got.spikes["C"] != 0).any()


@pytest.mark.parametrize("equation", ["jd,jd->d", "id,d->id", "jhd,jhd->hd"])
def test_large_binary_products_count_by_byte_lanes(equation):
    """Binary products large enough for the int64 byte-lane sums (a & b summed over leading
    letters; the marginal of a's leading letters) equal numpy's einsum of the same spikes."""
    rng = np.random.default_rng(1)
    size = {"j": 2048, "i": 2048, "d": 64, "h": 2}
    a_sub, b_sub, o_sub = equation.replace("->", ",").split(",")
    steps, batch = 3, 4
    c = sa.Circuit("lanes")
    c.add_source("a", tuple(size[ch] for ch in a_sub))
    c.add_source("b", tuple(size[ch] for ch in b_sub))
    c.add_population("p", tuple(size[ch] for ch in o_sub), sa.IF(vth=1e9))
    c.connect_product("a", "b", "p", equation, weight=0.5, delay=0, levels=(1, 1))
    c.probe("p", ("v",))
    x = {k: rng.random((steps, batch, c.node(k).size)) < 0.6 for k in ("a", "b")}
    r = _run("torch", c, x, steps)
    a = x["a"].reshape(steps, batch, *c.node("a").shape) * 1.0
    b = x["b"].reshape(steps, batch, *c.node("b").shape) * 1.0
    value = np.einsum(f"tz{a_sub},tz{b_sub}->tz{o_sub}", a, b).reshape(steps, batch, -1)
    assert np.array_equal(r.probes["p"]["v"], np.cumsum(0.5 * value, 0))
    f = r.counts.elements["a*b->p"].fields
    assert np.array_equal(f["synaptic_acs"], value.sum(axis=2).astype(np.int64))
    assert np.array_equal(f["messages"], f["synaptic_acs"])
