"""The dense references themselves, against independent oracles (torch, explicit loops)."""
import importlib.util

import numpy as np
import pytest

from spikeattn.circuits.attention import patterns
from spikeattn.circuits.attention import reference as ref


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed in this interpreter")
@pytest.mark.parametrize("heads,masked", [(1, False), (2, True), (4, False)])
def test_softmax_attention_matches_torch_sdpa(rng, heads, masked):
    import torch

    n, d = 7, 8
    q, k, v = (rng.normal(size=(2, n, d)) for _ in range(3))
    mask = patterns.causal(n).toarray() if masked else None
    out, probs = ref.softmax_attention(q, k, v, heads=heads, mask=mask)
    t = lambda a: torch.tensor(ref.split_heads(a, heads))  # noqa: E731  (B, H, N, c)
    expect = torch.nn.functional.scaled_dot_product_attention(
        t(q), t(k), t(v), attn_mask=None if mask is None else torch.tensor(mask))
    np.testing.assert_allclose(out, ref.merge_heads(expect.numpy()), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(probs.sum(-1), 1.0)


def test_qk_map_and_products_by_explicit_loops(rng):
    n, d, h = 5, 6, 3
    c = d // h
    q, k, v = (rng.random((n, d)) < 0.5 for _ in range(3))
    mask = patterns.local_window(n, 1).toarray()
    a = ref.qk_map(q, k, h, mask)
    x = ref.ssa_products(q, k, v, h, mask)
    for hh in range(h):
        for i in range(n):
            for j in range(n):
                s = sum(int(q[i, hh * c + e]) * int(k[j, hh * c + e]) for e in range(c))
                assert a[hh, i, j] == (s if mask[i, j] else 0)
            for e in range(c):
                assert x[i, hh * c + e] == sum(a[hh, i, j] * int(v[j, hh * c + e]) for j in range(n))
    np.testing.assert_array_equal(ref.ssa_products(q, k, v, h), ref.ssa_products(q, k, v, h, order="q_kv"))


def test_lif_run_literal_trajectory():
    # du = 1, dv = 0.5, vth = 0.5: v = v/2 + x; spike and reset to 0 when v > 0.5
    x = np.array([0.25, 0.25, 0.5, 0.0, 1.0])[:, None]
    np.testing.assert_array_equal(ref.lif_run(x, du=1.0, dv=0.5, vth=0.5)[:, 0], [0, 0, 1, 0, 1])


def test_shift_is_latency():
    x = np.arange(5)[:, None]
    np.testing.assert_array_equal(ref.shift(x, 2)[:, 0], [0, 0, 0, 1, 2])
