"""engine="torch" against the numpy engine: identical spikes, probes and EventCounts.

The circuits use dyadic weights and inputs (multiples of 1/16 and 1/8), so every synaptic
sum is exact and the BLAS summation order of the torch engine cannot flip a threshold tie;
the neuron updates are the numpy engine's own Dynamics functions run on tensors.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import spikeattn as sa
from spikeattn.dynamics import dynamics_for
from spikeattn.engines import engine_class
from spikeattn.errors import FixedPointOverflowError, MemoryLimitError, SpikeattnError, SpikeattnWarning
from spikeattn.ir import MultiThresholdIF, TernaryIF
from spikeattn.ir.neurons_extra import GradedReLU

torch = pytest.importorskip("torch")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

W16 = np.arange(-8, 17) / 16          # -0.5 .. 1.0 in steps of 1/16
G8 = np.arange(-8, 13) / 8            # graded source values -1 .. 1.5 in steps of 1/8


def _model(rng, kind):
    if kind == "lif":
        vth = rng.choice([0.5, 0.75, 1.0], int(rng.integers(2, 6))) if rng.random() < 0.3 else 0.75
        reset = str(rng.choice(["zero", "subtract"]))
        return sa.LIF(du=float(rng.choice([0.25, 0.5, 1.0])), dv=float(rng.choice([0.0, 0.125, 0.5])), vth=vth,
                      bias=float(rng.choice([0.0, 0.0625])), reset=reset,
                      refractory=int(rng.integers(0, 3)) if reset == "zero" else 0), \
            (len(vth) if np.ndim(vth) else int(rng.integers(2, 6)))
    n = int(rng.integers(2, 6))
    if kind == "if":
        return sa.IF(vth=float(rng.choice([0.5, 1.0])), bias=float(rng.choice([0.0, 0.125]))), n
    if kind == "graded_relu":
        return GradedReLU(vth=float(rng.choice([0.0, 0.25]))), n
    if kind == "ternary":
        return TernaryIF(vth=float(rng.choice([0.5, 1.0]))), n
    return MultiThresholdIF(vth=float(rng.choice([0.25, 0.5])), levels=int(rng.integers(1, 5)),
                            signed=bool(rng.random() < 0.5), bias=float(rng.choice([0.0, 0.125]))), n


def random_circuit(seed: int, steps: int = 30, batch: int = 3):
    """Every float model, binary / count / graded messages, delays 0-3, recurrence, several
    projections into one population, dense and sparse weights, probes."""
    rng = np.random.default_rng(seed)
    c = sa.Circuit(f"torch_random_{seed}")
    c.add_source("x", 6)
    c.add_source("g", 4, encoder="graded")
    sizes, graded = {"x": 6, "g": 4}, {"g"}
    kinds = ["lif", "if", "graded_relu", "ternary", "multi"]
    names = []
    for k in range(5):
        kind = kinds[int(rng.integers(0, len(kinds)))] if k else "lif"
        model, n = _model(rng, kind)
        name = f"p{k}"
        c.add_population(name, n, model)
        sizes[name] = n
        if kind == "graded_relu":
            graded.add(name)
        names.append(name)
        c.probe(name, tuple(model.state))
    for k, post in enumerate(names):
        earlier = ["x", "g"] + names[:k]
        for pre in earlier + names[k:]:
            forward = pre in earlier
            if rng.random() < (0.35 if forward else 0.75):
                continue
            # graded messages only feed forward (a graded loop would grow the bits of its values)
            message = str(rng.choice(["binary", "count", "graded"] if forward and pre in graded
                                     else ["binary", "count"]))
            w = rng.choice(W16, size=(sizes[post], sizes[pre]))
            w[rng.random(w.shape) < 0.3] = 0.0
            weights = sp.csr_matrix(w) if rng.random() < 0.3 else w
            delay = int(rng.integers(0, 4)) if forward else int(rng.integers(1, 4))
            c.connect(pre, post, weights, name=f"{pre}->{post}", delay=delay, message=message)
    inputs = {"x": rng.random((steps, batch, 6)) < 0.4, "g": rng.choice(G8, (steps, batch, 4))}
    return c, inputs, steps


def _run(engine, c, inputs, steps, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikeattnWarning)
        return sa.simulate(c, inputs, steps=steps, engine=engine, **options)


def assert_same(a, b, nodes=None):
    for n in (nodes or a.spikes):
        assert np.array_equal(a.spikes[n], b.spikes[n]), f"spikes of '{n}'"
    assert a.probes.keys() == b.probes.keys()
    for p, vs in a.probes.items():
        for v, arr in vs.items():
            assert np.array_equal(arr, b.probes[p][v]), f"probe {p}.{v}"
    assert a.counts == b.counts, a.counts.diff(b.counts)
    for pop in set(a.diagnostics) | set(b.diagnostics):
        fa, fb = a.diagnostics.get(pop, {}), b.diagnostics.get(pop, {})
        assert fa.keys() == fb.keys() and all(np.array_equal(fa[f], fb[f]) for f in fa), pop


@pytest.mark.parametrize("model", [sa.LIF(du=0.25, dv=0.5, vth=0.75, bias=0.0625),
                                   sa.LIF(du=0.5, vth=0.5, reset="zero", refractory=2), sa.IF(vth=1.0),
                                   GradedReLU(vth=0.25), TernaryIF(vth=0.5),
                                   MultiThresholdIF(vth=0.5, levels=3, signed=True, bias=0.125)],
                         ids=lambda m: m.kind)
def test_the_same_dynamics_functions_run_on_tensors(model):
    """step, carries, step_carries and check of one Dynamics on numpy arrays and on torch
    tensors give the same values (edge values included: -0.0, inf, NaN, huge)."""
    pop = sa.Population("p", 8, model)
    dyn = dynamics_for(model)
    params = dyn.params(pop)
    rng = np.random.default_rng(0)
    edge = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e308, 0.5, -1.25])
    state = {k: (np.tile(edge, (3, 1)) if v.dtype.kind == "f" else rng.integers(0, 3, (3, 8)))
             for k, v in dyn.init_state(pop, 3).items()}
    a_in = rng.choice(G8, (3, 8))
    tp = {k: torch.as_tensor(v) for k, v in params.items()}
    ts = {k: torch.as_tensor(v) for k, v in state.items()}
    ta = torch.as_tensor(a_in)
    with np.errstate(all="ignore"):
        s, new, carries = dyn.step_carries(params, state, a_in)
        checks = dyn.check(params, state, a_in, new)
        plain_carries = dyn.carries(params, state)
    t_s, t_new, t_carries = dyn.step_carries(tp, ts, ta)
    assert np.array_equal(s, t_s.numpy(), equal_nan=True) and s.dtype == t_s.numpy().dtype
    assert np.array_equal(carries, t_carries.numpy()) and np.array_equal(carries, plain_carries)
    for k in new:
        assert np.array_equal(new[k], t_new[k].numpy(), equal_nan=True), k
        assert np.array_equal(np.signbit(new[k]), np.signbit(t_new[k].numpy())), k
    t_checks = dyn.check(tp, ts, ta, t_new)
    assert checks.keys() == t_checks.keys() and all(np.array_equal(checks[k], t_checks[k].numpy()) for k in checks)


@pytest.mark.parametrize("seed", range(8))
def test_random_float_circuits_equal_numpy(seed):
    c, inputs, steps = random_circuit(seed)
    ref = _run("numpy", c, inputs, steps)
    got = _run("torch", c, inputs, steps)
    assert got.engine == "torch" and got.meta["dtype"] == "float64"
    assert_same(ref, got)
    assert got.spikes.keys() == ref.spikes.keys()
    assert sum(int(got.counts.total(f)) for f in ("synaptic_acs", "synaptic_macs")) > 0


@pytest.mark.parametrize("seed", [1, 6])
def test_sync_free_path_equals_numpy(seed, monkeypatch):
    """The path a GPU takes (no host syncs: no empty-step skips, received events asked of
    every arrival, every diagnostic checked element-wise), run on the CPU."""
    from spikeattn.engines.torch.loop import TorchRun
    monkeypatch.setattr(TorchRun, "host_syncs", False)
    c, inputs, steps = random_circuit(seed)
    assert_same(_run("numpy", c, inputs, steps), _run("torch", c, inputs, steps))


@pytest.mark.parametrize("host_syncs", [True, False])
def test_nonfinite_on_both_paths(host_syncs, monkeypatch):
    from spikeattn.engines.torch.loop import TorchRun
    monkeypatch.setattr(TorchRun, "host_syncs", host_syncs)
    c, inputs, steps = _nonfinite_circuit()
    assert_same(_run("numpy", c, inputs, steps), _run("torch", c, inputs, steps))


@pytest.mark.parametrize("host_syncs", [True, False])
@pytest.mark.parametrize("p_spike", [0.1, 0.9])
def test_large_sparse_projection_runs_as_csr_and_full_matrix_without_pattern(p_spike, host_syncs, monkeypatch):
    """A 5 % dense 300 x 400 matrix is lowered to torch CSR (on the CPU, few active pre
    neurons: their synapses gathered; many: the CSR product); a matrix without zeros needs no
    synapse pattern (every post neuron receives an event when any pre neuron spiked)."""
    from spikeattn.engines.torch.loop import TorchRun
    monkeypatch.setattr(TorchRun, "host_syncs", host_syncs)
    rng = np.random.default_rng(7)
    c = sa.Circuit("csr")
    c.add_source("x", 400)
    c.add_population("h", 300, sa.LIF(du=0.5, dv=0.25, vth=0.5))
    c.add_population("o", 20, GradedReLU(vth=0.25))
    w = sp.random(300, 400, density=0.05, random_state=3, data_rvs=lambda k: rng.choice(W16[W16 != 0], k))
    c.connect("x", "h", w.tocsr())
    c.connect("h", "o", rng.choice(W16[W16 != 0], (20, 300)), message="count", delay=2)
    inputs = {"x": rng.random((25, 2, 400)) < p_spike}
    ref, got = _run("numpy", c, inputs, 25), _run("torch", c, inputs, 25)
    assert got.meta["lowering"] == {"x->h": "csr", "h->o": "dense, full"}
    assert_same(ref, got)
    assert ref.counts.total("neuron_updates_active", elements=["o"]) > 0


def test_record_keeps_only_the_named_nodes():
    c, inputs, steps = random_circuit(3)
    ref = _run("numpy", c, inputs, steps)
    got = _run("torch", c, inputs, steps, record=["p1", "x"])
    assert set(got.spikes) == {"p1", "x"}
    assert_same(ref, got, nodes=["p1", "x"])
    assert got.meta["record"] == ["p1", "x"]


def test_float32_integrate_and_fire_equals_numpy():
    """IF neurons (no leak) with dyadic weights are exact in float32 too."""
    rng = np.random.default_rng(11)
    c = sa.Circuit("if32")
    c.add_source("x", 8)
    c.add_population("a", 6, sa.IF(vth=1.0))
    c.add_population("b", 4, MultiThresholdIF(vth=0.5, levels=3, signed=True))
    c.connect("x", "a", rng.choice(W16, (6, 8)))
    c.connect("a", "b", rng.choice(W16, (4, 6)), delay=0)
    c.connect("b", "a", rng.choice(W16, (6, 4)), message="count", delay=2)
    c.probe("b", ("v",))
    inputs = {"x": rng.random((30, 2, 8)) < 0.5}
    ref, got = _run("numpy", c, inputs, 30), _run("torch", c, inputs, 30, dtype="float32")
    assert got.meta["dtype"] == "float32" and got.probes["b"]["v"].dtype == np.float32
    for n in ref.spikes:
        assert np.array_equal(ref.spikes[n], got.spikes[n]), n
    assert np.array_equal(ref.probes["b"]["v"], got.probes["b"]["v"])
    assert ref.counts == got.counts


def _nonfinite_circuit():
    c = sa.Circuit("blowup")
    c.add_source("x", 2)
    c.add_population("h", 3, sa.IF(vth=1e308))
    c.connect("x", "h", np.full((3, 2), 1e308))
    return c, {"x": np.ones((4, 1, 2), bool)}, 4


def test_nonfinite_diagnostics_like_numpy():
    c, inputs, steps = _nonfinite_circuit()
    ref, got = _run("numpy", c, inputs, steps), _run("torch", c, inputs, steps)
    assert got.diagnostics["h"]["nonfinite:v"].sum() > 0
    assert_same(ref, got)
    with pytest.raises(FixedPointOverflowError, match="population 'h'"):
        sa.simulate(c, inputs, steps=steps, engine="torch", on_overflow="raise")


def test_memory_limit_refused_before_allocating(monkeypatch):
    """The estimate (spike records, state, rings, weights, counts) is checked before any
    tensor is made; the message states the bytes and the fixes."""
    import spikeattn.engines.torch.memory as mem
    c = sa.Circuit("huge")
    c.add_population("h", 1000, sa.LIF(bias=0.5))
    c.connect("h", "h", np.full((1000, 1000), 0.0625))
    eng = engine_class("torch")()
    with pytest.raises(MemoryLimitError, match=r"batch=1000000.*record=\["):
        eng.run(c, {}, steps=10_000, batch=1_000_000, seed=0)
    monkeypatch.setattr(mem, "available_bytes", lambda: 10_000)     # simulate's own check still passes
    with pytest.raises(MemoryLimitError, match="smaller batch"):
        sa.simulate(c, steps=5, batch=2, engine="torch")


@pytest.mark.parametrize("option,value", [("device", "tpu"), ("device", 3), ("dtype", "float16"),
                                          ("record", "h"), ("record", [1]), ("on_overflow", "ignore")])
def test_option_errors_name_the_option(option, value):
    with pytest.raises(SpikeattnError, match=option):
        engine_class("torch")(**{option: value})


def test_record_of_an_unknown_node_and_unknown_options():
    c, inputs, steps = random_circuit(0)
    with pytest.raises(SpikeattnError, match="record.*'nope'"):
        sa.simulate(c, inputs, steps=steps, engine="torch", record=["nope"])
    with pytest.raises(SpikeattnError, match="fused"):
        sa.simulate(c, inputs, steps=steps, engine="torch", fused=True)


def test_fixed_point_refused_with_the_reason():
    c = sa.Circuit("fx")
    c.add_source("x", 1)
    c.add_population("n", 1, sa.LoihiLIF())
    c.connect("x", "n", np.ones((1, 1)))
    with pytest.raises(SpikeattnError, match="numpy-only.*numpy"):
        sa.simulate(c, {"x": np.ones((2, 1), bool)}, steps=2, engine="torch")


@needs_cuda
def test_cuda_float64_equals_numpy():
    c, inputs, steps = random_circuit(5)
    assert_same(_run("numpy", c, inputs, steps), _run("torch", c, inputs, steps, device="cuda"))


@needs_cuda
def test_cuda_float32_integrate_and_fire_equals_numpy():
    rng = np.random.default_rng(2)
    c = sa.Circuit("if32cuda")
    c.add_source("x", 64)
    c.add_population("a", 300, sa.IF(vth=1.0))
    c.connect("x", "a", sp.random(300, 64, density=0.5, random_state=1,
                                  data_rvs=lambda k: rng.choice(W16[W16 != 0], k)).tocsr())
    inputs = {"x": rng.random((20, 4, 64)) < 0.3}
    ref, got = _run("numpy", c, inputs, 20), _run("torch", c, inputs, 20, device="cuda", dtype="float32")
    assert np.array_equal(ref.spikes["a"], got.spikes["a"]) and ref.counts == got.counts


def test_torch_namespace_where_with_a_scalar_gives_numpy_values_and_torch_dtypes():
    """xp.where wraps a Python scalar as a 0-d tensor (torch's scalar path is slower): the
    values are numpy's and the dtype is the one torch.where gives the same pair."""
    from spikeattn.dynamics.xp import TorchNamespace
    xp = TorchNamespace()
    x = np.array([1.5, -2.0, 0.25, -0.0])
    c = x > 0
    tx, tc, ti = torch.as_tensor(x), torch.as_tensor(c), torch.tensor([1, -2, 3, 0])
    for a, b, na, nb in ((tx, 0.0, x, 0.0), (0.0, tx, 0.0, x), (tx, 0, x, 0), (ti, 0.5, ti.numpy(), 0.5),
                         (-1.0, ti, -1.0, ti.numpy())):
        got, ref = xp.where(tc, a, b), torch.where(tc, a, b)
        assert got.dtype == ref.dtype and torch.equal(got, ref)
        assert np.array_equal(got.numpy(), np.where(c, na, nb))


@pytest.mark.parametrize("batch, size, p", [(2, 1 << 18, 0.3), (1, (1 << 19) + 8, 1.0), (3, 255 * 8 * 300 + 24, 0.5),
                                            (2, 1000, 0.5), (1 << 6, 1 << 13, 0.9)])
def test_count_true_counts_every_true_entry(batch, size, p):
    """The SWAR count (int64 words, byte lanes of at most 255 words, the remainder words) and
    the plain byte sum equal numpy's count, all-true masks (full lanes) included."""
    from spikeattn.engines.torch.counters import count_true
    mask = np.random.default_rng(size).random((batch, size)) < p
    out = torch.zeros(batch, dtype=torch.int32)
    count_true(torch, torch.as_tensor(mask), out)
    assert out.tolist() == mask.sum(axis=1).tolist()


@pytest.mark.parametrize("batch, groups, p", [(2, 300, 16), (3, 1 << 14, 64), (4, 200, 1024), (2, 7, 12)])
def test_group_count_sums_each_feature_over_the_groups(batch, groups, p):
    """Byte lanes of int64 words over chunks of at most 255 groups (and the plain byte sum)
    equal numpy's per-feature count."""
    from spikeattn.engines.torch.counters import group_count
    mask = np.random.default_rng(groups).random((batch, groups * p)) < 0.6
    mask[0, :p * min(groups, 255)] = True                  # a full lane
    got = group_count(torch, torch.as_tensor(mask), p)
    assert got.tolist() == mask.reshape(batch, groups, p).sum(axis=1).tolist()
