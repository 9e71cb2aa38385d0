"""NeuroBench parity: neurobench 2.3.0's SynapticOperations and ActivationSparsity, run through
its own Benchmark and SNNTorchModel on snnTorch Linear+Leaky stacks, equal spikeattn's figures
from EventCounts exactly (== on floats, same integer totals divided by the same sample count)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="NeuroBench parity needs the 'torch' extra")
snn = pytest.importorskip("snntorch", reason="NeuroBench parity needs snntorch")
pytest.importorskip("neurobench", reason="neurobench is not installed (pip install neurobench --no-deps)")

from hardware_models import neurobench_parity as nbp  # noqa: E402
from spikeattn.errors import ParameterError  # noqa: E402


def dyadic(a):
    return np.round(np.asarray(a) * 64) / 64


class Stack(torch.nn.Module):
    """Linear+Leaky layers with dyadic parameters (exact in float32 and float64)."""

    def __init__(self, sizes, betas, seed, mean=0.02, std=0.08, reset="subtract", bias=True):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.n = len(sizes) - 1
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            lin = torch.nn.Linear(a, b, bias=bias and i == 0)
            w = dyadic(rng.normal(mean, std, (b, a)))
            w[rng.random(w.shape) < 0.2] = 0.0                    # some absent synapses
            with torch.no_grad():
                lin.weight.copy_(torch.as_tensor(w))
                if lin.bias is not None:
                    lin.bias.copy_(torch.as_tensor(dyadic(rng.normal(0, 0.05, b))))
            setattr(self, f"fc{i}", lin)
            setattr(self, f"lif{i}", snn.Leaky(beta=betas[i], reset_mechanism=reset, reset_delay=False))

    def forward(self, x):
        for i in range(self.n):
            x, mem = getattr(self, f"lif{i}")(getattr(self, f"fc{i}")(x))
        return x, mem


CASES = [([20, 16, 5], [0.75, 0.5], "subtract", 0.06, 0.06),
         ([30, 24, 12, 4], [1.0, 0.875, 0.5], "subtract", 0.02, 0.08),
         ([16, 32, 8], [0.5, 0.75], "zero", 0.08, 0.2)]


@pytest.mark.parametrize("sizes,betas,reset,mean,std", CASES)
def test_parity_binary_inputs(sizes, betas, reset, mean, std):
    rng = np.random.default_rng(len(sizes))
    x = (rng.random((6, 25, sizes[0])) < 0.3).astype(float)
    rep = nbp.parity(Stack(sizes, betas, 1, mean, std, reset), x, batch_size=4)   # 2 batches: 4 + 2
    assert rep.spikes_equal, rep.notes
    for k in nbp.METRICS:
        assert rep.neurobench[k] == rep.spikeattn[k], (k, rep.neurobench[k], rep.spikeattn[k])
    assert rep.neurobench["Effective_ACs"] > 0 and rep.neurobench["Effective_MACs"] == 0
    assert rep.neurobench["Dense"] == 25 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    assert 0 < rep.neurobench["ActivationSparsity"] < 0.95          # hidden layers do spike
    assert rep.equal


@pytest.mark.parametrize("sizes,betas,reset,mean,std", CASES[:2])
def test_parity_graded_inputs_are_macs(sizes, betas, reset, mean, std):
    rng = np.random.default_rng(11)
    x = dyadic(rng.random((4, 25, sizes[0])))
    rep = nbp.parity(Stack(sizes, betas, 2, mean, std, reset), x)
    assert rep.spikes_equal, rep.notes
    assert rep.neurobench["Effective_MACs"] == rep.spikeattn["Effective_MACs"] > 0
    assert rep.equal, rep.to_dict()


def test_quirk_above_twice_threshold_is_reported():
    # one input of 2.5 x threshold: the LIF spikes at steps 0 and 1 (v = 2.5 -> 1.5 -> 1.125);
    # snnTorch subtracts at step 1 because mem[0] > threshold and then needs mem > 2 x threshold
    lin = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        lin.weight.fill_(2.5)
    net = torch.nn.Sequential(lin, snn.Leaky(beta=0.75, reset_delay=False))
    x = np.zeros((1, 5, 1))
    x[0, 0, 0] = 1.0
    rep = nbp.parity(net, x)
    assert not rep.spikes_equal and any("differ" in n for n in rep.notes)
    assert rep.spikeattn["ActivationSparsity"] == 3 / 5 and rep.neurobench["ActivationSparsity"] == 4 / 5


def test_conversion_refuses_unmappable_settings():
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), snn.Leaky(beta=0.5))          # reset_delay=True
    c = nbp.snntorch_to_circuit(net)        # accepted since issue 8: a delay-1 self-projection
    assert c.projections["1.reset_delay"].delay == 1
    with pytest.raises(ParameterError, match="alternate"):
        nbp.snntorch_to_circuit(torch.nn.Sequential(torch.nn.Linear(4, 3)))
    # beta = 1 with the default reset_delay=True is exactly an IF neuron: accepted
    c = nbp.snntorch_to_circuit(torch.nn.Sequential(torch.nn.Linear(4, 3), snn.Leaky(beta=1.0)))
    assert c.populations["1"].model.dv == 0.0


def test_matmul_attention_neurobench_counts_nothing_spikeattn_counts_events():
    from spikeattn.circuits.attention.ssa import ssa_attention
    import spikeattn as sa
    rng = np.random.default_rng(5)
    n, d, steps = 4, 8, 6
    q = rng.random((2, steps, n, d)) < 0.4
    k = rng.random((2, steps, n, d)) < 0.4
    v = rng.random((2, steps, n, d)) < 0.4
    got = nbp.neurobench_matmul_attention(q, k)
    assert got["neurobench"]["Effective_ACs"] == 0 and got["neurobench"]["Effective_MACs"] == 0
    assert got["neurobench"]["Dense"] == 0
    assert got["spike_pairs"] > 0
    # spikeattn's spiking attention circuit counts the same coincidence work as events
    c = ssa_attention(n, d)
    inputs = {"q": q.transpose(1, 0, 2, 3).reshape(steps, 2, n * d),
              "k": k.transpose(1, 0, 2, 3).reshape(steps, 2, n * d),
              "v": v.transpose(1, 0, 2, 3).reshape(steps, 2, n * d)}
    res = sa.simulate(c, inputs, steps=steps + 6)
    assert res.counts.totals()["synaptic_ops"] > 0
    coinc = res.counts.total("spikes", elements=["coinc"])
    assert coinc == got["spike_pairs"]       # one AND spike per (q, k) channel coincidence
