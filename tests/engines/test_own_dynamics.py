"""A model subclass with a Dynamics of its own runs with its own equations or is refused up
front, on every engine: never silently run with its parent kind's equations (Brian2 and Lava
lower each kind to their own equations and used to do exactly that).

Oracle: ``DoubleLIF`` doubles its input, so it must spike exactly as a plain LIF whose
weights are doubled (one synapse per neuron, and doubling is exact in binary floating point,
so the two inputs are equal bit for bit)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import spikeattn as sa
from spikeattn.dynamics import DYNAMICS, LIFDynamics, register_dynamics
from spikeattn.engines import ENGINES, engine_class
from spikeattn.engines.features import own_dynamics
from spikeattn.errors import UnsupportedFeatureError
from spikeattn.ir import LIF, Circuit


@dataclass(frozen=True, eq=False)
class DoubleLIF(LIF):
    """LIF that receives twice its synaptic input."""


@register_dynamics(DoubleLIF)
class DoubleLIFDynamics(LIFDynamics):
    def step(self, params, state, a_in):
        return super().step(params, state, 2 * a_in)


@dataclass(frozen=True, eq=False)
class PlainSub(LIF):
    """A subclass without Dynamics of its own: it is an LIF everywhere."""


def _circuit(model, w):
    c = Circuit("own")
    c.add_source("x", 3)
    c.add_population("h", 3, model)
    c.connect("x", "h", np.diag(w))
    return c


W = np.array([0.3, 0.2, 0.45])
X = np.random.default_rng(4).random((12, 2, 3)) < 0.6


def test_own_dynamics_is_detected_and_a_plain_subclass_is_not():
    assert own_dynamics(DoubleLIF(vth=0.5)) == "DoubleLIFDynamics"
    assert own_dynamics(PlainSub(vth=0.5)) is None and own_dynamics(LIF(vth=0.5)) is None


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_every_engine_runs_the_models_own_equations_or_refuses(engine):
    own = _circuit(DoubleLIF(vth=0.5, du=0.5, dv=0.8), W)
    if engine_class(engine).missing_features(own):       # refused up front, before anything runs
        with pytest.raises(UnsupportedFeatureError, match=r"DoubleLIF.*(model:own_dynamics|numpy)"):
            sa.simulate(own, {"x": X}, steps=12, engine=engine)
        return
    if engine_class(engine).unavailable():
        pytest.skip(f"engine '{engine}' is not installed here: {engine_class(engine).unavailable()}")
    got = sa.simulate(own, {"x": X}, steps=12, engine=engine)
    ref = sa.simulate(_circuit(LIF(vth=0.5, du=0.5, dv=0.8), 2 * W), {"x": X}, steps=12, engine=engine)
    assert ref.spikes["h"].any()
    assert np.array_equal(got.spikes["h"], ref.spikes["h"])


def test_numpy_runs_it():
    assert DoubleLIF in DYNAMICS
    got = sa.simulate(_circuit(DoubleLIF(vth=0.5, du=0.5, dv=0.8), W), {"x": X}, steps=12)
    ref = sa.simulate(_circuit(LIF(vth=0.5, du=0.5, dv=0.8), 2 * W), {"x": X}, steps=12)
    assert np.array_equal(got.spikes["h"], ref.spikes["h"]) and got.counts == ref.counts
