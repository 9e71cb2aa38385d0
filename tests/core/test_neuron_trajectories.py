"""Neuron dynamics against literal reference trajectories worked out by hand (Norse style).

Every circuit is: graded or binary source -> (weight, delay 1) -> one neuron, so the input
arrives from step 1 on.  The expected values below were computed by hand from the
equations in the model docstrings, not recorded from the code.
"""
import numpy as np
import pytest

import spikeattn as sa


def one_neuron(model, value, steps, weight=1.0, fixed=False):
    c = sa.Circuit("one")
    c.add_source("x", 1, encoder="graded" if not fixed else "spikes")
    c.add_population("n", 1, model)
    c.connect("x", "n", np.array([[weight]]), message="graded" if not fixed else "binary")
    c.probe("n", ("u", "v"))
    data = np.full(1, value) if not fixed else np.ones((steps, 1), bool)
    r = sa.simulate(c, {"x": data}, steps=steps)
    return r.probes["n"]["u"][:, 0, 0], r.probes["n"]["v"][:, 0, 0], r.spikes["n"][:, 0, 0].astype(int)


def test_lif_current_and_voltage_decay():
    # u = u*(1-0.5) + 0.5 ; v = v*(1-0.25) + u ; spike if v > 1, then v = 0
    u, v, s = one_neuron(sa.LIF(du=0.5, dv=0.25, vth=1.0), 0.5, 6)
    assert u.tolist() == [0.0, 0.5, 0.75, 0.875, 0.9375, 0.96875]
    assert v.tolist() == [0.0, 0.5, 0.0, 0.875, 0.0, 0.96875]
    assert s.tolist() == [0, 0, 1, 0, 1, 0]


def test_if_reset_by_subtraction_and_strict_threshold():
    # v accumulates 0.375 per step; at 1.0 exactly (step 8) there is no spike (v > vth is strict)
    _, v, s = one_neuron(sa.IF(vth=1.0), 0.375, 10)
    assert v.tolist() == [0, 0.375, 0.75, 0.125, 0.5, 0.875, 0.25, 0.625, 1.0, 0.375]
    assert s.tolist() == [0, 0, 0, 1, 0, 0, 1, 0, 0, 1]


def test_if_rate_matches_closed_form():
    # Reset by subtraction conserves charge: after t steps of input x the spike count is
    # floor(x * t / vth) when x * t / vth is never an integer (no ties).
    x, vth, steps = 0.3, 1.0, 199   # 59.7: far from a tie
    _, _, s = one_neuron(sa.IF(vth=vth), x, steps + 1)
    assert s.sum() == int(np.floor(x * steps / vth))


def test_lif_refractory_period():
    # spike at t=1; held at v_reset for t=2,3; next spike at t=4, ...
    _, v, s = one_neuron(sa.LIF(du=1.0, dv=0.0, vth=0.5, refractory=2), 1.0, 9)
    assert s.tolist() == [0, 1, 0, 0, 1, 0, 0, 1, 0]
    assert v.tolist() == [0.0] * 9


def test_lif_matches_geometric_closed_form_below_threshold():
    # du=1 (no current memory), dv=0.1, input 0.3: v_t = 0.3 * (1 - 0.9**t) / 0.1, approaching 3
    _, v, s = one_neuron(sa.LIF(du=1.0, dv=0.1, vth=10.0), 0.3, 30)
    t = np.arange(30)
    np.testing.assert_allclose(v, 3.0 * (1 - 0.9 ** t), rtol=0, atol=1e-12)
    assert s.sum() == 0


@pytest.mark.parametrize("weight, expected", [
    # u = trunc0(u * 3071) + (w << 6); v = trunc0(v * 3584) + u; spike if v > 300 << 6 = 19200
    (50, [(0, 0, 0), (3200, 3200, 0), (5599, 8399, 0), (7397, 14746, 0), (8745, 0, 1), (9756, 9756, 0)]),
    # trunc0 rounds toward zero: -3200 * 3071 / 4096 = -2399.2 -> -2399 (not -2400)
    (-50, [(0, 0, 0), (-3200, -3200, 0), (-5599, -8399, 0), (-7397, -14746, 0), (-8745, -21647, 0),
           (-9756, -28697, 0)]),
])
def test_loihi_fixed_point_trajectory(weight, expected):
    u, v, s = one_neuron(sa.LoihiLIF(du=1024, dv=512, vth=300), None, 6, weight=weight, fixed=True)
    assert list(zip(u.tolist(), v.tolist(), s.tolist())) == expected


def test_loihi_bias_exponent_and_saturation():
    # bias = 4095 << 7 = 524160 per step (and -4096 << 7 = -524288), no leak, no input.
    # v saturates at +-(2**23 - 1) = +-8388607; the threshold 131071 << 6 = 8388544 lies just
    # below the positive limit, so neuron 0 fires when it saturates, neuron 1 never.
    c = sa.Circuit("b")
    c.add_population("n", 2, sa.LoihiLIF(du=0, dv=0, vth=2**17 - 1, bias_mant=np.array([4095, -4096]),
                                         bias_exp=np.array([7, 7])))
    c.probe("n", ("u", "v"))
    r = sa.simulate(c, steps=20)
    v = r.probes["n"]["v"][:, 0]
    assert v[0].tolist() == [524160, -524288]
    assert v[15].tolist() == [16 * 524160, -(2**23 - 1)]     # -16 * 524288 = -2**23 saturates
    assert v[16].tolist() == [0, -(2**23 - 1)]              # 17 * 524160 clips to 8388607 > 8388544
    assert v[17].tolist() == [524160, -(2**23 - 1)]
    assert np.flatnonzero(r.spikes["n"][:, 0, 0]).tolist() == [16]
    assert r.spikes["n"][:, 0, 1].sum() == 0
    assert not r.probes["n"]["u"].any()
