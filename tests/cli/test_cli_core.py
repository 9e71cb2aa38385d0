"""The spikeattn command line: every core subcommand and the error exits."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

import spikeattn


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "spikeattn.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_version():
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"spikeattn {spikeattn.__version__}"


def test_no_command_prints_help():
    r = cli()
    assert r.returncode == 0 and "COMMAND" in r.stdout and "run" in r.stdout


def test_list_names_every_scenario_with_a_description():
    from scenarios import load_all
    r = cli("list")
    assert r.returncode == 0
    lines = r.stdout.strip().splitlines()
    names = [ln.split()[0] for ln in lines]
    assert sorted(names) == sorted(load_all())
    assert "wta-routing" in names and all(len(ln.split()) > 2 for ln in lines)


@pytest.mark.parametrize("args, needle", [
    (["run", "no-such-scenario"], "unknown scenario 'no-such-scenario'; choose from"),
    (["run", "--engine", "nest"], "invalid choice: 'nest' (choose from 'brian2', 'compiled', 'lava', 'numpy', 'torch')"),
    (["run", "--steps", "0"], "0 must be >= 1"),
    (["run", "--steps", "many"], "'many' is not an integer"),
    (["run", "--seed", "-3"], "-3 must be >= 0"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_usage_errors_exit_2_with_one_line(args, needle):
    r = cli(*args)
    assert r.returncode == 2
    err = [ln for ln in r.stderr.strip().splitlines() if "warning" not in ln]
    assert len(err) == 1 and needle in err[0], r.stderr


def test_default_scenario_is_energy_vs_gpu():
    # `spikeattn run` (and `make demo`) with no name runs energy-vs-gpu; a run trains on a cold
    # cache (minutes), so the choice is checked here; the cold-cache notice of the training is
    # tested in tests/convert/test_mnist1d.py.
    from spikeattn.cli import build_parser
    args = build_parser().parse_args(["run"])
    assert args.scenario == "energy-vs-gpu"
    r = cli("list")
    default = [ln.split()[0] for ln in r.stdout.splitlines() if ln.rstrip().endswith("(default)")]
    assert default == ["energy-vs-gpu"]
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "spikeattn run" in demo and "wta-routing" not in demo


def test_run_scenario_writes_result_json(tmp_path):
    out = tmp_path / "o"
    r = cli("run", "wta-routing", "--out", str(out), "--seed", "3")
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "result.json").read_text())
    assert doc["scenario"] == "wta-routing" and doc["engine"] == "numpy" and doc["seed"] == 3
    assert doc["steps"] >= 1 and doc["wall_s"] > 0
    totals = doc["counts"]["totals"]
    assert totals["synaptic_ops"] == totals["synaptic_acs"] + totals["synaptic_macs"] > 0
    assert doc["outcome"]["passed"] is True
    for f in doc["figures"]:
        assert open(f, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    # the saved circuit loads back
    assert spikeattn.load(doc["circuit_file"]).populations
    # no temporary files left behind
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_run_steps_and_batch_flags(tmp_path):
    r = cli("run", "wta-routing", "--steps", "40", "--batch", "3", "--out", str(tmp_path), "--no-figures")
    assert r.returncode in (0, 1), r.stderr     # a short run may fail its accuracy check, not crash
    doc = json.loads((tmp_path / "result.json").read_text())
    assert doc["steps"] == 40 and doc["batch"] == 3 and doc["figures"] == []
