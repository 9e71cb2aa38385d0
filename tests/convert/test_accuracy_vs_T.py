"""More steps must not cost accuracy (issue 17).

* accumulate mode: a circuit run for T steps computes, on constant inputs, the quantised
  model on the grid of T (``vth / T``, ``T L`` levels; closed form checked against torch on a
  one-hidden-layer model), and the fine-tune trains on the grids of T = 1..16, so a small
  ViT's accuracy at T = 8 is not more than 1 point below T = 1's;
* exact mode: every step is a re-initialised forward pass, so at every T the logits are the
  quantised ANN's (torch, float64) and the events are T times T = 1's.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the converter needs torch (extra 'torch')")

from spikeattn.convert import convert, run  # noqa: E402
from spikeattn.convert.quantiser import quant_modules  # noqa: E402


def _on_grid(quantised, x, T):
    import copy
    g = copy.deepcopy(quantised)
    for m in quant_modules(g):
        m.grid = T
    with torch.no_grad():
        return g(torch.as_tensor(x, dtype=torch.float64)).numpy()


def test_accumulate_circuit_computes_the_quantised_model_on_the_grid_of_T():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 12), torch.nn.ReLU(), torch.nn.Linear(12, 3))
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (40, 5)).astype(np.float32)
    sm = convert(model, torch.as_tensor(x[:2]), mode="accumulate", calib=x, epochs=0, levels=3,
                 signal_check=False, input_kind="graded")
    for T in (1, 2, 3, 8, 16):
        spiking = sm.run(x, steps=T).mean(axis=0)
        want = _on_grid(sm.quantised, x, T)
        np.testing.assert_allclose(spiking, want, rtol=0, atol=1e-9, err_msg=f"T = {T}")
    # the grids differ: T = 8's is not T = 1's (so the comparison above is not vacuous)
    assert not np.allclose(_on_grid(sm.quantised, x, 1), _on_grid(sm.quantised, x, 8))


@pytest.fixture(scope="module")
def small_vit():
    from spikeattn.models.data import digits
    from spikeattn.models.zoo import build, train
    d = digits()
    torch.manual_seed(0)
    m = build("digits-vit", dim=16, heads=2, layers=1, hidden=16, patch=4)
    train(m, d["x_train"], d["y_train"], epochs=8, lr=1e-2, batch=64, seed=0)
    return m, d


def test_exact_mode_is_the_quantised_ann_at_every_T(small_vit):
    m, d = small_vit
    sm = convert(m, torch.as_tensor(d["x_train"][:2]), mode="exact", calib=d["x_calib"],
                 train=(d["x_train"][:512], d["y_train"][:512]), epochs=1, levels=4)
    xs = d["x_test"][:24]
    with torch.no_grad():
        want = sm.quantised(torch.as_tensor(xs, dtype=torch.float64)).numpy()
    events = {}
    for T in (1, 3, 8):
        logits = sm.run(xs, steps=T, batch=10)
        assert logits.shape[0] == T
        for t in range(T):                                     # every step is the quantised ANN's pass
            np.testing.assert_allclose(logits[t], want, rtol=0, atol=1e-9, err_msg=f"T = {T}, step {t}")
        events[T] = dict(sm.last_counts["totals"])
        assert all(c.steps == T for _, c in sm.last_results)
    assert events[3] == {k: 3 * v for k, v in events[1].items()}
    assert events[8] == {k: 8 * v for k, v in events[1].items()}
    r1, r3 = run(sm, xs, steps=1), run(sm, xs, steps=3)        # the stateless runner agrees
    np.testing.assert_allclose(r3.logits, want, rtol=0, atol=1e-9)
    assert (r3.counts.steps, r3.counts.batch) == (3, len(xs))
    assert r3.counts.total("spikes") == 3 * r1.counts.total("spikes")


def test_accumulate_accuracy_at_T8_not_below_T1(small_vit):
    m, d = small_vit
    sm = convert(m, torch.as_tensor(d["x_train"][:2]), mode="accumulate", calib=d["x_calib"],
                 train=(d["x_train"], d["y_train"]), epochs=4, levels=4, structured=True)
    xs, ys = d["x_test"], d["y_test"]
    acc = {T: float(np.mean(run(sm, xs, steps=T, engine="torch").predictions == ys)) for T in (1, 8)}
    assert acc[1] > 0.5                                        # a model, not chance (0.1)
    assert acc[8] >= acc[1] - 0.01, acc
