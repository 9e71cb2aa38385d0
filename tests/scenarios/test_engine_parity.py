"""Engine parity is declared, never silent: every scenario runs unchanged on the compiled
engine with the same selections as numpy and nothing reduced; engine-dependent differences
(Lava) are listed under ``reduced``; a refused engine is refused with the reason."""
import subprocess
import sys

import numpy as np
import pytest

import spikeattn
from scenarios import load_all

pytest.importorskip("numba", reason="the fast extra (numba) is not installed: 'compiled' would fall back to numpy")

SMALL = {"wta-routing": {"batch": 8}, "moe-routing": {"batch": 4},
         "hierarchical-attention": {"batch": 4}, "attention-scaling": {"scaling_n": [16, 32, 64]}}
OUTPUTS = {"wta-routing": "route.out", "moe-routing": "gate.winners", "hierarchical-attention": "fine.winners",
           "attention-scaling": "y"}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SMALL))
def test_scenarios_run_unchanged_on_the_compiled_engine(name):
    comp = spikeattn.run_scenario(name, engine="compiled", seed=2, **SMALL[name])
    ref = spikeattn.run_scenario(name, engine="numpy", seed=2, **SMALL[name])
    assert comp.passed, comp.checks
    assert comp.reduced == ({"engine_part": comp.reduced["engine_part"]} if name == "attention-scaling" else {})
    assert comp.result.engine == "compiled"
    assert np.array_equal(np.asarray(comp.result.spikes[OUTPUTS[name]]), np.asarray(ref.result.spikes[OUTPUTS[name]]))
    assert comp.result.counts == ref.result.counts
    assert set(comp.checks) == set(ref.checks)


def test_lava_differences_are_declared():
    specs = load_all()
    for name in ("wta-routing", "moe-routing", "hierarchical-attention"):
        assert specs[name].resolve("lava", {})[0]["batch"] == specs[name].params["batch"].default   # full batch
        assert "Loihi fixed" in specs[name].parity["lava"]
    assert "attention" in specs["hierarchical-attention"].resolve("lava", {})[1]


def test_refused_engine_names_the_reason():
    refusing = [(s.name, e, why) for s in load_all().values() for e, why in s.refuses.items()]
    if not refusing:
        pytest.skip("no registered scenario refuses an engine")
    name, engine, why = refusing[0]
    r = subprocess.run([sys.executable, "-m", "spikeattn.cli", "run", name, "--engine", engine], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 2 and f"cannot run on engine '{engine}'" in r.stderr and why[:40] in r.stderr
