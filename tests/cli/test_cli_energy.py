"""``spikeattn energy`` and ``spikeattn hardware``; the ``energy`` block of ``spikeattn run``."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hardware_models as hm
import spikeattn
from hardware_models.cli import energy_block
from spikeattn import IF, Circuit, simulate
from spikeattn.cli import main

REPO = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


def small():
    rng = np.random.default_rng(2)
    c = Circuit("small")
    c.add_source("x", 12, encoder="poisson", seed=4)
    c.add_population("h", 10, IF(vth=1.5))
    c.connect("x", "h", (rng.random((10, 12)) < 0.5) * 1.0)
    return c, simulate(c, {"x": np.full(12, 0.3)}, steps=15, batch=2)


@pytest.fixture
def result_json(tmp_path):
    c, res = small()
    zip_path = spikeattn.save(c, tmp_path / "circuit.zip")
    doc = {"scenario": "small", "counts": res.counts.to_dict(), "circuit_file": str(zip_path)}
    path = tmp_path / "result.json"
    path.write_text(json.dumps(doc))
    return path, res


def test_energy_command_writes_table_json_and_pngs(result_json, capsys, tmp_path):
    path, res = result_json
    out = tmp_path / "energy"
    assert main(["energy", str(path), "--hardware", "loihi2,truenorth,literature,h100", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for name in ("loihi2", "truenorth", "literature", "h100", "crossover"):
        assert name in text
    doc = json.loads((out / "energy.json").read_text())
    acs = res.counts.total("synaptic_acs")
    assert doc["literature"]["total_j"] == pytest.approx(0.9e-12 * acs)          # E_AC x ACs, nothing else
    # issue 9: TrueNorth's 26 pJ all-in is split into (1 - f) x 26 pJ per event + f x 72 mW static, f = 0.5
    assert doc["truenorth"]["dynamic_j"] == pytest.approx(13e-12 * acs)
    assert doc["truenorth"]["static_j"] == pytest.approx(0.036 * res.counts.steps * res.counts.batch * 1e-3)
    assert doc["loihi2"]["placement"]["cores_used"] == 1                         # 10 neurons fit one core
    assert doc["loihi2"]["low_j"] <= doc["loihi2"]["total_j"] <= doc["loihi2"]["high_j"]
    assert "sensitivity" in doc and "loihi2" in doc["sensitivity"]
    for png in ("energy_breakdown.png", "energy_sensitivity.png"):
        assert (out / png).read_bytes()[:8] == PNG


def test_energy_command_bad_input_exits_2_with_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "spikeattn.cli", "energy", str(tmp_path / "missing.json")],
                       capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "not found" in r.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["energy", str(bad)]) == 2
    bad.write_text(json.dumps({"scenario": "x"}))
    assert main(["energy", str(bad)]) == 2


def test_energy_command_unknown_hardware(result_json, capsys):
    path, _ = result_json
    assert main(["energy", str(path), "--hardware", "loihi9", "--no-figures"]) == 2
    assert "known: loihi" in capsys.readouterr().err


def test_energy_without_circuit_file_notes_missing_routing(result_json, capsys, tmp_path):
    path, _ = result_json
    doc = json.loads(path.read_text())
    del doc["circuit_file"]
    p2 = tmp_path / "nocircuit.json"
    p2.write_text(json.dumps(doc))
    assert main(["energy", str(p2), "--hardware", "loihi", "--no-figures", "--out", str(tmp_path)]) == 0
    rep = json.loads((tmp_path / "energy.json").read_text())["loihi"]
    assert rep["placement"] is None and any("No circuit or placement" in n for n in rep["notes"])


def test_hardware_command_lists_every_model_with_sources(capsys):
    assert main(["hardware"]) == 0
    text = capsys.readouterr().out
    for name in hm.names():
        assert name in text
    assert "Davies et al. 2018" in text and "Merolla" in text
    assert main(["hardware", "loihi2"]) == 0
    assert "assumption" in capsys.readouterr().out
    assert main(["hardware", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == set(hm.names())


def test_energy_block_for_spikeattn_run():
    c, res = small()
    block = energy_block(c, res, ["loihi", "h100"])
    # issue 9: the block also carries the batch study (per inference at batch 1, 64, 1024);
    # issue 18: the headline (verdict per chip and GPU) and the workload it costed
    assert set(block) == {"loihi", "h100", "sensitivity", "batch_study", "headline", "workload"}
    st = block["batch_study"]
    assert st["batches"] == [1, 64, 1024] and set(st["crossover_batch"]["loihi"]) == {"h100"}
    assert st["points"]["loihi"][0]["energy_j"] == pytest.approx(block["loihi"]["total_j"] / res.counts.batch)
    assert block["loihi"]["meta"]["uncertainty"]["total_j"]["p5"] <= block["loihi"]["meta"]["uncertainty"]["total_j"]["p95"]
    direct = hm.cost(res.counts, "loihi", circuit=c)
    assert block["loihi"]["total_j"] == pytest.approx(direct.total_j, rel=1e-6)
    assert block["h100"]["total_j"] > 0 and block["loihi"]["latency_s"] > 0
    json.dumps(block)


def test_installed_commands_work_outside_the_source_tree(tmp_path):
    # from another folder the package comes from the installed (editable) distribution,
    # not from the working directory: hardware_models must be a real package there
    r = subprocess.run([sys.executable, "-m", "spikeattn.cli", "hardware"], capture_output=True, text=True,
                       cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "loihi2" in r.stdout and "warning" not in r.stderr


def test_energy_engine_sanafe_replays_the_spike_trains(tmp_path, capsys):
    """--engine sanafe: SANA-FE (run live, the oracle) on the recorded spike trains, beside
    spikeattn's model; spikeattn's synapse term equals SANA-FE's (both 35.5 pJ per event)."""
    pytest.importorskip("sanafe", reason="SANA-FE (the 'sanafe' extra) is not installed")
    from hardware_models.spike_files import save_spikes
    from spikeattn import LIF
    rng = np.random.default_rng(5)
    c = Circuit("lif2")
    c.add_source("x", 20, encoder="poisson", seed=3)
    c.add_population("h", 12, LIF(du=1.0, dv=0.0, vth=1.0, reset="subtract"))
    c.connect("x", "h", np.round(rng.normal(0.4, 0.3, (12, 20)) * 64) / 64)
    res = simulate(c, {"x": np.full(20, 0.3)}, steps=20, batch=2)
    z = spikeattn.save(c, tmp_path / "circuit.zip")
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"scenario": "lif2", "counts": res.counts.to_dict(), "circuit_file": str(z)}))
    save_spikes(res, tmp_path)
    assert main(["energy", str(path), "--hardware", "loihi", "--engine", "sanafe", "--no-figures", "--draws", "100",
                 "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "SANA-FE loihi" in text and "synapse 1.000" in text
    doc = json.loads((tmp_path / "energy.json").read_text())
    cmp = doc["sanafe"]["loihi"]["comparison"]
    assert cmp["placement_matched"] and abs(cmp["ratio_dynamic"] - 1) <= 0.15
    (tmp_path / "spikes.npz").unlink()
    assert main(["energy", str(path), "--engine", "sanafe", "--no-figures"]) == 2


def test_energy_block_with_the_sanafe_engine():
    pytest.importorskip("sanafe", reason="SANA-FE (the 'sanafe' extra) is not installed")
    from spikeattn import LIF
    c = Circuit("lif1")
    c.add_source("x", 8)
    c.add_population("h", 6, LIF(du=1.0, dv=0.0, vth=1.0))
    c.connect("x", "h", np.full((6, 8), 0.25))
    res = simulate(c, {"x": np.random.default_rng(1).random((12, 8)) < 0.5}, steps=12)
    block = energy_block(c, res, ["loihi"], batches=None, draws=100, engines=("model", "sanafe"))
    cmp = block["sanafe"]["loihi"]["comparison"]
    assert block["sanafe"]["loihi"]["sanafe"]["spikes_match"]
    assert cmp["term_ratio"]["synapse"] == pytest.approx(1.0)
    assert energy_block(c, res.counts, ["loihi"], batches=None, draws=0, engines=("sanafe",))["sanafe"]["refused"]


@pytest.mark.parametrize("content,needle", [
    ('{"counts": {}, "circuit_file": 5}', "field 'circuit_file'"),
    ("[" * 100000 + "]" * 100000, "nested too deeply"),
    ('{"counts": {}, "steps": 1e400}', "field 'steps': is not a finite number"),
    ('{"counts": {"h": {"spikes": [NaN]}}}', "field 'counts.h.spikes[0]': is not a finite number"),
    ('{"counts": {}, "batch": ' + "9" * 5000 + "}", "field 'batch': is not a finite number"),
    ('{"counts": {}, "x": -Infinity}', "field 'x'"),
])
def test_energy_command_hostile_result_files_give_one_line(tmp_path, content, needle):
    path = tmp_path / "result.json"
    path.write_text(content)
    r = subprocess.run([sys.executable, "-m", "spikeattn.cli", "energy", str(path), "--hardware", "loihi"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
