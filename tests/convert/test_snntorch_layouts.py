"""snntorch_to_circuit follows the forward, wherever the layers are kept (nn.Sequential, two
nn.ModuleLists used in a loop, a hand-written forward with Conv2d and Synaptic), and the
circuit spikes as snnTorch does, step for step (oracle: snnTorch running the same model);
forwards that are not a chain are refused with a ParameterError, never a traceback."""
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs torch")
snn = pytest.importorskip("snntorch", reason="needs snntorch (extra 'torch')")

import spikeattn as sa  # noqa: E402
from spikeattn.convert.snntorch_path import snntorch_to_circuit  # noqa: E402
from spikeattn.errors import ParameterError, SpikeattnError  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from snntorch_layouts import LAYOUTS, ListNet, HandNet, snntorch_spikes  # noqa: E402


@pytest.mark.parametrize("reset,reset_delay", [("subtract", True), ("zero", True), ("zero", False)])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layout_spikes_equal_snntorch_step_for_step(layout, reset, reset_delay):
    cls, in_shape = LAYOUTS[layout]
    net = cls(7, reset=reset, reset_delay=reset_delay)
    x = (np.random.default_rng(3).random((4, 30, *in_shape)) < 0.3).astype(np.float32)
    ref = snntorch_spikes(net, torch.tensor(x))
    c = snntorch_to_circuit(net, input_shape=in_shape)
    r = sa.simulate(c, {"x": x.reshape(4, 30, -1).transpose(1, 0, 2).astype(np.float64)}, steps=30)
    pops = c.meta["snntorch"]["populations"]
    assert sorted(pops) == sorted(ref) and len(ref) == 3
    for name, spikes in ref.items():
        assert spikes.sum() > 0, name                                  # every layer does spike
        assert np.array_equal(r.spikes[pops[name]] != 0, spikes), name
    emulated = c.meta["snntorch"]["reset_emulation"]
    assert bool(emulated) == (reset == "subtract" and reset_delay)
    assert all(c.projections[n].pre == c.projections[n].post for n in emulated)


def test_forward_order_not_registration_order():
    c = snntorch_to_circuit(ListNet(1))             # lifs registered before fcs
    assert list(c.meta["snntorch"]["connections"]) == ["fcs.0", "fcs.1", "fcs.2"]
    assert [p.pre for n, p in c.projections.items() if n.startswith("fcs")] == ["x", "lifs_0", "lifs_1"]
    h = snntorch_to_circuit(HandNet(1), input_shape=(2, 6, 6))
    assert list(h.meta["snntorch"]["populations"]) == ["lif_conv", "syn_hid", "lif_out"]
    # a convolution's dense pairs: the 3x3 receptive fields inside the 6x6 map, 2 -> 4 channels
    inside = sum(min(i + 1, 5) - max(i - 1, 0) + 1 for i in range(6)) ** 2
    assert h.meta["snntorch"]["dense_synapses"]["conv"] == 2 * 4 * inside


class Skip(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.lif1 = torch.nn.Linear(4, 4), snn.Leaky(beta=0.5, init_hidden=True)
        self.fc2, self.lif2 = torch.nn.Linear(4, 4), snn.Leaky(beta=0.5, init_hidden=True, output=True)

    def forward(self, x):
        s1 = self.lif1(self.fc1(x))
        return self.lif2(self.fc2(s1 + x))                           # skip connection


class SkipOut(Skip):
    def forward(self, x):
        s1 = self.lif1(self.fc1(x))
        s2, m2 = self.lif2(self.fc2(s1))
        return s2 + s1, m2


class Shared(Skip):
    def forward(self, x):
        s1 = self.lif1(self.fc1(x))
        return self.lif2(self.fc1(s1))                               # fc1 twice


class Pool(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.lif1 = torch.nn.Conv2d(1, 2, 3, padding=1), snn.Leaky(beta=0.5, init_hidden=True)
        self.fc, self.lif2 = torch.nn.Linear(2 * 2 * 2, 3), snn.Leaky(beta=0.5, init_hidden=True, output=True)

    def forward(self, x):
        return self.lif2(self.fc(torch.nn.functional.max_pool2d(self.lif1(self.conv(x)), 2).flatten(1)))


@pytest.mark.parametrize("net,input_shape,match", [
    (Skip(), None, r"feeds 'fc2' with add\(the spikes of 'lif1', the input\)"),
    (SkipOut(), None, r"returns add\(the spikes of 'lif2', the spikes of 'lif1'\)"),
    (Shared(), None, "calls 'fc1' twice"),
    (Pool(), (1, 4, 4), "max_pool2d"),
    (Pool(), None, "input_shape"),                                  # a conv first: the shape is needed
    (Pool(), (3, 4, 4), "failed on a probe input"),                 # wrong shape: the forward's error
    (torch.nn.Sequential(torch.nn.Linear(3, 3), snn.RLeaky(beta=0.5, linear_features=3, init_hidden=True)),
     None, "RLeaky"),
    (torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.ReLU(), snn.Leaky(beta=0.5, init_hidden=True)),
     None, "relu"),
])
def test_non_chains_are_refused_with_the_module_and_the_fix(net, input_shape, match):
    with pytest.raises(ParameterError, match=match) as e:
        snntorch_to_circuit(net, input_shape=input_shape)
    assert isinstance(e.value, SpikeattnError) and "Fix:" in str(e.value)


def test_synaptic_bias_is_refused():
    net = torch.nn.Sequential(torch.nn.Linear(3, 3), snn.Synaptic(alpha=0.5, beta=0.5, init_hidden=True))
    with pytest.raises(ParameterError, match="bias=False"):
        snntorch_to_circuit(net)
