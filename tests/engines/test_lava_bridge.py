"""``simulate(engine="lava")`` from the main venv, where lava-nc does not import: the circuit
runs in ``.venv-lava`` through a subprocess worker.  The oracle is Lava itself (run live in
the worker), compared with the numpy engine on a fixed-point circuit."""
from pathlib import Path

import numpy as np
import pytest

from spikeattn import simulate
from spikeattn.engines.base import engine_supports
from spikeattn.errors import EngineError, MissingExtraError, UnsupportedFeatureError
from spikeattn.ir import LIF, Circuit, LoihiLIF

REPO = Path(__file__).resolve().parents[2]
LAVA_PYTHON = REPO / ".venv-lava" / "bin" / "python"
needs_lava_venv = pytest.mark.skipif(
    not LAVA_PYTHON.is_file(),
    reason=f"no Lava venv at {LAVA_PYTHON}: create it with `make venv-lava` (Python 3.10 + lava-nc 0.10)")


def _circuit(rng):
    c = Circuit("bridge")
    c.add_source("x", 8)
    c.add_population("a", 10, LoihiLIF(du=500, dv=200, vth=3000, bias_mant=rng.integers(-10, 30, 10),
                                       bias_exp=rng.integers(-2, 3, 10)))
    c.add_population("b", 4, LoihiLIF(du=4095, dv=80, vth=1500))
    c.connect("x", "a", rng.integers(-150, 256, (10, 8)), weight_exp=1)
    c.connect("a", "b", rng.integers(0, 256, (4, 10)), delay=2, num_weight_bits=6)
    c.probe("a", ("u", "v"))
    c.probe("b", ("v",))
    return c


@needs_lava_venv
def test_lava_through_subprocess_equals_numpy_engine(monkeypatch):
    monkeypatch.delenv("SPIKEATTN_LAVA_PYTHON", raising=False)
    rng = np.random.default_rng(5)
    c = _circuit(rng)
    inputs = {"x": rng.random((200, 2, 8)) < 0.3}
    ref = simulate(c, inputs, 200, engine="numpy")
    got = simulate(c, inputs, 200, engine="lava", bridge="always")
    assert got.meta["in_process"] is False and got.meta["lava_version"] == "0.10.0"
    assert "bridge" in got.meta and got.meta["mode"] == "fixed_pt"
    for name in ("a", "b"):
        np.testing.assert_array_equal(got.spikes[name], ref.spikes[name])
        assert 0 < ref.spikes[name].mean() < 0.9
    np.testing.assert_array_equal(got.spikes["x"], ref.spikes["x"])
    for name, d in ref.probes.items():
        for var, arr in d.items():
            np.testing.assert_array_equal(got.probes[name][var], arr)
    assert got.counts == ref.counts, got.counts.diff(ref.counts)
    assert got.counts.elements["a->b"].meta == ref.counts.elements["a->b"].meta


def test_missing_lava_venv_gives_instructions(monkeypatch, tmp_path):
    missing = tmp_path / "no-venv" / "bin" / "python"
    monkeypatch.setenv("SPIKEATTN_LAVA_PYTHON", str(missing))
    c = _circuit(np.random.default_rng(0))
    with pytest.raises(EngineError) as info:
        simulate(c, {"x": np.zeros((5, 8), bool)}, 5, engine="lava", bridge="always")
    msg = str(info.value)
    assert isinstance(info.value, MissingExtraError)
    assert str(missing) in msg and "SPIKEATTN_LAVA_PYTHON" in msg
    assert "make venv-lava" in msg and "lava-nc==0.10.0" in msg and "python3.10 -m venv .venv-lava" in msg


@needs_lava_venv
def test_worker_error_is_reraised_with_its_message(monkeypatch):
    monkeypatch.delenv("SPIKEATTN_LAVA_PYTHON", raising=False)
    c = _circuit(np.random.default_rng(1))
    with pytest.raises(EngineError, match="lava-loihi"):
        simulate(c, {"x": np.zeros((5, 8), bool)}, 5, engine="lava", bridge="always", hardware=True)


def test_unsupported_features_are_refused_before_any_run():
    c = Circuit("zero_delay")
    c.add_source("x", 2)
    c.add_population("a", 2, LoihiLIF())
    c.connect("x", "a", np.ones((2, 2), int), delay=0)
    assert not engine_supports("lava", c) and engine_supports("numpy", c)
    with pytest.raises(UnsupportedFeatureError, match="projection:delay0.*one step"):
        simulate(c, {"x": np.zeros((3, 2), bool)}, 3, engine="lava")
    f = Circuit("long_fixed_delay")
    f.add_source("x", 2)
    f.add_population("a", 2, LoihiLIF())
    f.connect("x", "a", np.ones((2, 2), int), delay=65)
    with pytest.raises(UnsupportedFeatureError, match="6 bits"):
        simulate(f, {"x": np.zeros((3, 2), bool)}, 3, engine="lava")
    g = Circuit("refractory")
    g.add_source("x", 2)
    g.add_population("a", 2, LIF(refractory=3))
    g.connect("x", "a", np.ones((2, 2)))
    with pytest.raises(UnsupportedFeatureError, match="refractory"):
        simulate(g, {"x": np.zeros((3, 2), bool)}, 3, engine="lava")


def test_declared_features_are_known():
    """(GradedReLU is now lowered: tests/engines/test_graded_relu_engines.py.)"""
    from spikeattn.engines.features import FEATURES
    from spikeattn.engines.lava.engine import LavaEngine
    assert LavaEngine.supported <= set(FEATURES)
    assert not LavaEngine.supported & set(LavaEngine.unsupported)
