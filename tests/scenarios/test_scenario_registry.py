"""Scenarios are found through spikeattn.registry: built-in modules load on first lookup, a
second scenario under a taken name is refused, a new one is found by run_scenario."""
from __future__ import annotations

import numpy as np
import pytest

import scenarios
from scenarios.base import SCENARIOS, BUILTIN_MODULES, ScenarioOutcome, scenario
from scenarios.outcome import Outcome
from scenarios.params import common_params
from spikeattn import LIF, Circuit, simulate
from spikeattn.registry import DuplicateNameError


def test_every_builtin_module_registers_at_least_one_scenario():
    names = scenarios.load_all().names()
    assert {"wta-routing", "moe-routing", "energy-vs-gpu"} <= set(names)
    origins = {SCENARIOS[n].fn.__module__.rpartition(".")[2] for n in names}
    assert origins >= set(BUILTIN_MODULES)


def test_a_second_scenario_under_a_taken_name_is_refused():
    with pytest.raises(DuplicateNameError, match="two scenarios named 'wta-routing'"):
        @scenario("wta-routing", "an impostor", common_params(steps=4, batch=1))
        def impostor(cfg):
            return ScenarioOutcome(result=None, outcome={})


def _echo_circuit():
    c = Circuit("echo", 1e-3)
    c.add_source("x", 4, encoder="spikes")
    c.add_population("y", 4, LIF(vth=0.5))
    c.connect("x", "y", np.eye(4))
    return c


def test_a_scenario_registered_from_outside_runs_through_run_scenario():
    x = np.random.default_rng(0).random((6, 2, 4)) < 0.5

    @scenario("test-plugin-echo", "one source into LIF, on the chosen engine", common_params(steps=6, batch=2))
    def echo(cfg):
        res = simulate(_echo_circuit(), {"x": x}, steps=cfg.p["steps"], engine=cfg.engine)
        return ScenarioOutcome(result=res, outcome=Outcome().to_dict())

    try:
        r = scenarios.run_scenario("test-plugin-echo")
        direct = simulate(_echo_circuit(), {"x": x}, steps=6)
        assert r.result.spikes["y"].any() and np.array_equal(r.result.spikes["y"], direct.spikes["y"])
        assert r.result.counts == direct.counts
    finally:
        SCENARIOS.unregister("test-plugin-echo")
