"""Attention metrics on tiny cases with hand-computed values."""
import numpy as np
import pytest

from spikeattn import simulate
from spikeattn.circuits.attention import reference as ref
from spikeattn.circuits.attention import sdsa_attention, ssa_attention
from spikeattn.counts import EventCounts
from spikeattn.errors import InputError
from spikeattn.metrics.attention import AttentionAlignment, AttentionEntropy, SynapticOpReduction


def test_entropy_uniform_is_log_n_and_one_hot_is_zero():
    m = np.zeros((2, 3, 4))
    m[0] = 1.0                      # head 0 uniform over 4 keys
    m[1, :, 2] = 5.0                # head 1 one-hot
    out = AttentionEntropy()(m)
    np.testing.assert_allclose(out["per_head"], [np.log(4), 0.0])
    np.testing.assert_allclose(out["mean"], np.log(4) / 2)
    np.testing.assert_allclose(out["normalised"], 0.5)


def test_entropy_hand_value_and_accumulation():
    e = AttentionEntropy()
    e(np.array([[[1.0, 1.0, 0.0, 0.0]]]))          # p = (1/2, 1/2) so far
    out = e(np.array([[[0.0, 0.0, 2.0, 0.0]]]))     # accumulated counts (1, 1, 2, 0): p = (1/4, 1/4, 1/2)
    np.testing.assert_allclose(out["per_query"][0, 0], -(2 * 0.25 * np.log(0.25) + 0.5 * np.log(0.5)))
    e.reset()
    with pytest.raises(InputError):
        e.compute()


def test_entropy_skips_silent_queries():
    m = np.array([[[0.0, 0.0], [1.0, 3.0]]])
    out = AttentionEntropy()(m)
    assert np.isnan(out["per_query"][0, 0])
    np.testing.assert_allclose(out["mean"], -(0.25 * np.log(0.25) + 0.75 * np.log(0.75)))


def test_entropy_rejects_negative_maps():
    with pytest.raises(InputError, match="non-negative"):
        AttentionEntropy()(-np.ones((1, 2, 2)))


def test_alignment_hand_values():
    spk = np.array([[[1, 2, 3], [3, 2, 1], [2, 2, 2]]], float)
    dense = np.array([[[0.1, 0.2, 0.7], [0.1, 0.2, 0.7], [0.2, 0.3, 0.5]]])
    out = AttentionAlignment("spearman")(spk, dense)
    np.testing.assert_allclose(out["per_query"][0, :2], [1.0, -1.0])
    assert np.isnan(out["per_query"][0, 2])               # constant row: undefined, skipped
    np.testing.assert_allclose(out["per_head"], [0.0])
    # Pearson of normalised rows: row 0 of (1,2,3)/6 vs (0.1,0.2,0.7)
    a, b = np.array([1, 2, 3]) / 6, np.array([0.1, 0.2, 0.7])
    np.testing.assert_allclose(AttentionAlignment("pearson")(spk, dense)["per_query"][0, 0],
                               np.corrcoef(a, b)[0, 1])


def test_alignment_of_spike_map_with_its_own_dense_product_is_one(rng):
    """The exact integer Q K^T map aligns perfectly with itself computed densely."""
    q, k = rng.random((6, 5)) < 0.6, rng.random((6, 5)) < 0.6
    m = ref.qk_map(q, k, 1)  # (1, 6, 6)
    out = AttentionAlignment()(m, m.astype(float))
    assert np.nanmin(out["per_query"]) == pytest.approx(1.0)


def test_synaptic_op_reduction_hand_counts():
    c = EventCounts(2, 2)
    p = c.add_element("w", "projection", {})
    p.fields["synaptic_acs"][:] = [[3, 1], [2, 2]]    # 5 and 3 per sample
    p.fields["synaptic_macs"][:] = [[1, 0], [0, 1]]   # 1 and 1 per sample
    out = SynapticOpReduction()(c, dense_flops=100)
    assert out["synaptic_ops"] == 5.0 and out["acs"] == 4.0 and out["macs"] == 1.0
    assert out["dense_flops"] == 100.0 and out["reduction"] == 20.0


def test_dense_flops_formula():
    assert ref.dense_attention_flops(4, 4, 8, heads=2) == 4 * 16 * 8 + 5 * 2 * 16
    assert ref.dense_attention_flops(4, 4, 8, pairs=10, softmax=False) == 4 * 10 * 8


def test_reduction_of_real_runs_sdsa_beats_ssa(rng):
    n, d, T = 16, 8, 6
    inp = {p: rng.random((T, 1, n * d)) < 0.3 for p in "qkv"}
    flops = ref.dense_attention_flops(n, n, d)
    red = {}
    for name, c in (("ssa", ssa_attention(n, d)), ("sdsa", sdsa_attention(n, d))):
        m = SynapticOpReduction()
        red[name] = m(simulate(c, inp, steps=T).counts, flops)["reduction"]
    assert red["sdsa"] > red["ssa"] > 0
