"""Loihi 2 hardware (issue 10 item 4; ``engine="lava", run_cfg="loihi2_hw"``): without Intel's
lava-loihi a clear error quotes Lava and names what is missing; with ``run_cfg="loihi2_sim"``
the very network built for the chip (Lava's own LIF, Dense/Sparse
and sink processes) runs on Lava's CPU simulator and its spikes equal the numpy engine's
(bit-exact with Lava's fixed point, tests/lava_native)."""
from pathlib import Path

import numpy as np
import pytest

from spikeattn import simulate
from spikeattn.errors import EngineError, UnsupportedFeatureError
from spikeattn.ir import Circuit, LoihiLIF

REPO = Path(__file__).resolve().parents[2]
needs_lava_venv = pytest.mark.skipif(not (REPO / ".venv-lava" / "bin" / "python").is_file(),
                                     reason="no Lava venv (.venv-lava): create it with `make venv-lava`")


def _circuit(probe=False):
    rng = np.random.default_rng(2)
    c = Circuit("chip")
    c.add_source("x", 6)
    c.add_population("a", 8, LoihiLIF(du=300, dv=200, vth=3000, bias_mant=rng.integers(0, 20, 8)))
    c.add_population("b", 3, LoihiLIF(du=4095, dv=100, vth=1500))
    c.connect("x", "a", rng.integers(-60, 250, (8, 6)), weight_exp=1)
    c.connect("a", "b", rng.integers(0, 200, (3, 8)), delay=4)
    c.connect("b", "a", -rng.integers(0, 150, (8, 3)))
    if probe:
        c.probe("a", ("v",))
    return c


@needs_lava_venv
def test_without_lava_loihi_the_error_names_what_is_missing(monkeypatch):
    monkeypatch.delenv("SPIKEATTN_LAVA_PYTHON", raising=False)
    c = _circuit()
    with pytest.raises(EngineError) as info:
        simulate(c, {"x": np.zeros((5, 6), bool)}, 5, engine="lava", run_cfg="loihi2_hw", bridge="always")
    msg = str(info.value)
    assert "lava-loihi" in msg and "Loihi2HwCfg" in msg and "lava.magma.core.model.nc.model" in msg
    assert "Neuromorphic Research Community" in msg
    assert "(Lava: " in msg                     # Lava's own compiler error is quoted


@needs_lava_venv
def test_chip_network_on_the_cpu_simulator_equals_numpy(monkeypatch):
    monkeypatch.delenv("SPIKEATTN_LAVA_PYTHON", raising=False)
    c = _circuit()
    x = np.random.default_rng(4).random((80, 2, 6)) < 0.3
    ref = simulate(c, {"x": x}, 80, engine="numpy")
    got = simulate(c, {"x": x}, 80, engine="lava", run_cfg="loihi2_sim", bridge="always")
    assert got.meta["run_cfg"].startswith("Loihi2SimCfg")
    for n in c.populations:
        assert 0.02 < ref.spikes[n].mean() < 0.9
        np.testing.assert_array_equal(got.spikes[n], ref.spikes[n], err_msg=n)
    ref_t, got_t = ref.counts.totals(), got.counts.totals()
    assert got_t["synaptic_acs"] == ref_t["synaptic_acs"] and got_t["spikes"] == ref_t["spikes"]
    assert got_t["neuron_updates_active"] >= ref_t["neuron_updates_active"]      # upper bound, documented
    assert "all active" in got.meta["counts_note"]


@needs_lava_venv
def test_probes_are_refused_on_the_chip_network(monkeypatch):
    monkeypatch.delenv("SPIKEATTN_LAVA_PYTHON", raising=False)
    with pytest.raises(UnsupportedFeatureError, match="not read back from the chip"):
        simulate(_circuit(probe=True), {"x": np.zeros((3, 6), bool)}, 3, engine="lava", run_cfg="loihi2_sim")
