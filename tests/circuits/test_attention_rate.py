"""Rate coding: spiking attention approximates the real-valued formulas, better as T grows.

Q, K, V are independent Bernoulli spike trains with rates q, k, v in [0, 1] (drawn here with
numpy, not by the circuit).  Independence gives E[Q_t K_t^T] = q k^T and
E[(Q_t K_t^T) V_t] = (q k^T) v exactly, so the time averages of the circuit's map and of its
output drive converge to the dense products with error ~ 1/sqrt(T).  The spike-derived map
is then compared with dense softmax attention on the same q, k: softmax is monotone in
q k^T, so the per-row rank agreement (Spearman) approaches 1.
"""
import numpy as np

from spikeattn import simulate
from spikeattn.circuits.attention import reference as ref
from spikeattn.circuits.attention import spike_map, ssa_attention
from spikeattn.metrics.attention import AttentionAlignment

TS = (16, 64, 256, 1024)


def poisson(rng, rates, T):
    return rng.random((T,) + rates.shape) < rates


def test_time_averaged_ssa_converges_to_dense_products():
    rng = np.random.default_rng(7)
    n, d, h = 4, 4, 2
    q, k, v = (rng.uniform(0.2, 0.9, (n, d)) for _ in range(3))
    exact_map = ref.qk_map(q, k, h)                          # float rates, (H, N, N)
    exact_x = ref.ssa_products(q, k, v, h)                    # (q k^T) v per head, (N, D)
    c = ssa_attention(n, d, h, scale=0.125)
    c.probe("y", ("u",))                                      # du = 1: u is the input, 0.125 * X
    err_map, err_x = [], []
    for T in TS:
        qs, ks, vs = (poisson(rng, r, T + 4)[:, None].reshape(T + 4, 1, -1) for r in (q, k, v))
        r = simulate(c, {"q": qs, "k": ks, "v": vs}, steps=T + 4)
        m = spike_map(r, c)[1:T + 1, 0].mean(axis=0)         # map of source steps 0..T-1
        x = r.probes["y"]["u"][4:, 0].reshape(T, n, d).mean(axis=0) / 0.125
        err_map.append(np.sqrt(np.mean((m - exact_map) ** 2)) / np.sqrt(np.mean(exact_map ** 2)))
        err_x.append(np.sqrt(np.mean((x - exact_x) ** 2)) / np.sqrt(np.mean(exact_x ** 2)))
    # stated tolerance: relative RMS error below 10 % at T = 1024, and 3x smaller than at T = 16
    assert err_map[-1] < 0.10 and err_x[-1] < 0.10, (err_map, err_x)
    assert err_map[-1] < err_map[0] / 3 and err_x[-1] < err_x[0] / 3, (err_map, err_x)


def test_spike_map_agrees_with_softmax_as_T_grows():
    rng = np.random.default_rng(3)
    n, d, h = 8, 8, 2
    q, k = rng.uniform(0.05, 0.95, (n, d)), rng.uniform(0.05, 0.95, (n, d))
    _, probs = ref.softmax_attention(q, k, heads=h)            # (H, N, N) dense softmax on the rates
    c = ssa_attention(n, d, h)
    scores = []
    for T in (8, 512):
        qs, ks = (poisson(rng, r, T + 1).reshape(T + 1, 1, -1) for r in (q, k))
        r = simulate(c, {"q": qs, "k": ks, "v": np.zeros_like(ks)}, steps=T + 1, fused=True)
        align = AttentionAlignment("spearman")
        align(spike_map(r, c)[1:], probs)
        scores.append(align.compute()["per_head"])
    assert np.all(scores[1] > 0.85), scores                    # per head, at T = 512
    assert np.all(scores[1] > scores[0]), scores
