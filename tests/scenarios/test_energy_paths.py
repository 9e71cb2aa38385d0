"""Issue 18: a scenario's result.json, ``spikeattn energy result.json`` and
``hardware_models.estimate`` on the recorded workload give identical numbers."""
import json

import pytest

import hardware_models as hm
import scenarios
import spikeattn
from spikeattn.cli import main

NAMES = ["loihi", "loihi2", "h100"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("wta")
    r = scenarios.run_scenario("wta-routing", seed=1, out=d, batch=8, contrast_sweep=False, hardware=NAMES)
    return r, d


def test_scenario_cli_and_api_agree(run, tmp_path, capsys):
    r, d = run
    doc = json.loads((d / "result.json").read_text())
    block = doc["energy"]
    assert {"batch_study", "headline", "workload"} <= set(block)
    assert main(["energy", str(d / "result.json"), "--hardware", ",".join(NAMES), "--no-figures",
                 "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    cli = json.loads((tmp_path / "energy.json").read_text())
    wl = hm.RunWorkload.from_dict(block["workload"], {r.outcome.circuit.name: spikeattn.load(d / "circuit.zip")})
    for n in NAMES:
        api = hm.estimate(wl, n, draws=1000).to_dict()
        for key in ("total_j", "dynamic_j", "per_sample_j", "latency_s"):
            assert block[n][key] == cli[n][key] == api[key], (n, key)
        assert block[n]["meta"]["uncertainty"] == cli[n]["meta"]["uncertainty"] == api["meta"]["uncertainty"]
    assert block["batch_study"] == cli["batch_study"] and block["headline"] == cli["headline"]
    for line in block["headline"]["verdicts"]:               # the verdict the report and the terminal print
        assert line in text and line in (d / "report.html").read_text().replace("&#x27;", "'")
    assert [p["batch"] for p in block["batch_study"]["points"]["h100"]] == [1, 64, 1024]
