"""GPU baseline of the dense model: FLOPs (torch FlopCounterMode) against closed forms, bytes,
the dense model's outputs against a numpy formula, and the roofline energy hand-computed."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the dense baseline needs the 'torch' extra")

import spikeattn as sa  # noqa: E402
from hardware_models.dense_equivalent import (Workload, count_workload, dense_attention_model,  # noqa: E402
                                              dense_model, dense_workload)
from hardware_models.gpu import cost_dense, cost_by_batch  # noqa: E402
from spikeattn.errors import ParameterError  # noqa: E402


def three_layer(rng):
    c = sa.Circuit("mlp")
    c.add_source("x", 20)
    c.add_population("h1", 12, sa.LIF())
    c.add_population("h2", 7, sa.LIF(bias=0.25))
    c.add_population("o", 3, sa.LIF())
    w1, w2, w3 = rng.normal(size=(12, 20)), rng.normal(size=(7, 12)), rng.normal(size=(3, 7))
    c.connect("x", "h1", w1)
    c.connect("h1", "h2", w2)
    c.connect("h2", "o", w3)
    return c, (w1, w2, w3)


def test_linear_flops_equal_closed_form(rng):
    c, _ = three_layer(rng)
    c.connect("o", "h1", rng.normal(size=(12, 3)), name="feedback")      # a recurrent edge counts too
    for b in (1, 5):
        w = dense_workload(c, steps=10, batch=b)
        expected = 2 * b * (20 * 12 + 12 * 7 + 7 * 3 + 3 * 12)
        assert w.flops == expected and sum(w.flops_by_op.values()) == expected
        assert w.weight_bytes == 2 * (20 * 12 + 12 * 7 + 7 * 3 + 3 * 12 + 7)     # fp16 weights + h2's bias
        assert w.io_bytes == 2 * b * (20 + 12 + 7 + 3)


def test_attention_flops_and_bytes():
    b, h, n, d = 3, 4, 10, 32
    model = dense_attention_model(n, d, heads=h)
    x = {k: torch.zeros(b, n, d) for k in "qkv"}
    w = count_workload(model, x, "att", batch=b, map_shape=(n, n))
    qk = 2 * b * h * n * n * (d // h)
    assert w.flops_by_op == {"aten.bmm": 2 * qk}                  # Q K^T and A V, same size
    assert w.attention_map_bytes == 3 * b * h * n * n * 2          # scores, scaled scores, softmax (fp16)
    assert w.io_bytes == 4 * b * n * d * 2
    assert w.weight_bytes == 0
    wp = count_workload(dense_attention_model(n, d, heads=h, projections=True), x, "att+proj", batch=b,
                        map_shape=(n, n))
    assert wp.flops == 2 * qk + 4 * 2 * b * n * d * d               # plus four D x D Linear layers
    assert wp.weight_bytes == 4 * d * d * 2


def test_attention_circuit_uses_its_shapes():
    from spikeattn.circuits.attention.sdsa import sdsa_attention
    w = dense_workload(sdsa_attention(6, 8, heads=2), steps=20, batch=2)
    assert w.flops == 2 * (2 * 2 * 2 * 6 * 6 * 4)
    assert w.steps == 20 and w.batch == 2


def test_dense_model_matches_numpy(rng):
    c, (w1, w2, w3) = three_layer(rng)
    x = rng.random((4, 20))
    out = dense_model(c)(x=torch.as_tensor(x, dtype=torch.float32))
    relu = lambda z: np.maximum(z, 0)  # noqa: E731
    h1 = relu(x @ w1.T)
    h2 = relu(h1 @ w2.T + 0.25)
    o = relu(h2 @ w3.T)
    np.testing.assert_allclose(out["o"].detach().numpy(), o, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["h2"].detach().numpy(), h2, rtol=1e-5, atol=1e-5)


def tiny(flops=10 ** 9, act=4 * 10 ** 6, weights=10 ** 6, io=10 ** 5):
    return Workload("tiny", 1, 1, flops, {}, 0, weights, act, 0, io, 2, weights // 2)


def test_energy_hand_computed_h100_intermediates_in_dram():
    """Intermediates of 2e8 B (half of the unfused traffic) exceed the 50 MB L2: every unfused
    byte goes to DRAM."""
    act = 4 * 10 ** 8
    w = tiny(act=act)
    r = cost_dense(w, "h100", utilisation=0.5)
    assert r.meta["fits_l2"] is False
    # H100 SXM: 989 TFLOP/s fp16, 3.35 TB/s, 700 W TDP, idle 70 W (50-120), 3.9 pJ/bit
    b_hi = 10 ** 6 + act
    t = max(1e9 / (989e12 * 0.5), b_hi / (3.35e12 * 0.5))
    e = 1e9 * (700 - 70) / 989e12 + b_hi * 3.9e-12 * 8 + 70 * t
    assert r.latency_s == pytest.approx(t, rel=1e-12)
    assert r.total_j == pytest.approx(e, rel=1e-12)
    assert r.dynamic_j == pytest.approx(e - 70 * t, rel=1e-12)
    # bounds: fused bytes and the favourable ends of every range for the low bound
    t_lo = max(1e9 / (989e12 * 0.5), 1.1e6 / (3.35e12 * 0.5))
    e_lo = 1e9 * (700 - 120) / 989e12 + 1.1e6 * 3.9e-12 * 8 + 50 * t_lo
    assert r.low_j == pytest.approx(e_lo, rel=1e-12)
    t_hi = max(1e9 / (790e12 * 0.5), b_hi / (3.35e12 * 0.5))
    e_hi = 1e9 * (700 - 50) / 790e12 + b_hi * 3.9e-12 * 8 + 120 * t_hi
    assert r.high_j == pytest.approx(e_hi, rel=1e-12)
    assert r.low_j <= r.total_j <= r.high_j
    assert any("modelled only" in n for n in r.notes) or "measured" in r.meta


def test_energy_hand_computed_h100_intermediates_in_l2():
    """Issue 9: tensors that fit in L2 are not charged HBM traffic.  Intermediates 3.9e6 B of
    traffic (1.95e6 B of tensors) fit the 50 MB L2: DRAM moves the fused 1.1e6 B, the rest
    costs 2.5 pJ/B (Horowitz 32 KB SRAM, range 1.25-12.5)."""
    w = tiny()
    r = cost_dense(w, "h100", utilisation=0.5)
    assert r.meta["fits_l2"] is True
    t = max(1e9 / (989e12 * 0.5), 1.1e6 / (3.35e12 * 0.5))
    e = 1e9 * 630 / 989e12 + 1.1e6 * 31.2e-12 + 3.9e6 * 2.5e-12 + 70 * t
    assert r.total_j == pytest.approx(e, rel=1e-12)
    assert r.breakdown["memory_l2"] == pytest.approx(3.9e6 * 2.5e-12)
    e_hi = 1e9 * 650 / 790e12 + 1.1e6 * 31.2e-12 + 3.9e6 * 12.5e-12 + 120 * max(1e9 / (790e12 * 0.5), 1.1e6 / 1.675e12)
    assert r.high_j == pytest.approx(e_hi, rel=1e-12)


def test_kernel_launches_floor_the_time():
    """A small workload of 40 eager kernels is launch-bound: t = 40 x 5 us (low bound: one fused
    kernel, 2 us); idle power is paid for that time."""
    w = tiny(flops=10 ** 6, act=10 ** 5, weights=10 ** 4, io=10 ** 3)
    w.kernels = 40
    r = cost_dense(w, "h100", utilisation=0.5)
    assert r.latency_s == pytest.approx(40 * 5e-6, rel=1e-12)
    # intermediates (10^5 - 10^3 B of traffic) fit in L2: DRAM moves weights + io only
    e = 1e6 * (700 - 70) / 989e12 + (10 ** 4 + 10 ** 3) * 3.9e-12 * 8 + (10 ** 5 - 10 ** 3) * 2.5e-12 \
        + 70 * 40 * 5e-6
    assert r.total_j == pytest.approx(e, rel=1e-12)
    assert r.latency_low_s == pytest.approx(2e-6, rel=1e-12)
    assert r.latency_high_s == pytest.approx(40 * 10e-6, rel=1e-12)


def test_kernels_are_counted_from_the_torch_model(rng):
    """Linear -> ReLU -> Linear -> ReLU: FlopCounterMode-independent count of dispatched ops."""
    c, _ = three_layer(rng)
    w = dense_workload(c, batch=2)
    assert w.kernels >= 3 * 2        # at least a matmul and a ReLU per layer


def test_per_batch_and_errors():
    from spikeattn.circuits.attention.sdsa import sdsa_attention
    reps = cost_by_batch(sdsa_attention(16, 16), "a100", batches=(1, 4, 16))
    flops = [r.meta["workload"]["flops"] for r in reps]
    assert flops[1] == 4 * flops[0] and flops[2] == 16 * flops[0]
    assert reps[0].total_j < reps[1].total_j < reps[2].total_j
    with pytest.raises(ParameterError, match="GPU"):
        cost_dense(tiny(), "loihi")
    with pytest.raises(ParameterError, match="utilisation"):
        cost_dense(tiny(), "h100", utilisation=1.5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here: NVML measurement cannot run")
def test_nvml_measurement_beside_model():
    from spikeattn.circuits.attention.sdsa import sdsa_attention
    w = dense_workload(sdsa_attention(256, 128, heads=4), steps=1, batch=32)
    r = cost_dense(w, "h100")
    m = r.meta["measured"]
    assert m["trials"] >= 5 and m["passes"] >= 50 and m["idle_w"] > 0
    assert m["energy_j"]["median"] > m["dynamic_j"]["median"] > 0 and m["time_s"]["median"] > 0
