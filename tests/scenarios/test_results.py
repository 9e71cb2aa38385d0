"""run_scenario, result.json against the schema (jsonschema and the built-in validator),
counts.csv against the recorded spikes, umask, atomic writes under a simulated crash, and
the statistics behind the checks."""
import copy
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import scenarios
import spikeattn
from scenarios.outcome import binomial_check
from scenarios.wta_routing import closed_form_accuracy
from spikeattn.schema import ResultSchemaError, errors, load_schema, mini_validate, validate

FAST = {"wta-routing": {"batch": 8, "contrast_sweep": False}, "moe-routing": {"batch": 4},
        "hierarchical-attention": {"batch": 4}, "attention-scaling": {"scaling_n": [16, 32, 64]}}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = {}
    for name, params in FAST.items():
        d = tmp_path_factory.mktemp(name)
        out[name] = (scenarios.run_scenario(name, seed=1, out=d, **params), d)
    return out


def test_run_scenario_writes_nothing_unless_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = scenarios.run_scenario("moe-routing", batch=4, k=1)
    assert list(tmp_path.iterdir()) == []
    assert r.passed and r.doc["params"]["k"] == 1 and r.result.batch == 4
    assert r.metrics["experts_per_token"] >= 1 and all(r.checks.values())
    with pytest.raises(spikeattn.SpikeattnError, match="field 'k'"):
        scenarios.run_scenario("moe-routing", k=0)
    with pytest.raises(spikeattn.SpikeattnError, match="field 'name'.*choose from"):
        scenarios.run_scenario("nope")


def test_import_spikeattn_does_not_import_scenarios():
    code = "import sys, spikeattn; assert 'scenarios' not in sys.modules; print('ok')"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "ok"


@pytest.mark.parametrize("name", list(FAST))
def test_every_result_validates_against_the_schema(results, name):
    r, d = results[name]
    doc = json.loads((d / "result.json").read_text())
    assert errors(doc, use_jsonschema=True) == [] and mini_validate(doc, load_schema()) == []
    assert doc["schema_version"] == 1 and doc["scenario"] == name
    # attention-scaling's engine run is T + 3 steps (the SDSA pipeline latency), the others T
    assert doc["steps"] == doc["params"]["steps"] + (3 if name == "attention-scaling" else 0)
    prov = doc["provenance"]
    assert prov["python"].count(".") == 2 and prov["engine_versions"]["numpy"] == np.__version__
    if (Path(__file__).resolve().parents[2] / ".git").exists():
        assert len(prov["git_commit"]) == 40
    o = doc["outcome"]
    assert o["passed"] is True and o["checks"] and o["metrics"] and o["per_sample"]
    for m in o["metrics"].values():
        assert isinstance(m["unit"], str) and m["unit"]
    for arr in o["per_sample"].values():
        assert len(arr) == doc["batch"]
    for f in doc["figures"]:
        assert Path(f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and Path(f).with_suffix(".svg").exists()
    assert spikeattn.load(doc["circuit_file"]).populations
    assert (d / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_counts_csv_equals_the_spikes(results):
    r, d = results["wta-routing"]
    rows = list(csv.DictReader(open(d / "counts.csv")))
    by = {}
    for row in rows:
        by[(row["element"], row["field"], int(row["step"]))] = int(row["count"])
    spikes = np.asarray(r.result.spikes["wta.winners"]) != 0            # (steps, batch, n)
    for t in range(r.result.steps):
        assert by[("wta.winners", "spikes", t)] == spikes[t].sum()
    cue = np.asarray(r.result.spikes["cue"]) != 0
    assert sum(v for (e, f, _), v in by.items() if e == "cue" and f == "spikes") == cue.sum()


def _broken(doc):
    cases = []
    for mutate in (lambda d: d.pop("schema_version"), lambda d: d.update(schema_version=2),
                   lambda d: d.update(seed=-1), lambda d: d.update(seed="1"),
                   lambda d: d["outcome"]["checks"][next(iter(d["outcome"]["checks"]))].update(passed="yes"),
                   lambda d: d["outcome"]["metrics"][next(iter(d["outcome"]["metrics"]))].pop("unit"),
                   lambda d: d["outcome"]["per_sample"].update(x=["a"]),
                   lambda d: d["reduced"].update(batch={"what": "x"}),
                   lambda d: d["provenance"].pop("git_commit"),
                   lambda d: d["counts"]["totals"].update(spikes=-3)):
        c = copy.deepcopy(doc)
        mutate(c)
        cases.append(c)
    return cases


def test_validators_agree_on_broken_documents(results):
    r, d = results["moe-routing"]
    doc = json.loads((d / "result.json").read_text())
    schema = load_schema()
    for bad in _broken(doc):
        assert errors(bad, use_jsonschema=True), bad.keys()
        assert mini_validate(bad, schema)
        with pytest.raises(ResultSchemaError, match=r"\$"):
            validate(bad)


def test_outputs_keep_the_umask(tmp_path):
    code = ("import os, scenarios; os.umask(0o027); "
            f"scenarios.run_scenario('moe-routing', batch=2, out={str(tmp_path)!r})")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=600)
    files = [p for p in tmp_path.iterdir() if p.is_file()]
    assert {"result.json", "counts.csv", "report.html", "circuit.zip"} <= {p.name for p in files}
    assert all((p.stat().st_mode & 0o777) == 0o640 for p in files), [(p.name, oct(p.stat().st_mode)) for p in files]


def test_atomic_write_survives_a_crash_before_the_rename(tmp_path):
    """A process killed between writing the temporary file and renaming it leaves the old
    result.json intact (no partial file under the final name)."""
    target = tmp_path / "result.json"
    target.write_text('{"old": true}\n')
    code = f"""
import os, scenarios
from spikeattn.schema import write_result
r = scenarios.run_scenario('moe-routing', batch=2)
os.replace = lambda *a: os._exit(137)          # the process dies right before the rename
write_result({str(target)!r}, r.doc)
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=600)
    assert p.returncode == 137
    assert json.loads(target.read_text()) == {"old": True}
    assert [x.name for x in tmp_path.iterdir()] and all(not x.name.startswith("result.json") or x == target
                                                        for x in tmp_path.iterdir())


def test_binomial_check_literal_values():
    b = binomial_check(7, 8, 0.9)
    assert b["p_value"] == pytest.approx(1 - 0.9 ** 8) and b["passed"]
    # P(X <= 4 | 8, 0.9) = sum_{k<=4} C(8,k) .9^k .1^(8-k) = 0.0050 < 0.01 ; P(X <= 5) = 0.0381
    assert binomial_check(4, 8, 0.9)["p_value"] == pytest.approx(0.00502435, rel=1e-4)
    assert not binomial_check(4, 8, 0.9)["passed"] and binomial_check(5, 8, 0.9)["passed"]
    assert binomial_check(0, 8, 0.9)["min_successes"] == 5
    lo, hi = binomial_check(7, 8, 0.9)["ci95"]                       # Clopper-Pearson, R binom.test(7, 8)
    assert lo == pytest.approx(0.4734903, abs=1e-6) and hi == pytest.approx(0.9968403, abs=1e-6)


def test_closed_form_accuracy_against_monte_carlo():
    rng = np.random.default_rng(0)
    n = 200_000
    a = rng.binomial(16, 0.6, n)
    b = rng.binomial(16, 0.15, (n, 3))
    mc = float((a > b.max(axis=1)).mean())
    p = closed_form_accuracy(16, 0.6, 0.15, 4)
    assert abs(mc - p) < 4 * np.sqrt(p * (1 - p) / n)
    assert closed_form_accuracy(16, 0.15, 0.15, 4) < 0.25            # ties: below chance at contrast 1
