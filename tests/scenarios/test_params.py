"""Declared scenario parameters: --set, --config and Python overrides, and the validation
messages (each names the key and the allowed values)."""
import json
import subprocess
import sys

import pytest

from scenarios import load_all
from scenarios.base import ScenarioSpec
from scenarios.config import load_config, parse_grid, parse_sets
from scenarios.params import Param
from spikeattn.errors import ParameterError

SPECS = load_all()
WTA = SPECS["wta-routing"]


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "spikeattn.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_every_scenario_declares_typed_parameters_with_descriptions():
    for spec in SPECS.values():
        assert {"steps", "batch"} <= set(spec.params)
        for p in spec.params.values():
            assert p.description and p.allowed()
            if p.default is not None and p.name != "steps":
                assert p.coerce(p.default, "test") == p.default      # every default is allowed


@pytest.mark.parametrize("param, text, value", [
    (Param("n", "int", 3, "d", low=1, high=9), "7", 7),
    (Param("x", "float", 0.5, "d", low=0, high=1), "0.25", 0.25),
    (Param("b", "bool", True, "d"), "false", False),
    (Param("b", "bool", True, "d"), "YES", True),
    (Param("c", "choice", "a", "d", choices=("a", "bb")), "bb", "bb"),
    (Param("l", "int_list", (1, 2), "d", low=1), "4,8,16", (4, 8, 16)),
])
def test_parse_accepts(param, text, value):
    assert param.parse(text, "scenario 'x'") == value


@pytest.mark.parametrize("param, text, allowed", [
    (Param("n", "int", 3, "d", low=1, high=9), "10", "an integer in [1, 9]"),
    (Param("n", "int", 3, "d", low=1, high=9), "2.5", "an integer in [1, 9]"),
    (Param("x", "float", 0.5, "d", low=0, high=1), "nan", "a number in [0, 1]"),
    (Param("x", "float", 0.5, "d", low=0, high=1), "-0.1", "a number in [0, 1]"),
    (Param("b", "bool", True, "d"), "maybe", "true or false"),
    (Param("c", "choice", "a", "d", choices=("a", "bb")), "c", "one of 'a', 'bb'"),
    (Param("l", "int_list", (1, 2), "d", low=1), "4,x", "comma-separated integers >= 1"),
])
def test_parse_refuses_naming_key_and_allowed(param, text, allowed):
    with pytest.raises(ParameterError) as e:
        param.parse(text, "scenario 'x'")
    assert f"field '{param.name}'" in str(e.value) and allowed in str(e.value)


def test_python_values_are_type_checked():
    p = Param("n", "int", 3, "d", low=1)
    assert p.coerce(4.0, "w") == 4
    for bad in (True, "4", None, [4], 4.5):
        with pytest.raises(ParameterError, match="field 'n'"):
            p.coerce(bad, "w")


def test_set_and_grid_parsing():
    assert parse_sets(["p_high=0.5", "contrast_sweep=off", "streams = 6"], WTA) == \
        {"p_high": 0.5, "contrast_sweep": False, "streams": 6}
    assert parse_grid(["p_high=0.4,0.6,0.4", "streams=3,4"], WTA) == {"p_high": [0.4, 0.6], "streams": [3, 4]}
    assert parse_grid(["scaling_n=16,32/32,64"], SPECS["attention-scaling"]) == {"scaling_n": [(16, 32), (32, 64)]}
    with pytest.raises(ParameterError, match="field 'p_hihg'.*use one of"):
        parse_sets(["p_hihg=0.5"], WTA)
    with pytest.raises(ParameterError, match="is not key=value"):
        parse_sets(["p_high"], WTA)
    with pytest.raises(ParameterError, match=r"field 'p_high'.*allowed: a number in \[0, 1\]"):
        parse_sets(["p_high=1.5"], WTA)


def test_cross_parameter_checks():
    with pytest.raises(ParameterError, match="field 'p_high'.*p_high > p_low"):
        WTA.resolve("numpy", {"p_high": 0.1, "p_low": 0.2})
    with pytest.raises(ParameterError, match="field 'k'.*k <= experts"):
        SPECS["moe-routing"].resolve("numpy", {"k": 5, "experts": 4})
    with pytest.raises(ParameterError, match="field 'heads'"):
        SPECS["attention-scaling"].resolve("numpy", {"dim": 6, "heads": 4})


def test_engine_defaults_are_reported_as_reduced():
    hier = SPECS["hierarchical-attention"]          # part 2 runs on Lava in fixed point: no engine default
    assert hier.resolve("lava", {}) == hier.resolve("numpy", {})
    assert hier.resolve("lava", {})[0]["attention"] is True
    spec = ScenarioSpec("toy", "engine-default mechanism", lambda cfg: None,
                        {"attention": Param("attention", "bool", True, "part 2", engine_defaults={"lava": False},
                                            engine_reason="Lava lacks a feature")})
    values, reduced = spec.resolve("lava", {})
    assert values["attention"] is False and reduced["attention"]["full"] is True
    assert "Lava" in reduced["attention"]["why"]
    values, reduced = spec.resolve("lava", {"attention": True})       # asked for: not a silent default
    assert values["attention"] is True and "attention" not in reduced
    assert spec.resolve("numpy", {})[1] == {}
    assert WTA.resolve("lava", {}) == WTA.resolve("numpy", {})       # wta-routing: same parameters on Lava


def test_config_file(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('batch = 16\nseed = 4\n[wta-routing]\np_high = 0.5\ncontrast_sweep = false\n'
                   '[moe-routing]\nk = 1\n')
    assert load_config(cfg, WTA, with_run_keys=True) == {"batch": 16, "p_high": 0.5, "contrast_sweep": False,
                                                          "seed": 4}
    (tmp_path / "bad.toml").write_text("[wta-routing]\np_high = 'high'\n")
    with pytest.raises(ParameterError, match="field 'p_high'.*allowed: a number in"):
        load_config(tmp_path / "bad.toml", WTA)
    (tmp_path / "unk.toml").write_text("cue_windw = 3\n")
    with pytest.raises(ParameterError, match="field 'cue_windw'.*use one of"):
        load_config(tmp_path / "unk.toml", WTA)
    (tmp_path / "syntax.toml").write_text("batch = = 3\n")
    with pytest.raises(ParameterError, match="not valid TOML"):
        load_config(tmp_path / "syntax.toml", WTA)
    with pytest.raises(ParameterError, match="does not exist"):
        load_config(tmp_path / "none.toml", WTA)


def test_cli_show_lists_parameters_and_parity():
    r = cli("show", "wta-routing")
    assert r.returncode == 0, r.stderr
    for needle in ("p_high", "a number in [0, 1]", "cue_window", "fixed-point", "lava", "compiled"):
        assert needle in r.stdout
    doc = json.loads(cli("show", "moe-routing", "--json").stdout)
    assert doc["params"]["k"]["allowed"] == "an integer in [1, 16]"


@pytest.mark.parametrize("args, needle", [
    (["run", "wta-routing", "--set", "p_high=2"], "field 'p_high': is 2.0 (out of range); allowed: a number in [0, 1]"),
    (["run", "wta-routing", "--set", "nope=1"], "field 'nope': is not a parameter of this scenario"),
    (["run", "wta-routing", "--set", "contrast_sweep=perhaps"], "allowed: true or false"),
    (["show", "no-such"], "unknown scenario 'no-such'; choose from"),
])
def test_cli_validation_errors_exit_2_with_one_line(args, needle, tmp_path):
    r = cli(*args, "--out", str(tmp_path)) if args[0] == "run" else cli(*args)
    err = [ln for ln in r.stderr.strip().splitlines() if "warning" not in ln]
    assert r.returncode == 2 and len(err) == 1 and needle in err[0], r.stderr
    assert not list(tmp_path.iterdir())                      # nothing written


def test_cli_run_with_set_and_config(tmp_path):
    (tmp_path / "c.toml").write_text("[moe-routing]\nk = 1\nbatch = 6\n")
    out = tmp_path / "o"
    r = cli("run", "moe-routing", "--config", str(tmp_path / "c.toml"), "--set", "p_on=0.7", "--no-figures",
            "--out", str(out), "--seed", "2")
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "result.json").read_text())
    assert doc["params"]["k"] == 1 and doc["params"]["p_on"] == 0.7 and doc["batch"] == 6 and doc["seed"] == 2
    assert doc["outcome"]["metrics"]["experts_per_token"]["value"] >= 1.0
