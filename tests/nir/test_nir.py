"""NIR interchange (issue 10 item 6): circuit -> NIR -> circuit is equal; a graph without our
metadata (as another tool writes it) imports from the ODE parameters and runs the same
spikes; a network exported by snnTorch's own exporter imports and gives snnTorch's spikes
(forward Euler with snnTorch's dt = 1e-4 and its subtract-before-leak reset); nodes outside
the subset are refused with a message naming the node and the nearest that maps.

Oracles: the original circuit (equality, spikes from the numpy engine), and snnTorch 1.0
itself (its ``Leaky`` layers run step by step in torch)."""
import numpy as np
import pytest
import scipy.sparse as sp

import spikeattn as sa
from spikeattn.errors import InputError, UnsupportedFeatureError

nir = pytest.importorskip("nir", reason="NIR interchange needs the 'nir' extra (pip install 'spikeattn[nir]')")
from spikeattn import nir as snir  # noqa: E402


def _circuit():
    rng = np.random.default_rng(0)
    c = sa.Circuit("nir_demo", dt=1e-3)
    c.add_source("x", 6)
    c.add_population("h", 5, sa.LIF(du=0.5, dv=0.25, vth=1.0, bias=0.125), initial={"v": 0.5, "u": 0.25})
    c.add_population("o", 4, sa.LIF(du=1.0, dv=np.array([0.5, 0.25, 0.125, 0.5]), vth=0.75))
    c.add_population("i", 3, sa.IF(reset="zero", vth=1.5))
    c.connect("x", "h", rng.choice([0.0, 0.5, 0.75, -0.25], (5, 6)), name="x->h")
    c.connect("h", "o", sp.csr_matrix(rng.choice([0.0, 0.0, 1.0, 0.5], (4, 5))), delay=3, name="h->o")
    c.connect("o", "i", rng.choice([0.5, 1.0], (3, 4)), delay=0, name="o->i")
    c.connect("i", "h", -np.ones((5, 3)) * 0.5, delay=2, name="i-|h")
    c.probe("h", ("u", "v"))
    c.expose("out", "i")
    c.meta["note"] = "round trip"
    return c


def _strip(graph):
    for node in graph.nodes.values():
        node.metadata = {}
    graph.metadata = {}
    return graph


def test_round_trip_in_memory_and_through_a_file(tmp_path):
    c = _circuit()
    g = snir.export(c)
    assert isinstance(g, nir.NIRGraph)
    assert isinstance(g.nodes["h"], nir.CubaLIF) and isinstance(g.nodes["o"], nir.LIF)
    assert isinstance(g.nodes["i"], nir.IF) and isinstance(g.nodes["h->o.delay"], nir.Delay)
    np.testing.assert_allclose(g.nodes["h->o.delay"].delay, 3e-3)
    assert snir.import_(g) == c
    snir.write(c, tmp_path / "c.nir")
    back = snir.read(tmp_path / "c.nir")
    assert back == c and back.projections["h->o"].sparse


def test_foreign_graph_imports_from_the_ode_parameters_and_runs_the_same_spikes():
    c = _circuit()
    g = _strip(snir.export(c))
    with pytest.raises(InputError, match="dt="):
        snir.import_(g)
    d = snir.import_(g, dt=1e-3)
    assert d.populations["h"].model.du == pytest.approx(0.5) and d.populations["h"].model.bias == pytest.approx(0.125)
    assert d.projections["h->o"].delay == 3 and d.projections["o->i"].delay == 0
    x = np.random.default_rng(1).random((80, 3, 6)) < 0.4
    inputs = {"x": x}
    # the foreign path has no initial state (NIR carries none): compare with a zero-start copy
    c0 = _circuit()
    c0.populations["h"].initial = {}
    ref = sa.simulate(c0, inputs, 80, engine="numpy")
    got = sa.simulate(d, inputs, 80, engine="numpy")
    for n in c.populations:
        assert 0.02 < ref.spikes[n].mean() < 0.9, n
        np.testing.assert_array_equal(got.spikes[n], ref.spikes[n], err_msg=n)


def test_snntorch_exported_network_gives_snntorchs_spikes():
    torch = pytest.importorskip("torch", reason="needs torch (extra 'torch')")
    snn = pytest.importorskip("snntorch", reason="needs snntorch (extra 'torch')")
    pytest.importorskip("nirtorch", reason="snnTorch's NIR exporter needs nirtorch (extra 'torch')")
    from snntorch import utils
    from snntorch.export_nir import export_to_nir
    g_ = torch.Generator().manual_seed(0)
    n_in, n_h, n_out, steps, batch = 8, 6, 4, 60, 3
    fc1, fc2 = torch.nn.Linear(n_in, n_h), torch.nn.Linear(n_h, n_out, bias=False)
    with torch.no_grad():        # dyadic weights: float32 (torch) and float64 (spikeattn) sums are exact
        fc1.weight.copy_(torch.randint(-4, 9, (n_h, n_in), generator=g_) / 8)
        fc1.bias.copy_(torch.randint(-2, 3, (n_h,), generator=g_) / 16)
        fc2.weight.copy_(torch.randint(-3, 9, (n_out, n_h), generator=g_) / 8)
    # per-neuron beta/threshold: snnTorch 1.0's exporter writes scalar ones that nir 1.0.8 cannot type.
    # The exporter writes tau = 1e-4 / (1 - beta) in float32, so the imported decay is exact to ~1e-7
    # only: a threshold off the dyadic grid keeps every membrane value clear of an exact tie.
    thr = 1.0 + 1.0 / 48
    lif1 = snn.Leaky(beta=torch.full((n_h,), 0.5), threshold=torch.full((n_h,), thr), init_hidden=True)
    lif2 = snn.Leaky(beta=torch.tensor([0.75, 0.5, 0.875, 0.75]), threshold=torch.full((n_out,), thr),
                     init_hidden=True, output=True)
    net = torch.nn.Sequential(fc1, lif1, fc2, lif2)
    graph = export_to_nir(net, torch.zeros(1, n_in), ignore_dims=[0])
    x = torch.rand((steps, batch, n_in), generator=g_) < 0.4
    utils.reset(net)
    mems = {"1": [], "3": []}
    with torch.no_grad():
        for t in range(steps):
            net(x[t].float())
            mems["1"].append(lif1.mem.clone())
            mems["3"].append(lif2.mem.clone())
    c = snir.import_(graph, dt=1e-4, reset="snntorch")
    c.probe("1", ("v",))
    c.probe("3", ("v",))
    src = next(iter(c.sources))
    res = sa.simulate(c, {src: x.numpy()}, steps, engine="numpy")
    for k in ("1", "3"):
        mem = torch.stack(mems[k]).numpy().astype(np.float64)
        spk = mem > np.float32(thr)
        assert 0.05 < spk.mean() < 0.8, (k, spk.mean())
        assert np.abs(mem - thr).min() > 1e-4          # no near-tie: the comparison is meaningful
        np.testing.assert_array_equal(res.spikes[k], spk, err_msg=k)
        # our v is snnTorch's mem after the subtraction snnTorch applies one step later
        np.testing.assert_allclose(res.probes[k]["v"] + thr * spk, mem, rtol=0, atol=1e-5, err_msg=k)


def test_nodes_outside_the_subset_are_refused_with_the_nearest():
    g = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([3])}),
                            "th": nir.Threshold(threshold=np.ones(3)),
                            "out": nir.Output(output_type={"output": np.array([3])})},
                     edges=[("in", "th"), ("th", "out")], type_check=False)
    with pytest.raises(UnsupportedFeatureError, match=r"'th' \(Threshold\).*Nearest that maps: IF"):
        snir.import_(g, dt=1e-3)
    f = sa.Circuit("fixed")
    f.add_source("x", 2)
    f.add_population("a", 2, sa.LoihiLIF())
    f.connect("x", "a", np.ones((2, 2), int))
    with pytest.raises(UnsupportedFeatureError, match="fixed.point.*float LIF"):
        snir.export(f)
    s = sa.Circuit("subtract")
    s.add_source("x", 2)
    s.add_population("a", 2, sa.IF())                      # IF resets by subtraction by default
    s.connect("x", "a", np.ones((2, 2)))
    with pytest.raises(UnsupportedFeatureError, match="population 'a'.*subtraction.*reset='zero'"):
        snir.export(s)


def test_cli_export_and_import(tmp_path, capsys):
    from spikeattn.cli import main
    c = _circuit()
    sa.save(c, tmp_path / "c.zip")
    assert main(["export", str(tmp_path / "c.zip"), "--nir", str(tmp_path / "c.nir")]) == 0
    assert main(["import", str(tmp_path / "c.nir"), "--out", str(tmp_path / "back.zip")]) == 0
    assert sa.load(tmp_path / "back.zip") == c
    assert "wrote" in capsys.readouterr().out


def test_structured_conv_exports_as_nir_conv2d_and_other_kinds_name_the_expansion():
    """A conv projection is NIR's Conv2d with the same kernel, stride and padding; weights
    shared across tokens, gathers and products have no NIR node: refused, naming expand()."""
    c = sa.Circuit("conv", dt=1e-3)
    c.add_source("x", (1, 4, 4))
    c.add_population("f", (2, 2, 2), sa.IF(reset="zero"))
    k = np.arange(8, dtype=float).reshape(2, 1, 2, 2) / 8
    c.connect_conv("x", "f", k, input_hw=(4, 4), stride=(2, 2), padding=(0, 0), name="conv")
    g = snir.export(c)
    node = g.nodes["conv"]
    assert isinstance(node, nir.Conv2d)
    assert np.array_equal(node.weight, k) and tuple(node.stride) == (2, 2) and tuple(node.padding) == (0, 0)
    assert ("x", "conv") in g.edges and ("conv.delay", "f") in g.edges
    s = sa.Circuit("shared")
    s.add_source("x", (3, 2))
    s.add_population("h", (3, 2), sa.IF(reset="zero"))
    s.connect_shared("x", "h", np.eye(2))
    with pytest.raises(UnsupportedFeatureError, match="structured 'shared'.*circuit.expand"):
        snir.export(s)
    assert isinstance(snir.export(s.expand()).nodes["x->h"], nir.Linear)
