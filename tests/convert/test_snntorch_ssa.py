"""Spikformer SSA as an snnTorch module: to_circuit() gives the module's spikes step for step
(oracle: the snnTorch module itself, run, not mocked), the integer Q K^T map equals the
accumulator's graded spikes, gradients flow (one Adam step lowers the loss), bad input refused."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs torch")
snn = pytest.importorskip("snntorch", reason="needs snntorch (extra 'torch')")

import spikeattn as sa  # noqa: E402
from spikeattn.models.snntorch_layers import SSA  # noqa: E402
from spikeattn.errors import ParameterError  # noqa: E402


def _dyadic(m, seed):
    """Weights and biases on a 1/32 grid: float32 (snnTorch) and float64 (spikeattn) sums exact."""
    torch.manual_seed(seed)
    for lin in (m.q, m.k, m.v, m.o):
        with torch.no_grad():
            lin.weight.copy_(torch.round(torch.randn_like(lin.weight) * 24) / 32)
            lin.bias.copy_(torch.round(torch.randn_like(lin.bias) * 8) / 32 + 0.25)


def _run_module(m, x):
    out = {k: [] for k in ("q", "k", "v", "map", "attn", "y")}
    m.reset()
    with torch.no_grad():
        for t in range(x.shape[0]):
            y, parts = m(torch.tensor(x[t]))
            b = x.shape[1]
            for k in ("q", "k", "v", "attn"):
                out[k].append(parts[k].numpy().reshape(b, -1))
            out["map"].append(parts["map"].numpy().reshape(b, -1))
            out["y"].append(y.numpy().reshape(b, -1))
    return {k: np.stack(v) for k, v in out.items()}


@pytest.mark.parametrize("tokens,dim,heads,mech,beta", [
    (4, 8, 1, "subtract", 0.5),
    (5, 8, 2, "subtract", 0.75),
    (3, 12, 3, "zero", 0.5),
    (6, 4, 4, "subtract", 0.875),
])
def test_ssa_to_circuit_same_spikes(tokens, dim, heads, mech, beta):
    m = SSA(tokens, dim, heads, beta=beta, threshold=0.5, attn_threshold=0.5, reset_mechanism=mech)
    _dyadic(m, seed=tokens * 10 + heads)
    T, B = 10, 3
    x = (np.random.default_rng(tokens + heads).random((T, B, tokens, dim)) < 0.4).astype(np.float32)
    ref = _run_module(m, x)
    r = sa.simulate(m.to_circuit(), {"x": x.reshape(T, B, -1).astype(np.float64)}, steps=T)
    for pop in ("q", "k", "v", "attn", "y"):
        assert np.array_equal(r.spikes[pop] != 0, ref[pop] != 0), pop
    # the accumulator's graded spike is the integer coincidence count Q_h K_h^T of the step
    assert np.array_equal(r.spikes["map"], ref["map"])
    assert ref["map"].max() >= min(2, dim // heads)   # real counts (up to c per pair), not only 0/1
    assert ref["attn"].sum() > 0 and ref["y"].sum() > 0 and (ref["attn"] == 0).any()
    # closed form of the map stage: one accumulate per coincidence spike into the map
    coinc = int(r.spikes["coinc"].sum())
    assert coinc == int(ref["map"].sum())


def test_ssa_module_state_resets_between_samples():
    m = SSA(3, 4, 1, threshold=0.5)
    _dyadic(m, 1)
    x = (np.random.default_rng(0).random((6, 2, 3, 4)) < 0.5).astype(np.float32)
    a, b = _run_module(m, x), _run_module(m, x)   # _run_module calls reset() first
    assert np.array_equal(a["y"], b["y"])


def test_ssa_gradients_flow_and_a_training_step_lowers_the_loss():
    torch.manual_seed(0)
    N, D, T, B = 4, 8, 4, 16
    m = SSA(N, D, 2, threshold=0.25, attn_threshold=0.25)
    with torch.no_grad():                            # strong enough drive that Q, K, V all spike
        for lin in (m.q, m.k, m.v, m.o):
            lin.weight.mul_(2.0)
            lin.bias.fill_(0.2)
    head = torch.nn.Linear(D, 2)
    x = (torch.rand(T, B, N, D) < 0.4).float()
    target = torch.randint(0, 2, (B,))

    def loss_fn():
        m.reset()
        rate = sum(m(x[t])[0] for t in range(T)).mean(1) / T      # (B, D) output spike rate
        return torch.nn.functional.cross_entropy(head(rate), target)

    params = list(m.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=2e-2)
    l0 = loss_fn()
    opt.zero_grad()
    l0.backward()
    for lin in (m.q, m.k, m.v, m.o):                  # surrogate gradients reach every linear
        assert lin.weight.grad is not None and float(lin.weight.grad.abs().sum()) > 0
    for _ in range(15):
        opt.step()
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
    assert float(loss.detach()) < float(l0.detach())


@pytest.mark.parametrize("kwargs,field", [
    ({"tokens": 4, "dim": 6, "heads": 4}, "heads"),
    ({"tokens": 0, "dim": 4}, "tokens"),
    ({"tokens": 4, "dim": 4, "scale": -1.0}, "scale"),
    ({"tokens": 4, "dim": 4, "reset_delay": False}, "reset_delay"),
])
def test_ssa_refuses_bad_parameters(kwargs, field):
    with pytest.raises(ParameterError, match=field):
        SSA(**kwargs)
