"""``quantise="loihi8"``: Loihi fixed point (8-bit weights, integer neurons, pipelined delays).

Oracles: Lava's weight rule (the mantissas survive Lava's 8-bit clip/truncation unchanged,
closed-form error bound); the delay-0 float circuit with the de-quantised integer weights
(float64 computes integers exactly), which the pipelined fixed-point circuit must reproduce
level for level in each node's window; the float spiking model (agreement of predictions).
Bit-exactness on Lava is tested in test_loihi8_lava.py.
"""
import numpy as np
import pytest
import scipy.sparse as sp

torch = pytest.importorskip("torch", reason="the converter needs torch (extra 'torch')")

from spikeattn import simulate  # noqa: E402
from spikeattn.convert import convert  # noqa: E402
from spikeattn.models.data import digits  # noqa: E402
from spikeattn.convert.loihi import depths, quantise_matrix  # noqa: E402
from spikeattn.models.zoo import build, train  # noqa: E402
from spikeattn.convert.registry import ConversionError  # noqa: E402
from spikeattn.dynamics.fixed_point import quantise_weights  # noqa: E402
from spikeattn.errors import ParameterError  # noqa: E402
from spikeattn.ir import Circuit  # noqa: E402
from spikeattn.ir.neurons_convert import MultiThresholdIF  # noqa: E402
from spikeattn.ir.neurons_extra import GradedReLU  # noqa: E402


@pytest.mark.parametrize("seed,scale,sign", [(0, 0.01, 0), (1, 1e3, 1), (2, 1.0, -1), (3, 7.0, 0)])
def test_mantissas_survive_lavas_weight_rule_within_one_step(seed, scale, sign):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(6, 9)) * scale
    w = np.abs(w) * sign if sign else w
    m, e = quantise_matrix(w)
    mm = m.toarray()
    assert np.array_equal(quantise_weights(mm), mm)            # Lava's clip + truncation leaves them alone
    step = 2.0 ** e * (2 if sign == 0 else 1)                  # mixed: even mantissas only
    assert np.abs(mm * 2.0 ** e - w).max() <= step / 2 + 1e-12 * abs(w).max()
    assert 127 <= np.abs(mm).max() <= 256                      # the 8-bit range is used


def test_small_integer_matrices_stay_exact():
    m, e = quantise_matrix(np.array([[1.0, -1.0, 0.0], [3.0, 0.0, -2.0]]))
    assert e == -1 and np.array_equal(m.toarray() * 2.0 ** e, [[1, -1, 0], [3, 0, -2]])
    m, e = quantise_matrix(np.array([[1.0, 3.0]]))
    assert e == 0 and np.array_equal(m.toarray(), [[1, 3]])


@pytest.fixture(scope="module")
def tiny():
    d = digits()
    torch.manual_seed(0)
    m = build("digits-vit", dim=16, heads=2, layers=1, hidden=16, patch=4)
    train(m, d["x_train"], d["y_train"], epochs=4, lr=1e-2, batch=64, seed=0)
    # (one epoch on 256 samples at 3 levels left the quantised model at chance, which convert() refuses)
    kw = dict(mode="accumulate", calib=d["x_calib"], train=(d["x_train"][:512], d["y_train"][:512]), epochs=2,
              levels=4)
    return m, d, kw


def test_refusals(tiny):
    m, d, kw = tiny
    with pytest.raises(ParameterError, match="quantise"):
        convert(m, torch.tensor(d["x_train"][:2]), **{**kw, "mode": "exact"}, quantise="loihi8")
    with pytest.raises(ParameterError, match="quantise"):
        convert(m, torch.tensor(d["x_train"][:2]), **kw, quantise="loihi4")
    with pytest.raises(ConversionError, match="integer"):
        convert(m, torch.tensor(d["x_train"][:2]) + 0.5, **{**kw, "calib": d["x_calib"] + 0.5}, quantise="loihi8")


def test_pipeline_structure_and_zero_macs(tiny):
    m, d, kw = tiny
    sm = convert(m, torch.tensor(d["x_train"][:2]), **kw, quantise="loihi8")
    c = sm.circuit
    assert c.fixed_point
    fl = sm.meta["float_model"].circuit
    dep = depths(fl)
    for p in c.projections.values():
        src = "bias" if p.pre not in dep else p.pre
        assert p.delay == dep[p.post] - (0 if src == "bias" else dep[src]) >= 1
        assert np.abs(p.weights.data).max() <= 256 and np.all(p.weights.data == np.round(p.weights.data))
    sm.predict(d["x_test"][:40], steps=2)
    assert sm.last_counts["totals"]["synaptic_macs"] == 0 and sm.last_counts["totals"]["synaptic_acs"] > 0


def _dequantised_float_circuit(c, sm):
    """The delay-0 float circuit computing, in float64, what the integer circuit computes."""
    f = Circuit("oracle")
    for n, s in c.sources.items():
        if n != "bias":
            f.add_source(n, s.size, encoder="graded")
    bias = {n: np.zeros(p.size) for n, p in c.populations.items()}
    for p in c.projections.values():
        if p.pre == "bias":
            bias[p.post] += p.weights.toarray()[:, 0] * 2.0 ** p.weight_exp
    for n, p in c.populations.items():
        m = p.model
        if type(m).__name__ == "LoihiMultiThresholdIF":
            model = MultiThresholdIF(vth=float(m.vth), levels=int(m.levels), signed=bool(m.signed), bias=bias[n])
        else:
            model = GradedReLU(vth=np.asarray(m.vth, np.float64))
        f.add_population(n, p.size, model, initial={k: np.asarray(v, np.float64) for k, v in p.initial.items()})
    for p in c.projections.values():
        if p.pre != "bias":
            f.connect(p.pre, p.post, sp.csr_matrix(p.weights, dtype=np.float64) * 2.0 ** p.weight_exp, name=p.name,
                      delay=0, message=p.message)
    return f


def test_pipelined_integer_circuit_equals_delay0_float_oracle(tiny):
    m, d, kw = tiny
    sm = convert(m, torch.tensor(d["x_train"][:2]), **kw, quantise="loihi8", loihi_threshold=1 << 18)
    c = sm.circuit
    for p in c.projections.values():   # shifts right only on exact multiples: float64 sums are the integer sums
        assert p.weight_exp >= 0 or np.all(p.weights.data % 2 ** -p.weight_exp == 0), p.name
    x = d["x_test"][:12].reshape(12, -1).astype(np.float64)
    T = 3
    sm.predict(d["x_test"][:12], steps=T, batch=12)
    got = sm.last_result
    lat = sm.program.latency
    (inp,) = sm.program.inputs
    ref = simulate(_dequantised_float_circuit(c, sm), {inp: x}, steps=T)
    for n in c.populations:
        a = np.asarray(got.spikes[n][lat[n]:lat[n] + T], np.float64)
        assert np.array_equal(a, np.asarray(ref.spikes[n], np.float64)), n


def test_agrees_with_float_spiking_model(tiny):
    m, d, kw = tiny
    sm = convert(m, torch.tensor(d["x_train"][:2]), **kw, quantise="loihi8")
    x = d["x_test"][:120]
    pq = sm.predict(x, steps=2)
    pf = sm.meta["float_model"].predict(x, steps=2)
    assert len(np.unique(pf)) > 3
    assert np.mean(pq == pf) >= 0.9


def test_bias_correction_absorbs_the_mean_rounding_shift(tiny):
    """Nagel et al. 2019: the corrected bias of each population differs from the uncorrected one by
    -sum_proj (W_q 2^e - σ W) @ mean(pre output on the calibration set), to the integer."""
    from spikeattn.convert.loihi import mean_outputs
    m, d, kw = tiny
    on = convert(m, torch.tensor(d["x_train"][:2]), **kw, quantise="loihi8")
    off = convert(m, torch.tensor(d["x_train"][:2]), **kw, quantise="loihi8", bias_correction=False)
    fl = on.meta["float_model"]
    means = mean_outputs(fl, d["x_calib"][:256])
    sig = on.program.quantisation["sigma"]

    def bias(sm, pop):
        return sum(p.weights.toarray()[:, 0] * 2.0 ** p.weight_exp for p in sm.circuit.projections.values()
                   if p.pre == "bias" and p.post == pop)

    checked = 0
    for pop, s in sig.items():
        if s == 1.0:
            continue
        err = 0.0
        for p in fl.circuit.projections.values():
            if p.post == pop:
                q = on.circuit.projections[p.name]
                err = err + (q.weights.toarray() * 2.0 ** q.weight_exp - p.weights.toarray() * s) @ means[p.pre]
        delta = np.asarray(bias(on, pop), float) - np.asarray(bias(off, pop), float)
        assert np.all(np.abs(delta + err) <= 1.0 + 1e-9), pop
        checked += int(np.any(np.abs(err) > 1))
    assert checked > 0                       # rounding did shift some population by more than one unit
