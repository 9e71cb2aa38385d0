"""Issue 12, hardware_models.cost() and the CLI: malformed counts dicts and argument types
give a SpikeattnError naming the field; the CLI never prints a traceback (one stderr line,
exit code 1 or 2)."""
import copy
import json
import subprocess
import sys

import numpy as np
import pytest

import spikeattn as sa
from spikeattn.counts import validate_counts_dict
from spikeattn.errors import InputError, SpikeattnError

hm = pytest.importorskip("hardware_models", reason="hardware_models is part of this repository")


@pytest.fixture(scope="module")
def counts():
    c = sa.Circuit("c")
    c.add_source("x", 3)
    c.add_population("h", 2, sa.LIF())
    c.connect("x", "h", np.ones((2, 3)))
    return sa.simulate(c, {"x": np.ones((4, 3))}, steps=4).counts.to_dict()


@pytest.mark.parametrize("change, needle", [
    (lambda d: d.update(elements=[1]), "field 'elements'"),
    (lambda d: d["elements"]["h"]["totals"].update(spikes="many"), "element 'h', field 'spikes'"),
    (lambda d: d["elements"]["h"]["totals"].update(spikes=float("nan")), "element 'h', field 'spikes'"),
    (lambda d: d["elements"]["h"]["totals"].update(spikes=float("inf")), "element 'h', field 'spikes'"),
    (lambda d: d["elements"]["h"]["totals"].update(spikes=None), "element 'h', field 'spikes'"),
    (lambda d: d["elements"]["h"]["totals"].update(spikes=10**400), "401 digits"),
    (lambda d: d["elements"]["h"]["totals"].update(spikes=-1), "negative energy"),
    (lambda d: d["elements"]["h"]["totals"].update(spikes=True), "(bool)"),
    (lambda d: d["elements"]["h"]["totals"].update(spiks=3), "unknown fields ['spiks']"),
    (lambda d: d["elements"]["h"].update(kind="neuron"), "element 'h', field 'kind'"),
    (lambda d: d["elements"]["h"]["meta"].update(size=-2), "field 'meta.size'"),
    (lambda d: d.update(steps=None), "field 'steps'"),
    (lambda d: d.update(batch=-1), "field 'batch'"),
    (lambda d: d.update(steps=True), "field 'steps'"),
])
def test_malformed_counts_dict(counts, change, needle):
    d = copy.deepcopy(counts)
    change(d)
    with pytest.raises(hm.CountsFormatError) as e:
        hm.cost(d, "loihi2")
    assert needle in str(e.value)


def test_valid_counts_pass_and_energy_is_positive(counts):
    assert validate_counts_dict({"counts": counts})["elements"]["x->h"]["totals"]["synaptic_acs"] == 2 * 3 * 4
    rep = hm.cost(counts, "loihi2")
    assert np.isfinite(rep.total_j) and rep.total_j > 0


def test_integral_floats_from_json_are_counts(counts):
    d = copy.deepcopy(counts)
    d["elements"]["h"]["totals"]["spikes"] = float(d["elements"]["h"]["totals"]["spikes"])
    assert hm.cost(d, "loihi2").total_j == pytest.approx(hm.cost(counts, "loihi2").total_j, rel=1e-15)


@pytest.mark.parametrize("kwargs, field", [({"circuit": 5}, "circuit"), ({"placement": "x"}, "placement")])
def test_cost_argument_types(counts, kwargs, field):
    with pytest.raises(InputError, match=f"field '{field}'"):
        hm.cost(counts, "loihi2", **kwargs)
    with pytest.raises(InputError, match="field 'hardware'"):
        hm.cost(counts, ["loihi2"])


def test_negative_event_counts_object_is_refused(counts):
    c = sa.Circuit("c")
    c.add_source("x", 3)
    c.add_population("h", 2, sa.LIF())
    ec = sa.simulate(c, steps=2).counts
    ec.elements["h"].fields["spikes"][0, 0] = -5
    with pytest.raises(hm.CountsFormatError, match="element 'h', field 'spikes'"):
        hm.cost(ec, "loihi2")


# ----------------------------------------------------------------- CLI
def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "spikeattn.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def one_clean_line(r):
    lines = r.stderr.strip().splitlines()
    assert r.returncode in (1, 2), (r.returncode, r.stderr)
    assert len(lines) == 1 and "Traceback" not in r.stderr and lines[0].startswith("spikeattn"), r.stderr
    return lines[0]


def test_energy_with_pathological_result_files(tmp_path, counts):
    cases = {
        "deep.json": "[" * 100000 + "]" * 100000,
        "cf_int.json": json.dumps({"counts": counts, "circuit_file": 5}),
        "cf_list.json": json.dumps({"counts": counts, "circuit_file": ["a"]}),
        "counts_list.json": json.dumps({"counts": [1]}),
        "neg.json": json.dumps({"counts": {**counts, "steps": -4}}),
        "binary.json": "\x00\xff",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="latin1")
        one_clean_line(cli("energy", str(tmp_path / name), "--no-figures", "--hardware", "loihi2"))


def test_energy_with_an_unwritable_out(tmp_path, counts):
    (tmp_path / "r.json").write_text(json.dumps({"counts": counts}))
    (tmp_path / "afile").write_text("x")
    line = one_clean_line(cli("energy", str(tmp_path / "r.json"), "--no-figures", "--hardware", "loihi2",
                              "--out", str(tmp_path / "afile")))
    assert "afile" in line


def test_main_refuses_non_string_argv(capsys):
    from spikeattn.cli import main
    assert main(["energy", 5]) == 2
    assert "list of strings" in capsys.readouterr().err


def test_cli_catches_unexpected_plugin_errors_in_one_line(monkeypatch, capsys):
    """An exception escaping a plug-in handler is reported in one line with exit code 1."""
    import spikeattn.cli as cli_mod

    def boom(args):
        raise RecursionError("maximum recursion depth exceeded")
    real = cli_mod.build_parser

    def parser():
        p = real()
        p.set_defaults(handler=boom)
        return p
    monkeypatch.setattr(cli_mod, "build_parser", parser)
    assert cli_mod.main([]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["spikeattn: error: unexpected RecursionError: maximum recursion depth exceeded "
                   "(set SPIKEATTN_DEBUG=1 for the traceback)"]
    assert issubclass(hm.CountsFormatError, SpikeattnError)
