"""Algorithm-matched baselines (hardware_models.baselines): the dense SDSA model equals the
spiking circuit (oracles: spikeattn's numpy engine and sdsa_reference), quantised-ANN bits,
the Eyeriss cost by hand, and the labelled set of baselines."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the GPU baselines count dense workloads with torch")

import spikeattn as sa  # noqa: E402
from hardware_models.baselines import (cost_eyeriss, gpu_workload, matched_baselines, quant_bits,  # noqa: E402
                                       sdsa_dense_model)
from hardware_models.dense_equivalent import Workload  # noqa: E402
from spikeattn.circuits.attention import sdsa_attention  # noqa: E402
from spikeattn.circuits.attention.reference import sdsa_reference  # noqa: E402
from spikeattn.errors import ParameterError  # noqa: E402


def test_quantised_ann_bits_closed_form():
    # ceil(log2(T + 1)): a T-step spike count takes T + 1 values (Yan et al. 2024)
    assert [quant_bits(t) for t in (1, 2, 3, 4, 7, 8, 15, 16)] == [1, 2, 2, 3, 3, 4, 4, 5]


def test_dense_sdsa_equals_the_spiking_circuit():
    n, d, T, B = 6, 8, 20, 2
    c = sdsa_attention(n, d)
    rng = np.random.default_rng(3)
    q, k, v = (rng.random((T, B, n, d)) < 0.4 for _ in range(3))
    res = sa.simulate(c, {"q": q.reshape(T, B, -1), "k": k.reshape(T, B, -1), "v": v.reshape(T, B, -1)}, steps=T)
    y = np.asarray(res.spikes["y"]).reshape(T, B, n, d) != 0
    ref, _ = sdsa_reference(q, k, v)
    tt = lambda a: torch.as_tensor(np.moveaxis(a, 0, 1), dtype=torch.float32)  # noqa: E731  (T,B,..) -> (B,T,..)
    dense = sdsa_dense_model(T)(tt(q), tt(k), tt(v)).numpy() != 0
    dense = np.moveaxis(dense, 1, 0)
    lat = c.meta["latency_steps"]
    assert np.array_equal(dense[: T - lat], y[lat:]) and np.array_equal(dense[: T - lat], ref[lat:])
    assert y[lat:].sum() > 0


def test_snn_dense_workload_scales_with_steps_and_batch():
    """Closed form of the dense SDSA ops (N = 8 tokens, D = 4 channels), per sample: per step
    K*V (ND), token sum (D), eight D-wide LIF ops, Q*kv (ND); plus the output stack (TND) and two
    D-wide zero states.  Kernels: 11 per step + 3."""
    n, d = 8, 4
    c = sdsa_attention(n, d)
    for T, B in ((4, 1), (8, 3)):
        w = gpu_workload(c, T, B, "snn_dense")
        assert w.flops == w.elementwise_ops == B * (T * (2 * n * d + 9 * d) + T * n * d + 2 * d)
        assert w.kernels == 11 * T + 3
    q = gpu_workload(c, 15, 2, "quantised_ann")
    soft = gpu_workload(c, 15, 2, "softmax")
    assert q.flops == soft.flops and q.dtype_bytes == 1 and soft.dtype_bytes == 2
    with pytest.raises(ParameterError, match="baseline"):
        gpu_workload(c, 4, 1, "eyeriss")


def test_eyeriss_by_hand():
    # 1e6 FLOP -> 5e5 MACs + 1e4 element-wise = 5.1e5 MACs; weights 2e4 B + io 2e4 B at 2 B per word
    # = 2e4 words; intermediates 1e4 B per sample stay in the 108 KB buffer.
    w = Workload("t", 1, 1, 10 ** 6, {}, 10 ** 4, 2 * 10 ** 4, 3 * 10 ** 4, 0, 2 * 10 ** 4, 2, 10 ** 4)
    r = cost_eyeriss(w, 16)
    macs, words, u = 5.1e5, 2e4, 1.5e-12
    assert r.breakdown["mac_compute"] == pytest.approx(macs * u)
    assert r.breakdown["register_file"] == pytest.approx(macs * 3 * 1.0 * u)
    assert r.breakdown["global_buffer"] == pytest.approx(words * 6 * u)
    assert r.breakdown["memory_dram"] == pytest.approx(words * 200 * u)
    assert r.latency_s == pytest.approx(macs / (168 * 200e6))
    assert r.static_j == 0 and r.high_j > r.total_j
    q = cost_eyeriss(w, 4)          # quantised: INT8 MAC 0.23 pJ, memory words at 4/16 of the 16-bit unit
    assert q.breakdown["mac_compute"] == pytest.approx(macs * 0.23e-12)
    assert q.breakdown["memory_dram"] == pytest.approx(words * 200 * u * 4 / 16)


def test_matched_baselines_are_labelled():
    reps = matched_baselines(sdsa_attention(8, 4), 8, 4, "h100")
    assert set(reps) == {"softmax", "snn_dense", "quantised_ann", "eyeriss", "eyeriss_quantised"}
    for name, r in reps.items():
        assert r.meta["baseline"]["name"] == name and r.meta["baseline"]["label"]
        assert r.dynamic_j > 0 and r.total_j >= r.dynamic_j
    assert reps["quantised_ann"].meta["precision"] == "int8"
    assert reps["eyeriss_quantised"].meta["bits"] == 4
