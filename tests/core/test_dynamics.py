"""The model-behaviour layer: dispatch, pure steps against literal trajectories, the active
rule, and overflow reporting (``on_overflow``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

import spikeattn as sa
from spikeattn.dynamics import (LIFDynamics, LoihiLIFDynamics, dynamics_for, register_dynamics)
from spikeattn.errors import FixedPointOverflowError, SpikeattnWarning, UnsupportedFeatureError
from spikeattn.ir import LIF, register_model


def _run_steps(model, a_seq, size=1, batch=1):
    pop = sa.Population("p", size, model)
    dyn = dynamics_for(model)
    params, state = dyn.params(pop), dyn.init_state(pop, batch)
    out = []
    for a in a_seq:
        s, state = dyn.step(params, state, np.full((batch, size), a, dyn.dtype))
        out.append((bool(s[0, 0]), {k: v[0, 0].item() for k, v in state.items()}))
    return out


def test_lif_step_literal_trajectory():
    """Norse-style: constant input 0.25 into LIF du=0.5, dv=0.5, vth=1 (values by hand):
    u = 0.25, 0.375, 0.4375, 0.46875; v = 0.25, 0.5, 0.6875, 0.8125."""
    out = _run_steps(LIF(du=0.5, dv=0.5, vth=1.0), [0.25] * 4)
    assert [o[1]["u"] for o in out] == [0.25, 0.375, 0.4375, 0.46875]
    assert [o[1]["v"] for o in out] == [0.25, 0.5, 0.6875, 0.8125]
    assert not any(o[0] for o in out)


def test_if_subtract_step_literal_trajectory():
    out = _run_steps(sa.IF(vth=1.0), [0.75] * 4)
    # 0.75; 1.5 -> spike -> 0.5; 1.25 -> spike -> 0.25; 1.0 (strict threshold: no spike)
    assert [o[0] for o in out] == [False, True, True, False]
    assert [o[1]["v"] for o in out] == [0.75, 0.5, 0.25, 1.0]


def test_loihi_step_literal_trajectory():
    """u1 = trunc0(u*(4096-(du+1))) + (a<<6): with du=4095 (no memory) u = a<<6; v accumulates
    (dv=0) 64*3 = 192 per step and fires above vth<<6 = 320, then v = 0."""
    out = _run_steps(sa.LoihiLIF(du=4095, dv=0, vth=5), [3] * 3)
    assert [o[1]["u"] for o in out] == [192, 192, 192]
    assert [o[1]["v"] for o in out] == [192, 0, 192]
    assert [o[0] for o in out] == [False, True, False]


def test_step_is_pure():
    pop = sa.Population("p", 2, LIF(du=0.5))
    dyn = dynamics_for(pop.model)
    params, state = dyn.params(pop), dyn.init_state(pop, 1)
    before = {k: v.copy() for k, v in state.items()}
    dyn.step(params, state, np.ones((1, 2)))
    assert all(np.array_equal(before[k], state[k]) for k in state)


def test_active_rule_lif():
    pop = sa.Population("p", 3, LIF(du=1.0, dv=0.5))
    dyn = dynamics_for(pop.model)
    state = {"u": np.array([[2.0, 0.0, 0.0]]), "v": np.array([[0.0, 0.0, 0.5]])}
    # u * (1 - du) = 0: the input held in u is no work; v * (1 - dv) != 0 carries
    assert dyn.carries(dyn.params(pop), state).tolist() == [[False, False, True]]


def test_dispatch_walks_the_class_hierarchy():
    assert type(dynamics_for(sa.IF())) is LIFDynamics
    assert type(dynamics_for(sa.LoihiLIF())) is LoihiLIFDynamics

    class Unregistered:
        kind = "nothing"
    with pytest.raises(UnsupportedFeatureError, match="register_dynamics"):
        dynamics_for(Unregistered)


@register_model
@dataclass(frozen=True, eq=False)
class DoubleInputLIF(LIF):
    """An LIF whose synaptic input counts twice (a model with its own step)."""
    kind: ClassVar[str] = "test_double_lif"


@register_dynamics(DoubleInputLIF)
class DoubleInputDynamics(LIFDynamics):
    def step(self, params, state, a_in):
        return super().step(params, state, 2 * a_in)


def test_subclass_with_own_dynamics_is_never_run_as_its_parent():
    """The numpy engine steps the subclass's own Dynamics; the fused path, which implements
    LIFDynamics only, refuses it by name (it used to accept any LIF subclass via isinstance
    and run plain LIF: 68 spikes fused against 35 neuron by neuron)."""
    from spikeattn.engines.numpy.vectorised import why_not_fusable

    c = sa.Circuit("sub")
    c.add_source("x", 4)
    c.add_population("n", 3, DoubleInputLIF(du=1.0, dv=0.0, vth=1.0))
    c.connect("x", "n", np.full((3, 4), 0.25))
    c.meta["fused"] = "vectorised"
    x = np.ones((6, 1, 4), bool)
    plain = sa.simulate(c, {"x": x}, steps=6)
    # input 1.0 per step counts 2.0: v = 2 > 1 -> spike every step from step 1 (subtract: no; zero reset)
    assert plain.spikes["n"][1:, 0].all() and not plain.spikes["n"][0].any()
    assert "DoubleInputDynamics" in why_not_fusable(c)
    with pytest.warns(SpikeattnWarning, match="DoubleInputDynamics"):
        fused = sa.simulate(c, {"x": x}, steps=6, fused=True)
    assert "fused" not in fused.meta
    assert np.array_equal(fused.spikes["n"], plain.spikes["n"])


def _overflow_circuit():
    c = sa.Circuit("ovf")
    c.add_source("x", 64)
    c.add_population("h", 2, sa.LoihiLIF(du=4095, dv=0, vth=1000))
    c.connect("x", "h", np.full((2, 64), 255), weight_exp=16)
    return c, {"x": np.ones((4, 1, 64), bool)}


def test_overflow_is_reported_and_the_wrap_kept():
    """The issue's example: exact input to u 64*255*2**16*2**6 = 68,451,041,280; Lava's int32
    wrap and 24-bit correction give u = -251,658,240.  Kept, counted, warned."""
    c, inp = _overflow_circuit()
    c.probe("h", ("u",))
    with pytest.warns(SpikeattnWarning, match=r"population 'h': state 'a_in' wrapped .* first at step 1"):
        r = sa.simulate(c, inp, steps=4)
    assert r.probes["h"]["u"][1, 0].tolist() == [-251658240, -251658240]
    assert r.diagnostics["h"]["overflow:a_in"][:, 0].tolist() == [0, 2, 2, 2]
    assert r.summary()["diagnostics"]["h"]["overflow:a_in"] == 6


def test_overflow_raise_names_population_step_and_variable():
    c, inp = _overflow_circuit()
    with pytest.raises(FixedPointOverflowError, match=r"population 'h': state 'a_in'.*step 1"):
        sa.simulate(c, inp, steps=4, on_overflow="raise")


def test_overflow_wrap_mode_is_quiet_but_counted():
    import warnings
    c, inp = _overflow_circuit()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = sa.simulate(c, inp, steps=4, on_overflow="wrap")
    assert r.diagnostics["h"]["overflow:a_in"].sum() == 6


def test_saturation_of_v_is_reported():
    c = sa.Circuit("sat")
    c.add_population("h", 1, sa.LoihiLIF(du=4095, dv=0, vth=2**17 - 1, bias_mant=4095, bias_exp=7))
    with pytest.warns(SpikeattnWarning, match="saturated"):
        r = sa.simulate(c, steps=30)
    # bias 4095 << 7 = 524160 per step: v passes 2**23 - 1 = 8388607 at step 16
    assert np.flatnonzero(r.diagnostics["h"]["saturation:v"][:, 0])[0] == 16


def test_float_state_becoming_infinite_is_reported():
    c = sa.Circuit("inf")
    c.add_source("x", 2)
    c.add_population("h", 1, LIF(du=0.0, dv=0.0, vth=1e308))
    c.connect("x", "h", np.full((1, 2), 1e308))
    with pytest.warns(SpikeattnWarning, match="state 'u' became inf or NaN"):
        r = sa.simulate(c, {"x": np.ones((3, 1, 2), bool)}, steps=3)
    assert r.diagnostics["h"]["nonfinite:u"][:, 0].tolist() == [0, 1, 0]


def test_unknown_on_overflow_mode_is_refused():
    c, inp = _overflow_circuit()
    with pytest.raises(sa.SpikeattnError, match="on_overflow"):
        sa.simulate(c, inp, steps=2, on_overflow="ignore")
