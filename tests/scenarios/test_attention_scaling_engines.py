"""attention-scaling on engines other than numpy: every simulation at verify_n (SDSA, the SSA
orders/formula checks, the neuron-level verification of the fused counters, the 2-layer
stack) runs on the chosen engine, and its checks pass against the same oracles as on numpy
(dense formulas, the fixed-point SSA oracle on Lava, the fused EventCounts)."""
from pathlib import Path

import numpy as np
import pytest

import scenarios
import spikeattn
from scenarios.attention_scaling import ssa_mode
from scenarios.attention_cost import VARIANTS
from spikeattn.engines.lava.engine import lava_importable

LAVA_PYTHON = Path(__file__).resolve().parents[2] / ".venv-lava" / "bin" / "python"
LAVA_OK = lava_importable() or LAVA_PYTHON.is_file()
SMALL = {"steps": 4, "scaling_n": [32, 64], "verify_n": 8}
# SSA arithmetic each engine is expected to use: the float circuit where the engine sums floats in
# the defined order (features.FEATURES["float:order_exact"]), Loihi fixed point on Lava.
ARITHMETIC = {"compiled": "float", "lava": "fixed"}


def _run(engine):
    r = scenarios.run_scenario("attention-scaling", engine=engine, seed=3, **SMALL)
    ref = scenarios.run_scenario("attention-scaling", engine="numpy", seed=3, **SMALL)
    return r, ref


def _assert_on_engine(r, ref, engine):
    assert r.passed, r.checks
    assert set(r.checks) == set(ref.checks)
    assert r.reduced == {}
    assert r.result.engine == engine
    det = r.outcome.outcome["details"]
    eng = det["engines"]
    assert eng["ssa_checks"] == engine and eng["stack"] == engine
    assert eng["ssa_arithmetic"] == ARITHMETIC[engine]
    # each spiking variant ran neuron by neuron on the engine (the engine's own SimResult.engine)
    assert eng["verification"] == {v: engine for v in VARIANTS[1:]}
    assert all(row["verified_equal_counts"] is True for row in det["verification_rows"])
    # the scaling rows are the fused counters: identical to numpy's; so is SDSA's output
    assert det["rows"] == [{**row, "wall_s": x["wall_s"]} for row, x in zip(ref.outcome.outcome["details"]["rows"],
                                                                              det["rows"])]
    assert np.array_equal(np.asarray(r.result.spikes["y"]), np.asarray(ref.result.spikes["y"]))


@pytest.mark.slow
def test_attention_scaling_runs_on_the_compiled_engine():
    pytest.importorskip("numba", reason="the fast extra (numba) is not installed: 'compiled' would fall back to numpy")
    _assert_on_engine(*_run("compiled"), "compiled")


@pytest.mark.slow
@pytest.mark.skipif(not LAVA_OK, reason=f"lava-nc is not importable and there is no Lava venv at {LAVA_PYTHON} "
                                        "(create it with `make venv-lava`)")
def test_attention_scaling_runs_on_lava():
    r, ref = _run("lava")
    _assert_on_engine(r, ref, "lava")
    # the 2-layer stack in fixed point gives the float stack's alignment (same integer maps)
    assert r.metrics["alignment_head0"] == pytest.approx(ref.metrics["alignment_head0"])


def test_ssa_mode_follows_the_engines_declared_features():
    assert ssa_mode("numpy", 8, 8, 2) == ("float", "")
    assert ssa_mode("compiled", 8, 8, 2) == ("float", "")
    assert ssa_mode("lava", 8, 8, 2) == ("fixed", "")          # no float:order_exact on Lava


def test_an_engine_without_graded_neurons_runs_ssa_on_numpy_and_says_so():
    """A LIF-only engine (the numpy engine restricted to LIF features): SDSA and its verification
    run on it; SSA (graded accumulators) falls back to numpy, named per part and per variant."""
    from spikeattn.engines.base import ENGINES, register_engine
    from spikeattn.engines.numpy.engine import NumpyEngine

    class LifOnly(NumpyEngine):
        name = "lifonly"
        supported = frozenset({"model:lif", "projection:sparse", "projection:long_delay", "probe",
                               "float:order_exact"})
        options_allowed = frozenset()

    register_engine("lifonly", LifOnly)
    try:
        assert ssa_mode("lifonly", 8, 8, 2)[0] is None
        r = scenarios.run_scenario("attention-scaling", engine="lifonly", seed=3, **SMALL)
    finally:
        ENGINES.pop("lifonly")
    assert r.passed, r.checks
    assert r.result.engine == "lifonly"
    assert set(r.reduced) == {"ssa_numpy", "verification_numpy"}
    assert "cannot run SSA's" in r.reduced["ssa_numpy"]["why"] and "graded" in r.reduced["ssa_numpy"]["why"]
    assert set(r.reduced["verification_numpy"]["per_variant"]) == {"ssa_qk_v", "ssa_q_kv", "ssa_window"}
    eng = r.outcome.outcome["details"]["engines"]
    assert eng["ssa_checks"] == "numpy" and eng["stack"] == "numpy"
    assert eng["verification"] == {"ssa_qk_v": "numpy", "ssa_q_kv": "numpy", "sdsa": "lifonly",
                                   "ssa_window": "numpy", "sdsa_window": "lifonly"}
