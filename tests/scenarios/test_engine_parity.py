"""Engine parity is declared, never silent: every scenario runs unchanged on the compiled
engine with the same selections as numpy and nothing reduced; engine-dependent differences
(Lava) are listed under ``reduced``; a refused engine is refused with the reason."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import scenarios
import spikeattn
from scenarios import load_all
from spikeattn.engines.lava.engine import lava_importable

pytest.importorskip("numba", reason="the fast extra (numba) is not installed: 'compiled' would fall back to numpy")
LAVA_PYTHON = Path(__file__).resolve().parents[2] / ".venv-lava" / "bin" / "python"
LAVA_OK = lava_importable() or LAVA_PYTHON.is_file()

SMALL = {"wta-routing": {"batch": 8}, "moe-routing": {"batch": 4},
         "hierarchical-attention": {"batch": 4}, "attention-scaling": {"scaling_n": [16, 32, 64]}}
OUTPUTS = {"wta-routing": "route.out", "moe-routing": "gate.winners", "hierarchical-attention": "fine.winners",
           "attention-scaling": "y"}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SMALL))
def test_scenarios_run_unchanged_on_the_compiled_engine(name):
    comp = scenarios.run_scenario(name, engine="compiled", seed=2, **SMALL[name])
    ref = scenarios.run_scenario(name, engine="numpy", seed=2, **SMALL[name])
    assert comp.passed, comp.checks
    assert comp.reduced == {}          # attention-scaling included: every part at verify_n runs on compiled
    assert comp.result.engine == "compiled"
    assert np.array_equal(np.asarray(comp.result.spikes[OUTPUTS[name]]), np.asarray(ref.result.spikes[OUTPUTS[name]]))
    assert comp.result.counts == ref.result.counts
    assert set(comp.checks) == set(ref.checks)


def test_lava_differences_are_declared():
    specs = load_all()
    for name in ("wta-routing", "moe-routing", "hierarchical-attention"):
        assert specs[name].resolve("lava", {})[0]["batch"] == specs[name].params["batch"].default   # full batch
        assert "Loihi fixed" in specs[name].parity["lava"]
    scal = specs["attention-scaling"]          # parts 1-4 at verify_n on Lava: no engine default, no refusal
    assert scal.resolve("lava", {}) == scal.resolve("numpy", {}) and "lava" not in scal.refuses
    assert "Loihi fixed point" in scal.parity["lava"] and "checked at verify_n" in scal.parity["lava"]
    assert "fused counters" in scal.parity["*"]
    hier = specs["hierarchical-attention"]
    values, reduced = hier.resolve("lava", {})
    assert values["attention"] is True and reduced == {}          # part 2 runs on Lava too (fixed point)
    assert "both parts in Loihi fixed point" in hier.parity["lava"]


@pytest.mark.slow
@pytest.mark.skipif(not LAVA_OK, reason=f"lava-nc is not importable and there is no Lava venv at {LAVA_PYTHON} "
                                        "(create it with `make venv-lava`)")
def test_hierarchical_attention_runs_in_full_on_lava():
    """Both parts on Lava: every check run and passed, only the arithmetic reduced, and part 2
    (coarse-to-fine SSA, fixed point) gives the numpy engine's numbers on the same circuits."""
    from scenarios.base import ScenarioConfig
    from scenarios.hierarchical_attention import attention_part

    r = scenarios.run_scenario("hierarchical-attention", engine="lava", seed=2, batch=4)
    assert r.passed, r.checks
    assert set(r.reduced) == {"arithmetic"}
    assert {"attention_matches_ssa_reference", "attention_only_selected_regions"} <= set(r.checks)
    lava = r.doc["outcome"]["details"]["attention"]
    assert lava["arithmetic"] == "loihi fixed point" and lava["output_spikes_per_sample"] > 0
    cfg = ScenarioConfig(engine="numpy", seed=2, progress=False)
    cfg.p, _ = load_all()["hierarchical-attention"].resolve("numpy", {"batch": 4})
    cfg.batch = 4
    ref = attention_part(cfg, fixed=True)
    assert all(ref.pop("checks").values())
    assert ref == lava                                             # same events and output spikes


def test_refused_engine_names_the_reason():
    refusing = [(s.name, e, why) for s in load_all().values() for e, why in s.refuses.items()]
    if not refusing:
        pytest.skip("no registered scenario refuses an engine")
    name, engine, why = refusing[0]
    r = subprocess.run([sys.executable, "-m", "spikeattn.cli", "run", name, "--engine", engine], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 2 and f"cannot run on engine '{engine}'" in r.stderr and why[:40] in r.stderr
