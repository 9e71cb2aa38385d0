"""Structured circuits on chips without expanding them (issue 16, item 5).

Oracles: the flat placement code run on ``circuit.expand()`` (slices, axons, cores, traffic,
loads, per-core resources: the structured path computes them from the shapes and must agree
exactly on small circuits), hand counts (weight copies per token, a product's lines and
gates), and brute-force distinct counts of gate inputs."""
import dataclasses
import math

import numpy as np
import pytest
import scipy.sparse as sp

from hardware_models import structured as hs
from hardware_models.cost import cost
from hardware_models.partition import FlatCounter, make_slices
from hardware_models.placement import place, with_limits
from hardware_models.registry import get
from hardware_models.resources import resources
from hardware_models.uncertainty import monte_carlo
from hardware_models.virtual import VirtualCircuit
from hardware_models.workload import as_view
from spikeattn import IF, Circuit, EventCounts, simulate
from spikeattn.ir.neurons_convert import MultiThresholdIF, TernaryIF


def nnz(w) -> int:
    return int(sp.csr_matrix(w).nnz)


def mt(signed, levels=2):
    return MultiThresholdIF(vth=1.0, levels=levels, signed=signed)


def build(kind: str, seed: int = 0, T: int = 4) -> Circuit:
    """A small circuit holding one structured kind (or all of them: ``"mixed"``)."""
    rng = np.random.default_rng(seed)
    c = Circuit(f"s_{kind}")
    c.add_source("x", (T, 5), encoder="spikes")
    if kind in ("shared", "mixed", "index", "product", "product_masked", "product_ternary"):
        W = rng.standard_normal((7, 5))
        W[rng.random(W.shape) < 0.3] = 0
        c.add_population("h", (T, 7), mt(True))
        c.connect_shared("x", "h", W, scale=rng.uniform(0.5, 1.5, T))
    if kind in ("index", "mixed"):
        c.add_population("r", (T * 7,), IF(vth=1.0))
        c.connect_index("h", "r", rng.permutation(T * 7), weights=rng.standard_normal(T * 7), message="count")
        c.connect_index("x", "r", np.where(rng.random(T * 7) < 0.6, rng.integers(0, T * 5, T * 7), -1), name="sel")
    if kind.startswith("product") or kind == "mixed":
        H, dh = 2, 3
        model_b = TernaryIF(vth=1.0) if kind == "product_ternary" else mt(True, 1)
        c.add_population("q", (T, H, dh), mt(True))
        c.add_population("k", (T, H, dh), model_b)
        c.connect_shared("h", "q", rng.standard_normal((H * dh, 7)))
        c.connect_shared("h", "k", rng.standard_normal((H * dh, 7)))
        c.add_population("s", (H, T, T), mt(False))
        mask = np.tril(np.ones((T, T), bool)) if kind in ("product_masked", "mixed") else None
        c.connect_product("q", "k", "s", "ihd,jhd->hij", weight=0.5, mask=mask)
        if kind == "mixed":
            c.add_population("v", (T, H, dh), mt(True))
            c.connect_shared("h", "v", rng.standard_normal((H * dh, 7)))
            c.add_population("o", (T, H, dh), mt(True))
            c.connect_product("s", "v", "o", "hij,jhd->ihd")
            c.connect("o", "r", rng.standard_normal((T * 7, T * H * dh)) * (rng.random((T * 7, T * H * dh)) < .2))
    if kind in ("conv", "mixed"):
        c.add_source("img", (2, 5, 5), encoder="spikes")
        K = rng.standard_normal((3, 2, 3, 3))
        K[0, 1] = 0
        K[2, :, 0, 0] = 0
        c.add_population("cv", (3, 3, 3), IF(vth=1.0))
        c.connect_conv("img", "cv", K, input_hw=(5, 5), stride=(1, 1), padding=(0, 0))
        c.add_population("cv2", (2, 3, 3), IF(vth=1.0))
        c.connect_conv("cv", "cv2", rng.standard_normal((2, 3, 3, 3)), input_hw=(3, 3), padding=(1, 1), name="c2")
    return c


def inputs(c: Circuit, steps: int, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    return {n: (rng.random((steps, 1, s.size)) < 0.5).astype(float) for n, s in c.sources.items()}


def on(chip: str, **lim):
    """The chip with some core limits replaced (a HardwareModel, so resources() takes it)."""
    hw = get(chip)
    return dataclasses.replace(hw, limits=dataclasses.replace(hw.limits, **lim))


KINDS = ["shared", "index", "conv", "product", "product_masked", "product_ternary", "mixed"]
CHIPS = [on("loihi", neurons=40, fan_in=60, synaptic_memory_bytes=400, fan_out=None),
         on("loihi2", neurons=16, fan_in=None, fan_out=None),
         on("truenorth", neurons=30, fan_out=None),
         on("spinnaker2", synaptic_memory_bytes=3000, weight_sharing=False)]


def slices_of(pl):
    return [(s.pop, s.start, s.stop, s.synapse_bytes) for s in pl.slices]


def _outcome(fn):
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - compared by type and message
        return exc


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("chip", CHIPS, ids=lambda h: h.name)
def test_exact_structured_placement_equals_the_flat_code_on_the_expansion(kind, chip):
    c = build(kind)
    e = c.expand()
    res = simulate(c, inputs(c, 3), 3, engine="numpy")          # counts of every expanded element
    flat = _outcome(lambda: place(e, chip, res.counts))
    st = _outcome(lambda: place(c, chip, res.counts, exact=True))
    if isinstance(flat, Exception) or isinstance(st, Exception):
        assert type(flat) is type(st) and str(flat) == str(st)
        return
    assert st.exact and st.virtual.neurons == sum(p.size for p in e.populations.values())
    assert slices_of(st) == slices_of(flat)
    assert all(np.array_equal(a.axons, b.axons) for a, b in zip(flat.slices, st.slices))
    assert st.core_of_slice == flat.core_of_slice and st.cores_used == flat.cores_used
    assert st.traffic(res.counts).to_dict() == flat.traffic(res.counts).to_dict()
    assert st.core_loads(res.counts) == flat.core_loads(res.counts)
    rf, rs = resources(e, chip, res.counts).to_dict(), resources(c, chip, res.counts, exact=True).to_dict()
    rs.pop("structured")
    assert rs == rf


@pytest.mark.parametrize("kind", ["product", "mixed"])
def test_energy_report_of_a_small_structured_circuit_is_the_expansions(kind):
    c = build(kind)
    res = simulate(c, inputs(c, 3), 3, engine="numpy")
    a, b = cost(res.counts, "loihi", circuit=c.expand()), cost(res.counts, "loihi", circuit=c)
    assert a.breakdown == b.breakdown and a.latency_s == b.latency_s


@pytest.mark.parametrize("kind", KINDS)
def test_aggregate_slices_are_the_flat_slices_and_every_packed_core_fits(kind):
    """The ordered packing of large circuits, run on small ones: the same slices as the flat code
    (synapses, memory, axons per slice), and each core fits under its exact union of axons."""
    lim = with_limits("loihi", neurons=24, fan_in=50, synaptic_memory_bytes=300)
    c = build(kind)
    e = c.expand()
    pl = _outcome(lambda: place(c, "loihi", limits=lim, exact=False))
    if isinstance(pl, Exception):
        with pytest.raises(type(pl)):
            place(e, "loihi", limits=lim)
        return
    flat = make_slices(e, lim)
    got = [(n, int(a), int(b)) for n, p in pl.pops.items() for a, b in zip(p["edges"][:-1], p["edges"][1:])]
    assert got == [(s.pop, s.start, s.stop) for s in flat]
    assert [m for p in pl.pops.values() for m in p["memory"]] == [s.synapse_bytes for s in flat]
    assert [a for p in pl.pops.values() for a in p["axons"]] == [len(s.axons) for s in flat]
    core = np.concatenate([p["core"] for p in pl.pops.values()])
    assert core.max() + 1 == pl.cores_used and np.all(np.diff(core) >= 0)
    for k in range(pl.cores_used):
        on_k = [s for s, kk in zip(flat, core) if kk == k]
        assert sum(s.size for s in on_k) <= lim.neurons
        assert sum(s.synapse_bytes for s in on_k) <= lim.synaptic_memory_bytes
        assert len(np.unique(np.concatenate([s.axons for s in on_k]))) <= lim.fan_in
    per = pl.per_core()
    assert per["neurons"].sum() == sum(p.size for p in e.populations.values())
    assert per["synapses"].sum() == sum(nnz(p.weights) for p in e.projections.values())


def test_aggregate_messages_and_sampled_destinations_equal_a_count_on_the_expansion():
    """Aggregate traffic: the messages (one per spike and destination core) equal a direct
    count over the expansion's synapses under the same core assignment (spikes spread evenly
    over each population); each sampled core's destination cores are exactly its neurons'."""
    lim = with_limits("loihi", neurons=24, fan_in=50, synaptic_memory_bytes=300, fan_out=None)
    c = build("mixed")
    counts = simulate(c, inputs(c, 3), 3, engine="numpy").counts
    e = c.expand()
    ag = place(c, "loihi", counts, limits=lim, exact=False)
    core = {n: ag.core_of(n, np.arange(p.size)) for n, p in e.populations.items()}
    msgs, dests = 0.0, {}
    for p in e.projections.values():
        w = sp.coo_matrix(p.weights)
        pairs = np.unique(w.col.astype(np.int64) * ag.cores_used + core[p.post][w.row])
        pre, k = pairs // ag.cores_used, pairs % ag.cores_used
        msgs += len(pairs) * counts.elements[p.pre].fields["spikes"].sum() / e.node(p.pre).size
        if p.pre in core:
            for a, b in zip(core[p.pre][pre], k):
                dests.setdefault(int(a), set()).add(int(b))
    t = ag.traffic(counts)
    assert math.isclose(t.intra_core_messages + t.inter_core_messages, msgs, rel_tol=1e-9)
    samples = ag.samples()
    assert samples
    for k, smp in samples.items():
        assert smp["dest_cores"] == len(dests.get(k, ()))
    assert ag.fan_out_estimate() == max(len(dests.get(k, ())) for k in samples)
    loads = ag.core_loads(counts)
    assert sum(ld["count"] for ld in loads) == ag.cores_used
    acs = sum(counts.elements[n].fields["synaptic_acs"].sum() for n in e.projections)
    assert math.isclose(sum(ld["acs"] * ld["count"] for ld in loads), acs, rel_tol=1e-9)


# --------------------------------------------------------------------------- hand counts
def shared_only(G=6, w=None):
    w = np.arange(1, 13, dtype=float).reshape(3, 4) if w is None else w
    c = Circuit("shared_only")
    c.add_source("x", (G, w.shape[1]), encoder="spikes")
    c.add_population("y", (G, w.shape[0]), IF(vth=1.0))
    c.connect_shared("x", "y", w)
    return c


def test_a_chip_without_weight_sharing_stores_every_tokens_copy():
    c = shared_only()                              # W 3 x 4 dense (12 weights), 6 tokens
    rep = resources(c, on("loihi", neurons=6), exact=True)
    assert rep.cores == 3                          # 18 neurons, 6 per core: 2 tokens per core
    assert [r["synapses"] for r in rep.per_core] == [24, 24, 24]
    assert [r["weight_memory_bytes"] for r in rep.per_core] == [24.0, 24.0, 24.0]   # G x nnz(W) = 72 in all
    assert [r["axons_in"] for r in rep.per_core] == [8, 8, 8]


def test_a_chip_with_weight_sharing_stores_w_once_per_core():
    c = shared_only()
    hw = on("spinnaker1", neurons=6)               # weight_sharing=True (sPyNNaker's local-only kernels)
    assert hw.limits.weight_sharing and not get("loihi2").limits.weight_sharing
    rep = resources(c, hw, exact=True)
    assert rep.cores == 3
    assert [r["synapses"] for r in rep.per_core] == [24, 24, 24]
    assert [r["weight_memory_bytes"] for r in rep.per_core] == [48.0, 48.0, 48.0]    # 12 weights x 4 B, once
    one = resources(c, on("spinnaker1", neurons=9), exact=True)   # 9 neurons: tokens 0-2 and 3-5 per core
    assert [r["weight_memory_bytes"] for r in one.per_core] == [48.0, 48.0]
    tri = shared_only(w=np.tril(np.ones((3, 4))))       # rows hold 1, 2, 3 weights
    stored = VirtualCircuit(tri).projections["x->y"].stored
    #   [0,2): rows {0,1} = 3; [2,4): row 2 of token 0 and row 0 of token 1 = 3 + 1; [4,6): rows {1,2} = 5
    assert stored(np.array([0, 2, 4, 6]), True).tolist() == [3, 4, 5]
    assert stored(np.array([0, 2, 4, 6]), False).tolist() == [3, 4, 5]
    #   [1,4): rows 1-2 of token 0 and row 0 of token 1: every row once = 6; [4,13): 3+ tokens: 6 shared,
    #   5 + 6 + 6 + 1 = 18 without sharing
    assert stored(np.array([1, 4, 13]), True).tolist() == [6, 6]
    assert stored(np.array([1, 4, 13]), False).tolist() == [6, 18]
    rep = resources(tri, on("spinnaker1", neurons=9), exact=True)
    assert [r["weight_memory_bytes"] for r in rep.per_core] == [24.0, 24.0]        # 6 weights x 4 B per core
    assert [r["synapses"] for r in rep.per_core] == [18, 18]
    assert rep.structured["weight_sharing"] is True


def test_product_realisation_counted_by_hand():
    """QKᵀ of q (2 tokens, 1 head, 2 dims; 2 signed levels) and k (ternary): terms = 1 x 2 x 2 x 2 = 8,
    combinations = 2 signs x 2 levels x 2 signs = 8, gates = 64, lines = 2 x 2 x 4 = 16,
    synapses = lines + 3 gates = 208; the output s (1, 2, 2) gets 8 x 2 gate synapses each."""
    c = Circuit("qk")
    c.add_source("x", 4, encoder="spikes")
    c.add_population("q", (2, 1, 2), mt(True, 2))
    c.add_population("k", (2, 1, 2), TernaryIF(vth=1.0))
    c.connect("x", "q", np.eye(4))
    c.connect("x", "k", np.eye(4))
    c.add_population("s", (1, 2, 2), mt(False))
    c.connect_product("q", "k", "s", "ihd,jhd->hij", name="qk")
    vc = VirtualCircuit(c)
    assert vc.realisation()["qk"] == {"lines": 16, "gates": 64, "combinations": 8, "terms": 8, "synapses": 208,
                                      "L_a": 2, "L_b": 1, "signed_a": True, "signed_b": True}
    assert vc.synapses == 208 + 8 == sum(nnz(p.weights) for p in c.expand().projections.values())
    assert vc.neurons == 8 + 4 + 16 + 64
    assert vc.projections["qk"].synapses(np.array([0, 1, 2, 3, 4])).tolist() == [16, 16, 16, 16]
    rep = resources(c, on("loihi", neurons=32, fan_in=None), exact=True)
    assert rep.structured["neurons"] == 92 and rep.structured["synapses"] == 216
    assert sum(r["neurons"] for r in rep.per_core) == 92
    assert rep.cores == 4                          # 92 neurons, 32 per core, and the 64 gates fill two


@pytest.mark.parametrize("eq,sa,sb,so", [("ihd,jhd->hij", (3, 2, 2), (3, 2, 2), (2, 3, 3)),
                                         ("hij,jhd->ihd", (2, 3, 3), (3, 2, 2), (3, 2, 2)),
                                         ("ab,bc->ac", (3, 4), (4, 2), (3, 2)),
                                         ("ab,b->a", (3, 4), (4,), (3,))])
@pytest.mark.parametrize("masked", [False, True])
def test_gate_input_counts_equal_a_brute_force_count(eq, sa, sb, so, masked):
    rng = np.random.default_rng(0)
    c = Circuit("p")
    c.add_source("x", 1, encoder="spikes")
    c.add_population("a", sa, mt(True, 3))
    c.add_population("b", sb, mt(False, 2))
    c.add_population("o", so, IF(vth=1.0))
    mask = rng.random(so) < 0.6 if masked else None
    c.connect_product("a", "b", "o", eq, mask=mask, name="P")
    vc, e = VirtualCircuit(c), c.expand()
    for name in ("P.a_lines", "P.lines_gates", "P.b_gates", "P"):
        conn, flat = vc.projections[name], e.projections[name]
        n = flat.shape[0]
        for k in (1, 2, 5, 7, n):
            edges = np.unique(np.linspace(0, n, k + 1).round().astype(np.int64))
            fc = FlatCounter(n, [(flat.pre, 0, flat.weights)])
            assert conn.axon_counts(edges).tolist() == fc.axon_counts(edges).tolist(), (name, k)
            assert conn.synapses(edges).tolist() == fc.synapses(edges).tolist(), (name, k)
    assert list(vc.projections) == list(e.projections)
    assert list(vc.nodes()) == list(e.nodes())


# --------------------------------------------------------------------------- cost path
def structured_only_counts(c: Circuit, counts: EventCounts) -> dict:
    """The counts an engine that runs the structured circuit gives: its own elements only, with
    the meta spikeattn.counting gives them (``"structured": kind``), totals as counted."""
    from spikeattn.counting import new_counts
    d = counts.to_dict()
    meta = new_counts(c, counts.steps, counts.batch).to_dict()["elements"]
    d["elements"] = {n: {**e, "meta": meta[n]["meta"]} for n, e in d["elements"].items() if n in meta}
    assert any(e["meta"].get("structured") == "product" for e in d["elements"].values())
    return d


def test_cost_of_structured_counts_places_from_the_shapes_and_never_expands(monkeypatch):
    c = build("mixed")
    counts = simulate(c, inputs(c, 3), 3, engine="numpy").counts
    only = structured_only_counts(c, counts)

    def refuse(*a, **k):
        raise AssertionError("expand() called")
    monkeypatch.setattr(Circuit, "expand", refuse)
    full = cost(counts, "loihi", circuit=c)               # counts hold the realisation's elements
    low = cost(only, "loihi", circuit=c)                  # they do not: lower bounds added
    assert any("lower bounds" in n for n in low.notes) and not any("lower bounds" in n for n in full.notes)
    assert 0 < low.total_j <= full.total_j
    assert low.placement["cores_used"] == full.placement["cores_used"]
    exact = counts.to_dict()["elements"]
    lb = hs.with_realisation(as_view(only), place(c, "loihi").virtual)[0]
    for n, e in lb.elements.items():                      # every added total is at most the true one
        if e.meta.get("realises"):
            for f, v in e.totals.items():
                if f != "neuron_updates_idle":
                    assert v <= exact[n]["totals"][f], (n, f)
            if e.kind == "population":
                assert e.totals["spikes"] <= exact[n]["totals"]["spikes"]
    gates = [n for n in lb.elements if n.endswith(".gates")]
    assert gates and all(lb.elements[n].totals["spikes"] == exact[n]["totals"]["spikes"] for n in gates)
    mc = monte_carlo(only, "loihi", circuit=c, n=50)
    assert mc["total_j"]["median"] > 0
    no_circuit = cost(only, "loihi")
    assert any("gate realisation" in n for n in no_circuit.notes)


def test_large_structured_circuit_is_placed_in_aggregate_without_expanding(monkeypatch):
    """A circuit over the exact-partition bounds is packed in order; counts cost on it."""
    monkeypatch.setattr(hs, "EXACT_MAX_SLICES", 10)
    monkeypatch.setattr(Circuit, "expand", lambda *a, **k: (_ for _ in ()).throw(AssertionError("expanded")))
    c = build("mixed")
    pl = place(c, "loihi")
    assert not pl.exact and pl.cores_used >= 1
    rep = resources(c, "loihi")
    assert rep.structured["method"].startswith("aggregate") and rep.cores == pl.cores_used
    assert rep.structured["totals"]["neurons"] == VirtualCircuit(c).neurons
    counts = EventCounts(2, 1)
    for n, node in c.nodes().items():
        counts.add_element(n, "population" if n in c.populations else "source", {"size": node.size})
        counts.elements[n].fields["spikes"][:] = 1
    for n, p in c.projections.items():
        counts.add_element(n, "projection", {"pre": p.pre, "post": p.post, "synapses": p.synapse_count(),
                                             "structured": getattr(p, "kind", None) or "flat"})
        counts.elements[n].fields["synaptic_acs"][:] = 3
        counts.elements[n].fields["messages"][:] = 1
    r = cost(counts, "loihi2", circuit=c)
    assert r.total_j > 0 and r.latency_s > 0 and r.placement["cores_used"] > 0


def test_the_benchmarks_vit_shape_places_as_its_expansion_when_tiny():
    """benchmarks/structured_placement.py's hand-built ViT (quantisers before every linear layer
    and on both operands of QKᵀ and A·V, shared layers, residual sums, products) at a tiny size."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from structured_placement import report, vit_structured
    c = vit_structured(tokens=3, width=4, heads=2, layers=1, mlp=6, patch_dim=5, classes=3, levels=2)
    kinds = sorted(getattr(p, "kind", "flat") for p in c.projections.values())
    assert kinds.count("product") == 2 and kinds.count("shared") == 8 and kinds.count("index") == 3
    chip = on("loihi", neurons=64, fan_in=80, synaptic_memory_bytes=600)
    e = c.expand()
    rf, rs = resources(e, chip).to_dict(), resources(c, chip, exact=True).to_dict()
    info = rs.pop("structured")
    assert rs == rf
    assert info["neurons"] == sum(p.size for p in e.populations.values())
    assert info["synapses"] == sum(nnz(p.weights) for p in e.projections.values())
    row = report(c, "loihi")
    assert row["cores"] == resources(c, "loihi").cores and row["neurons"] == info["neurons"]


@pytest.mark.parametrize("kind", ["shared", "index", "conv"])
def test_dense_equivalent_of_a_structured_circuit_computes_its_expansions(kind):
    torch = pytest.importorskip("torch")
    from hardware_models.dense_equivalent import dense_model
    c = build(kind)
    rng = np.random.default_rng(3)
    x = {n: torch.as_tensor(rng.random((2, s.size)), dtype=torch.float32) for n, s in c.sources.items()}
    with torch.no_grad():
        a, b = dense_model(c)(**x), dense_model(c.expand())(**x)
    assert a.keys() == b.keys()
    for n in a:
        assert torch.allclose(a[n], b[n], atol=1e-5), n


def test_dense_equivalent_product_is_the_einsum_of_the_activations():
    torch = pytest.importorskip("torch")
    from hardware_models.dense_equivalent import dense_model
    c = build("product_masked")
    x = {"x": torch.rand(2, c.node("x").size)}
    with torch.no_grad():
        out = dense_model(c)(**x)
    q, k = out["q"].reshape(2, 4, 2, 3).numpy(), out["k"].reshape(2, 4, 2, 3).numpy()
    s = 0.5 * np.einsum("zihd,zjhd->zhij", q, k) * np.tril(np.ones((4, 4)))
    assert np.allclose(out["s"].numpy().reshape(2, 2, 4, 4), np.maximum(s, 0), atol=1e-5)


def test_energy_block_of_structured_counts_runs_every_kind_of_model():
    pytest.importorskip("torch")
    from hardware_models.cli import energy_block
    c = build("mixed")
    only = structured_only_counts(c, simulate(c, inputs(c, 3), 3, engine="numpy").counts)
    block = energy_block(c, only, ["loihi", "truenorth", "spinnaker2", "asic45nm", "h100"], batches=(1, 8), draws=20)
    assert {"loihi", "truenorth", "spinnaker2", "asic45nm", "h100", "batch_study"} <= set(block)
    assert block["loihi"]["placement"]["cores_used"] > 0


def test_torch_engine_counts_cost_like_the_structured_elements_of_the_expansions():
    pytest.importorskip("torch")
    c = build("mixed")
    x = inputs(c, 3)
    try:
        tc = simulate(c, x, 3, engine="torch").counts
    except Exception as exc:  # noqa: BLE001 - the engine is young: skip only if it cannot run this circuit
        pytest.skip(f"engine='torch' cannot run this circuit here: {exc}")
    only = structured_only_counts(c, simulate(c, x, 3, engine="numpy").counts)
    a, b = cost(tc, "loihi2", circuit=c), cost(only, "loihi2", circuit=c)
    assert a.breakdown == b.breakdown and a.latency_s == b.latency_s
