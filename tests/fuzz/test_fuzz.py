"""Property-based fuzzing (hypothesis) of every entry point, bounded for CI.

Each family runs in its own interpreter (``run_fuzz.py``), so a segfault is an outcome, not
the end of pytest.  Every generated case must end in success or a SpikeattnError naming the
field, as the independent specifications in ``fuzz_oracles.py`` predict; ``make fuzz`` runs
the same families with >= 10,000 cases (``SPIKEATTN_FUZZ_PROFILE=full``)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FAMILIES = ["ir-construct", "ir-mutate", "csr", "simulate", "load", "save", "counts", "cli", "overflow",
            "batch0", "names", "memory", "result-numbers", "meta-scalars", "structured"]


@pytest.mark.parametrize("family", FAMILIES)
def test_fuzz_family(family, tmp_path):
    env = {**os.environ, "SPIKEATTN_FUZZ_PROFILE": os.environ.get("SPIKEATTN_FUZZ_PROFILE", "ci")}
    out = tmp_path / "fuzz.json"
    r = subprocess.run([sys.executable, str(HERE / "run_fuzz.py"), "--family", family, "--json", str(out)],
                       capture_output=True, text=True, env=env, timeout=1200)
    assert out.exists(), r.stdout[-2000:] + r.stderr[-2000:]
    res = json.loads(out.read_text())[family]
    tally = res["tally"]
    assert r.returncode == 0, f"bad outcomes {tally}:\n" + r.stdout[-4000:]
    assert set(tally) <= {"success", "SpikeattnError naming the field"}, tally
    assert sum(tally.values()) >= 50  # hypothesis generated the cases (derandomized: the same every run)
