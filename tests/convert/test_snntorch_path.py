"""snnTorch stacks convert spike for spike (oracle: snnTorch itself), including the default
Leaky(reset_delay=True) through the delay-1 self-projection, nn.Sequential and ModuleList."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs torch")
snn = pytest.importorskip("snntorch", reason="needs snntorch (extra 'torch')")

import spikeattn as sa  # noqa: E402
from spikeattn.convert.snntorch_path import snntorch_to_circuit  # noqa: E402


def _run_snntorch(mods, x):
    """Spikes of every Leaky, (steps, batch, n), stepping the stack by hand."""
    mems = [m.init_leaky() if isinstance(m, snn.Leaky) else None for m in mods]
    out = {i: [] for i, m in enumerate(mods) if isinstance(m, snn.Leaky)}
    with torch.no_grad():
        for t in range(x.shape[0]):
            h = x[t]
            for i, m in enumerate(mods):
                if isinstance(m, snn.Leaky):
                    h, mems[i] = m(h, mems[i])
                    out[i].append(h.numpy().copy())
                else:
                    h = m(h)
    return {i: np.stack(v) for i, v in out.items()}


@pytest.mark.parametrize("reset_delay,mech", [(True, "subtract"), (True, "zero"), (False, "zero")])
@pytest.mark.parametrize("container", ["sequential", "modulelist"])
def test_spike_for_spike(reset_delay, mech, container):
    torch.manual_seed(0)
    # dyadic weights, betas and thresholds: float32 (snnTorch) and float64 (spikeattn) are both exact
    lin1, lin2 = torch.nn.Linear(6, 10), torch.nn.Linear(10, 4)
    for lin in (lin1, lin2):
        with torch.no_grad():
            lin.weight.copy_(torch.round(lin.weight * 64) / 32)
            lin.bias.copy_(torch.round(lin.bias * 16) / 32)
    mods = [lin1, snn.Leaky(beta=0.75, threshold=0.5, reset_mechanism=mech, reset_delay=reset_delay),
            lin2, snn.Leaky(beta=0.875, threshold=1.0, reset_mechanism=mech, reset_delay=reset_delay)]
    net = torch.nn.Sequential(*mods) if container == "sequential" else torch.nn.ModuleList(mods)
    rng = np.random.default_rng(1)
    x = (rng.random((30, 5, 6)) < 0.4).astype(np.float32)
    ref = _run_snntorch(mods, torch.tensor(x))
    c = snntorch_to_circuit(net)
    r = sa.simulate(c, {"x": x.astype(np.float64)}, steps=30)
    assert np.array_equal(r.spikes["1"] != 0, ref[1] != 0)
    assert np.array_equal(r.spikes["3"] != 0, ref[3] != 0)
    assert ref[3].sum() > 0 and ref[1].sum() > 0
    has_self = any(p.pre == p.post for p in c.projections.values())
    assert has_self == (reset_delay and mech == "subtract")


def test_neurobench_parity_with_init_hidden_layers_compares_every_sample():
    pytest.importorskip("neurobench", reason="needs neurobench (extra 'hardware')")
    from hardware_models.neurobench_parity import parity

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            # children in layer order (the converter reads them in registration order)
            self.fc1 = torch.nn.Linear(5, 8)
            self.lif1 = snn.Leaky(beta=0.5, threshold=0.5, init_hidden=True, reset_delay=False,
                                  reset_mechanism="zero")
            self.fc2 = torch.nn.Linear(8, 3)
            self.lif2 = snn.Leaky(beta=0.5, threshold=0.5, init_hidden=True, reset_delay=False,
                                  reset_mechanism="zero", output=True)     # NeuroBench wants (spk, mem)
            for lin in (self.fc1, self.fc2):
                with torch.no_grad():
                    lin.weight.copy_(torch.round(lin.weight * 32) / 16)
                    lin.bias.zero_()

        def forward(self, x):
            return self.lif2(self.fc2(self.lif1(self.fc1(x))))

    torch.manual_seed(3)
    x = (np.random.default_rng(2).random((6, 12, 5)) < 0.5).astype(np.float32)
    rep = parity(Net(), x)
    assert rep.spikes_equal, rep.notes
    assert not any("differ" in n for n in rep.notes)


@pytest.mark.parametrize("reset_delay,mech", [(True, "subtract"), (True, "zero"), (False, "zero")])
def test_sdsa_module_to_circuit_same_spikes(reset_delay, mech):
    from spikeattn.models.snntorch_layers import SDSA
    torch.manual_seed(4)
    N, D, T = 5, 8, 25
    m = SDSA(N, D, beta=0.75, threshold=0.5, kv_threshold=1.0, reset_delay=reset_delay, reset_mechanism=mech)
    for lin in (m.q, m.k, m.v):
        with torch.no_grad():
            lin.weight.copy_(torch.round(lin.weight * 64) / 32)
            lin.bias.copy_(torch.round(lin.bias * 16) / 32 + 0.25)
    x = (np.random.default_rng(5).random((T, 3, N, D)) < 0.35).astype(np.float32)
    ys, kvs = [], []
    with torch.no_grad():
        for t in range(T):
            y, parts = m(torch.tensor(x[t]))
            ys.append(y.numpy().reshape(3, -1)); kvs.append(parts["kv"].numpy())
    r = sa.simulate(m.to_circuit(), {"x": x.reshape(T, 3, -1).astype(np.float64)}, steps=T)
    assert np.array_equal(r.spikes["kv"] != 0, np.stack(kvs) != 0)
    assert np.array_equal(r.spikes["y"] != 0, np.stack(ys) != 0)
    assert np.stack(ys).sum() > 0 and np.stack(kvs).sum() > 0
    assert r.counts.totals()["synaptic_macs"] == 0


def test_sdsa_refuses_the_unmappable_reset():
    from spikeattn.models.snntorch_layers import SDSA
    from spikeattn.errors import ParameterError
    with pytest.raises(ParameterError, match="reset_delay"):
        SDSA(3, 4, reset_delay=False)
