"""Fixed-point conversion neurons (LoihiMultiThresholdIF, LoihiGradedReLU): validation,
files, literal hand-computed trajectories on the numpy engine, count-message accounting in
closed form, and the refusals of engines that cannot run them.

Every expected value below is worked out by hand from the equations in
/tmp/prompts/fixed_spec.md (copied into the models' docstrings), never recorded from a run.
"""
from __future__ import annotations

import numpy as np
import pytest

import spikeattn as sa
from spikeattn.errors import ParameterError, SpikeattnWarning, UnsupportedFeatureError
from spikeattn.ir import LoihiGradedReLU, LoihiMultiThresholdIF

V_MAX = 2**23 - 1


def _graded_in(name, values):
    """(steps, 1, size) integer input of a graded source."""
    return np.asarray(values, np.int64)[:, None, :]


def _one_to_one(model, x, weight=1, weight_exp=0, probe=True, **sim):
    """Graded source -> model, one-to-one weight ``weight``, delay 1; input x (steps, size)."""
    x = np.asarray(x, np.int64)
    c = sa.Circuit("t")
    c.add_source("x", x.shape[1], encoder="graded")
    c.add_population("p", x.shape[1], model)
    c.connect("x", "p", np.eye(x.shape[1], dtype=np.int64) * weight, message="graded", weight_exp=weight_exp)
    if probe:
        c.probe("p", ("v",))
    return sa.simulate(c, {"x": _graded_in("x", x)}, steps=x.shape[0], engine="numpy", **sim)


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize("kwargs, field", [
    ({"vth": 0}, "vth"), ({"vth": 2**23}, "vth"), ({"vth": 2.5}, "vth"),
    ({"levels": 0}, "levels"), ({"levels": 256}, "levels"), ({"levels": 2.0}, "levels"),
    ({"signed": 1}, "signed"), ({"bias_mant": 2**12}, "bias_mant"), ({"bias_mant": -(2**12) - 1}, "bias_mant"),
    ({"bias_exp": 8}, "bias_exp"), ({"bias_exp": -9}, "bias_exp"), ({"vth": [10, 10, 10]}, "vth"),
])
def test_multi_threshold_validation_names_field(kwargs, field):
    c = sa.Circuit("v")
    with pytest.raises(ParameterError) as e:
        c.add_population("p", 2, LoihiMultiThresholdIF(**kwargs))
    assert e.value.field == field and "population 'p'" in str(e.value)


@pytest.mark.parametrize("vth", [-1, 2**23, 0.5, [1, 2, 3]])
def test_graded_relu_validation_names_field(vth):
    with pytest.raises(ParameterError) as e:
        sa.Circuit("v").add_population("p", 2, LoihiGradedReLU(vth=vth))
    assert e.value.field == "vth"


def test_limits_are_accepted():
    c = sa.Circuit("ok")
    c.add_population("a", 2, LoihiMultiThresholdIF(vth=[1, V_MAX], levels=255, signed=True,
                                                   bias_mant=[-(2**12), 2**12 - 1], bias_exp=[-8, 7]))
    c.add_population("b", 2, LoihiGradedReLU(vth=[0, V_MAX]))


def test_float_weights_into_fixed_point_refused():
    c = sa.Circuit("w")
    c.add_source("x", 1, encoder="graded")
    c.add_population("p", 1, LoihiGradedReLU())
    with pytest.raises(ParameterError):
        c.connect("x", "p", np.array([[0.5]]))


def test_mixing_with_float_population_refused():
    c = sa.Circuit("m")
    c.add_population("f", 1, sa.LIF())
    c.add_population("p", 1, LoihiMultiThresholdIF())
    with pytest.raises(sa.SpikeattnError):
        c.connect("f", "p", np.array([[1]]))


def test_save_load_round_trip(tmp_path):
    c = sa.Circuit("rt")
    c.add_source("x", 3, encoder="graded")
    c.add_population("m", 3, LoihiMultiThresholdIF(vth=[5, 6, 7], levels=7, signed=True,
                                                   bias_mant=[1, -2, 3], bias_exp=-1))
    c.add_population("g", 3, LoihiGradedReLU(vth=np.array([0, 2, 4])))
    c.connect("x", "m", np.eye(3, dtype=np.int64) * 4, message="graded", weight_exp=2)
    c.connect("m", "g", np.full((3, 3), -6), message="count", delay=2)
    c.probe("m", ("v",))
    sa.save(c, tmp_path / "c.zip")
    back = sa.load(tmp_path / "c.zip")
    assert back == c
    assert type(back.populations["m"].model) is LoihiMultiThresholdIF
    assert back.populations["m"].model.signed is True and back.populations["m"].model.levels == 7
    assert np.array_equal(back.populations["g"].model.vth, [0, 2, 4])


# ------------------------------------------------------------------ literal trajectories
def test_multi_threshold_signed_literal_trajectory():
    """vth=10, L=3, signed; inputs arrive one step later (delay 1).  By hand:
    step 1: v=+-25 -> n=+-2 ((25-1)//10), v=+-5
    step 2: v=+-45 -> 4 thresholds exceeded, clipped at L=3, residue v=+-15 carried
    step 3: v=+-15 -> n=+-1, v=+-5
    step 4: v=10 (exactly vth: strict, no spike) and v=0
    step 5: v=11 -> 1, v=1;  v=-11 -> -1, v=-1."""
    x = [[25, -25], [40, -40], [0, 0], [5, 5], [1, -11], [0, 0]]
    r = _one_to_one(LoihiMultiThresholdIF(vth=10, levels=3, signed=True), x)
    assert r.spikes["p"].dtype == np.int64
    assert r.spikes["p"][:, 0].tolist() == [[0, 0], [2, -2], [3, -3], [1, -1], [0, 0], [1, -1]]
    assert r.probes["p"]["v"][:, 0].tolist() == [[0, 0], [5, -5], [15, -15], [5, -5], [10, 0], [1, -1]]
    assert r.counts.totals()["spikes"] == 8
    assert not r.diagnostics


def test_multi_threshold_unsigned_ignores_negative_v():
    """Unsigned: v <= 0 never emits; v=-25 stays (no leak), then +40 -> v=15 -> n=1, v=5."""
    r = _one_to_one(LoihiMultiThresholdIF(vth=10, levels=3), [[-25], [40], [0]])
    assert r.spikes["p"][:, 0, 0].tolist() == [0, 0, 1]
    assert r.probes["p"]["v"][:, 0, 0].tolist() == [0, -25, 5]


def test_multi_threshold_saturation_at_24_bits():
    """v = 2**23 + 100 saturates to 2**23 - 1 = 8388607; n = L = 3; v = 8388607 - 30.
    Negative side: -(2**23 + 5) -> -8388607 -> n = -3 -> v = -8388577."""
    with pytest.warns(SpikeattnWarning, match="saturat"):
        r = _one_to_one(LoihiMultiThresholdIF(vth=10, levels=3, signed=True), [[2**23 + 100, -(2**23 + 5)], [0, 0]])
    assert r.spikes["p"][1, 0].tolist() == [3, -3]
    assert r.probes["p"]["v"][1, 0].tolist() == [8388577, -8388577]
    assert r.diagnostics["p"]["saturation:v"][:, 0].tolist() == [0, 2]


def test_multi_threshold_int32_wrap_reported():
    """a_in = (2**30 + 4) << 1 = 2**31 + 8 leaves int32; v + a_in wraps to -(2**31) + 8,
    saturates at -(2**23 - 1), emits n = -3, v = -(2**23 - 1) + 30."""
    with pytest.warns(SpikeattnWarning, match="wrapped"):
        r = _one_to_one(LoihiMultiThresholdIF(vth=10, levels=3, signed=True), [[2**30 + 4], [0]],
                        weight_exp=1, on_overflow="warn")
    assert r.probes["p"]["v"][1, 0, 0] == -V_MAX + 30
    assert r.spikes["p"][1, 0, 0] == -3
    d = r.diagnostics["p"]
    assert d["overflow:v"][:, 0].tolist() == [0, 1] and d["overflow:a_in"][:, 0].tolist() == [0, 1]


def test_multi_threshold_bias_exp_shifts():
    """bias = bias_mant << bias_exp: 3 << 2 = 12; -3 >> 1 = -2 (floor).  Neuron 0 (vth=10):
    v = 12 -> 1 spike, 2; 14 -> 1, 4; 16 -> 6; 18 -> 8; 20 -> (19//10)=1, 10; 22 -> 2, 2.
    Neuron 1 (unsigned) only falls: -2, -4, ..., -12."""
    m = LoihiMultiThresholdIF(vth=10, levels=3, bias_mant=[3, -3], bias_exp=[2, -1])
    r = _one_to_one(m, np.zeros((6, 2)))
    assert r.spikes["p"][:, 0, 0].tolist() == [1, 1, 1, 1, 1, 2]
    assert r.probes["p"]["v"][:, 0].tolist() == [[2, -2], [4, -4], [6, -6], [8, -8], [10, -10], [2, -12]]
    # bias != 0: every update is active; both neurons, six steps
    assert r.counts.totals()["neuron_updates_active"] == 12


def test_weight_exp_shifts_input():
    """a_in = (w * x) << weight_exp: 3 * 5 << 1 = 30 -> n = 2 (29 // 10), v = 10;
    with weight_exp = -2: 15 >> 2 = 3 (and -15 >> 2 = -4, floor)."""
    r = _one_to_one(LoihiMultiThresholdIF(vth=10, levels=3), [[5], [0]], weight=3, weight_exp=1)
    assert (r.spikes["p"][1, 0, 0], r.probes["p"]["v"][1, 0, 0]) == (2, 10)
    r = _one_to_one(LoihiGradedReLU(), [[5, -5], [0, 0]], weight=3, weight_exp=-2)
    assert r.probes["p"]["v"][1, 0].tolist() == [3, -4]


def test_graded_relu_literal_trajectory():
    """vth = [0, 2], memoryless: v = a_in; s = v - vth where v > vth.
    x=3 -> s=[3,1]; x=2 -> [2,0]; x=-5 -> [0,0] (v=-5); x=[0,1] -> [0,0]."""
    r = _one_to_one(LoihiGradedReLU(vth=[0, 2]), [[3, 3], [2, 2], [-5, -5], [0, 1], [0, 0]])
    assert r.spikes["p"][:, 0].tolist() == [[0, 0], [3, 1], [2, 0], [0, 0], [0, 0]]
    assert r.probes["p"]["v"][:, 0].tolist() == [[0, 0], [3, 3], [2, 2], [-5, -5], [0, 1]]
    # memoryless: active only where an event arrived (x != 0 one step earlier): 2 + 2 + 2 + 1
    assert r.counts.totals()["neuron_updates_active"] == 7


def test_dynamics_step_per_neuron_vth_batch_literal():
    """The pure step on a batch of 2, vth = [3, 7], L = 2, signed, v = 0 before:
    10 / 3 -> (9 // 3) = 3 clipped to 2, v = 4;   10 / 7 -> 1, v = 3;
    -10 / 3 -> -2, v = -4;                        22 / 7 -> (21 // 7) = 3 clipped to 2, v = 8."""
    from spikeattn.dynamics import LoihiMultiThresholdIFDynamics, dynamics_for
    pop = sa.Population("p", 2, LoihiMultiThresholdIF(vth=[3, 7], levels=2, signed=True))
    dyn = dynamics_for(pop.model)
    assert type(dyn) is LoihiMultiThresholdIFDynamics and dyn.fixed_point and dyn.dtype == np.int64
    params, state = dyn.params(pop), dyn.init_state(pop, 2)
    before = {k: v.copy() for k, v in state.items()}
    s, new = dyn.step(params, state, np.array([[10, 10], [-10, 22]]))
    assert s.tolist() == [[2, 1], [-2, 2]] and new["v"].tolist() == [[4, 3], [-4, 8]]
    assert all(np.array_equal(before[k], state[k]) for k in state)      # pure
    # active rule: v != 0 or bias != 0 (no leak); the graded ReLU carries nothing
    assert dyn.carries(params, new).tolist() == [[True, True], [True, True]]
    assert not dyn.carries(params, {"v": np.zeros((1, 2), np.int64)}).any()
    g = sa.Population("g", 2, LoihiGradedReLU(vth=1))
    gd = dynamics_for(g.model)
    assert not gd.carries(gd.params(g), {"v": np.array([[5, -5]])}).any()


# ------------------------------------------------------------------ messages and counts
def test_count_messages_ac_count_closed_form():
    """MTIF (vth=10, L=3, signed) -> GradedReLU over a count projection, W (post, pre) =
    [[2, -3], [6, 0]]: mixed sign, 8 bits -> Lava truncates 1 LSB: -3 -> -4; 3 synapses
    (fan-out 2 and 1).  Levels n (by hand, as in the signed trajectory): step1 [2,-2],
    step2 [3,-3], step3 [1,-1].  Post input at t+1: acc = W' @ n, e.g. step 2:
    [2*2 + (-4)(-2), 6*2] = [12, 12].  ACs = sum |n_pre| * fan_out = (2+3+1)*2 + (2+3+1)*1 = 18."""
    c = sa.Circuit("cnt")
    c.add_source("x", 2, encoder="graded")
    c.add_population("m", 2, LoihiMultiThresholdIF(vth=10, levels=3, signed=True))
    c.add_population("g", 2, LoihiGradedReLU(vth=0))
    c.connect("x", "m", np.eye(2, dtype=np.int64), message="graded")
    c.connect("m", "g", np.array([[2, -3], [6, 0]]), message="count", name="mg")
    c.probe("g", ("v",))
    x = _graded_in("x", [[25, -25], [40, -40], [0, 0], [0, 0], [0, 0]])
    r = sa.simulate(c, {"x": x}, steps=5, engine="numpy")
    assert r.probes["g"]["v"][:, 0].tolist() == [[0, 0], [0, 0], [12, 12], [18, 18], [6, 6]]
    f = r.counts.elements["mg"].fields
    assert f["synaptic_acs"][:, 0].tolist() == [0, 6, 9, 3, 0]
    assert int(f["synaptic_macs"].sum()) == 0
    assert f["messages"][:, 0].tolist() == [0, 2, 2, 2, 0]
    assert int(f["weight_bytes_read"].sum()) == 18
    assert r.counts.elements["mg"].meta["synapses"] == 3


def test_count_sum_wraps_int32_before_weight_exp():
    """33100 inputs of 255 over weights 255: acc = 33100 * 65025 = 2152327500 > 2**31.
    Lava's graded Dense sums in int32: wrap32(acc) = 2152327500 - 2**32 = -2142639796,
    then >> 8 = floor(-8369686.70) = -8369687 (no saturation); without the wrap it would be
    8407529 and saturate at 8388607."""
    n = 33100
    c = sa.Circuit("wrap")
    c.add_source("x", n, encoder="graded")
    c.add_population("g", 1, LoihiGradedReLU())
    c.connect("x", "g", np.full((1, n), 255), message="count", weight_exp=-8)
    c.probe("g", ("v",))
    r = sa.simulate(c, {"x": np.full((2, 1, n), 255, np.int64)}, steps=2, engine="numpy")
    assert r.probes["g"]["v"][1, 0, 0] == -8369687
    assert r.counts.elements["x->g"].fields["synaptic_acs"][0, 0] == n * 255


def test_binary_from_signed_level_neuron_sends_sign():
    """Binary message from a signed MTIF: acc = W' @ sign(n), one AC per synapse whatever
    the level.  Levels (as in the signed trajectory) step 1 [2, -2], step 2 [3, -3], step 3
    [1, -1]; one-to-one weight 6 gives a_in = [6, -6] one step later each time."""
    c = sa.Circuit("bin")
    c.add_source("x", 2, encoder="graded")
    c.add_population("m", 2, LoihiMultiThresholdIF(vth=10, levels=3, signed=True))
    c.add_population("g", 2, LoihiGradedReLU())
    c.connect("x", "m", np.eye(2, dtype=np.int64), message="graded")
    c.connect("m", "g", np.eye(2, dtype=np.int64) * 6, message="binary", name="mg")
    c.probe("g", ("v",))
    r = sa.simulate(c, {"x": _graded_in("x", [[25, -25], [40, -40], [0, 0]])}, steps=4, engine="numpy")
    assert r.probes["g"]["v"][:, 0].tolist() == [[0, 0], [0, 0], [6, -6], [6, -6]]
    assert r.counts.elements["mg"].fields["synaptic_acs"][:, 0].tolist() == [0, 2, 2, 2]


# ------------------------------------------------------------------ engines that refuse
def _small_circuit():
    c = sa.Circuit("ref")
    c.add_source("x", 2, encoder="graded")
    c.add_population("m", 2, LoihiMultiThresholdIF(vth=10, levels=3, signed=True))
    c.connect("x", "m", np.eye(2, dtype=np.int64), message="graded")
    return c


def test_brian2_refuses_naming_engines_that_can():
    pytest.importorskip("brian2", reason="the brian2 extra is not installed in this venv")
    with pytest.raises(UnsupportedFeatureError) as e:
        sa.simulate(_small_circuit(), {"x": np.zeros((2, 1, 2), np.int64)}, steps=2, engine="brian2")
    msg = str(e.value)
    assert "model:loihi_multi_threshold_if" in msg and "numpy" in msg and "lava" in msg


def test_required_feature_keys():
    from spikeattn.engines.features import FEATURES, required_features
    c = _small_circuit()
    c.add_population("g", 2, LoihiGradedReLU())
    c.connect("m", "g", np.eye(2, dtype=np.int64), message="count")
    keys = {f for _, f in required_features(c)}
    assert {"model:loihi_multi_threshold_if", "model:loihi_graded_relu", "projection:count"} <= keys
    assert {"model:loihi_multi_threshold_if", "model:loihi_graded_relu"} <= set(FEATURES)
