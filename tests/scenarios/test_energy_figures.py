"""Issue 18 item 4: the energy-vs-gpu figures plot the estimator's numbers, and the report's
parameters are the run's.  Numbers come from a hand-computed two-term workload (the model of
tests/hardware/test_estimator.py: a launch-bound H100 overtakes a 55.6 uJ chip at batch 52),
read back from the matplotlib figure objects, never from a recorded image."""
import html
import json
import math
import re

import pytest

import hardware_models as hm
import scenarios
import spikeattn
from hardware_models.estimator import energy_block
from hardware_models.workloads import DenseWorkload, RunWorkload, SpikingWorkload
from scenarios import energy_figures as ef
from spikeattn.errors import SpikeattnError
from spikeattn.report import _fmt

W = dict(flops1=1_000_000, weight=0, io1=2000, kernels=8)
ACS, SAMPLES = 123_456_789, 2


def workload() -> RunWorkload:
    counts = {"steps": 4, "batch": SAMPLES, "elements": {
        "x->h": {"kind": "projection", "meta": {"synapses": 10, "pre": "x", "post": "h"},
                 "totals": {"synaptic_acs": ACS, "synaptic_macs": 0, "messages": 0}}}}

    def at(b):
        return {"batch": b, "flops": W["flops1"] * b, "elementwise_ops": 0, "weight_bytes": W["weight"],
                "activation_bytes": W["io1"] * b, "attention_map_bytes": 0, "io_bytes": W["io1"] * b,
                "kernels": W["kernels"], "params": 0, "dtype_bytes": 2}
    rec = {"name": "hand", "batches": {str(b): at(b) for b in (1, 2, 64, 1024)}}
    return RunWorkload(SpikingWorkload.of(counts), DenseWorkload.from_record(rec))


@pytest.fixture(scope="module")
def wl_block():
    wl = workload()
    return wl, energy_block(wl, ["literature", "h100"], draws=200)


def test_batch_series_is_the_estimator_priced_at_each_batch(wl_block):
    wl, block = wl_block
    s = ef.batch_series(block)
    g = s["gpus"]["h100"]
    assert g["batch"] == [2 ** k for k in range(11)]                      # 1 ... 1024
    for b, e in zip(g["batch"], g["energy_j"]):
        assert e == hm.estimate(wl, "h100", batch=b).total_j / b
    chip = hm.estimate(wl, "literature", batch=1, draws=200)
    assert s["chips"]["literature"]["energy_j"] == pytest.approx(chip.total_j, rel=1e-12)
    assert s["chips"]["literature"]["energy_j"] == pytest.approx(0.9e-12 * ACS / SAMPLES, rel=1e-12)
    iv = block["batch_study"]["points"]["literature"][0]["energy_interval"]
    assert (s["chips"]["literature"]["p5"], s["chips"]["literature"]["p95"]) == (iv["p5"], iv["p95"])
    assert s["chips"]["literature"]["p5"] <= s["chips"]["literature"]["energy_j"] <= s["chips"]["literature"]["p95"]
    assert [p["batch"] for p in g["points"]] == [1, 64, 1024]
    # crossover by hand: b* = ceil(F / (c - e)), F = P_idle x kernels x t_launch, e per sample
    e = W["flops1"] * 700 * 0.9 / 989e12 + W["io1"] * 3.12e-11
    F = 70.0 * W["kernels"] * 5e-6
    assert s["crossovers"] == [{"chip": "literature", "gpu": "h100",
                                "batch": math.ceil(F / (0.9e-12 * ACS / SAMPLES - e))}] == \
        [{"chip": "literature", "gpu": "h100", "batch": 52}]


def test_energy_vs_batch_figure_plots_the_series(wl_block, tmp_path):
    _, block = wl_block
    s = ef.batch_series(block)
    path, fig = ef.energy_vs_batch(s, tmp_path / "energy_vs_batch.png")
    assert path.is_file() and path.with_suffix(".svg").is_file()
    ax = fig.axes[0]
    lines = {ln.get_gid(): ln for ln in ax.lines if ln.get_gid()}
    gpu = lines["gpu:h100"]
    assert list(gpu.get_xdata()) == s["gpus"]["h100"]["batch"]
    assert list(gpu.get_ydata()) == s["gpus"]["h100"]["energy_j"]
    chip = lines["chip:literature"]
    assert list(chip.get_xdata()) == [1, 1024] and list(chip.get_ydata()) == [s["chips"]["literature"]["energy_j"]] * 2
    band = next(c for c in ax.collections if c.get_gid() == "band:literature")
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(s["chips"]["literature"]["p5"], rel=1e-12)
    assert ys.max() == pytest.approx(s["chips"]["literature"]["p95"], rel=1e-12)
    mark = lines["crossover:literature:h100"]
    assert list(mark.get_xdata()) == [52]
    assert list(mark.get_ydata()) == [s["chips"]["literature"]["energy_j"]]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "batch" in ax.get_xlabel() and "(J" in ax.get_ylabel()


def test_accuracy_vs_energy_plots_chips_and_each_gpu_batch(wl_block, tmp_path):
    _, block = wl_block
    rep = {"test_samples": 360, "dense_accuracy": 0.95, "quantised_accuracy": 0.94,
           "spiking_accuracy": {"1": 0.5, "2": 0.9, "4": 0.93}}
    pts = ef.accuracy_energy_series(rep, block)
    by = {(p["hardware"], p["batch"]): p for p in pts}
    assert set(by) == {("literature", None), ("h100", 1), ("h100", 64), ("h100", 1024)}
    assert by[("literature", None)]["accuracy"] == 0.93                       # the largest T
    for b, p in zip((1, 64, 1024), block["batch_study"]["points"]["h100"]):
        q = by[("h100", b)]
        assert (q["energy_j"], q["p5"], q["p95"]) == (p["energy_j"], p["energy_interval"]["p5"],
                                                     p["energy_interval"]["p95"])
        assert q["accuracy"] == 0.95
    lo, hi = ef.wilson(0.95 * 360, 360)                    # Wilson 95 % by hand: p = 0.95, n = 360
    z = 1.959964
    c = (0.95 + z * z / 720) / (1 + z * z / 360)
    h = z * math.sqrt(0.95 * 0.05 / 360 + z * z / (4 * 360 ** 2)) / (1 + z * z / 360)
    assert (lo, hi) == pytest.approx((c - h, c + h), rel=1e-12)
    path, fig = ef.accuracy_vs_energy(pts, tmp_path / "accuracy_vs_energy.png")
    assert path.is_file()
    ax = fig.axes[0]
    drawn = {ln.get_gid(): ln for ln in ax.lines if ln.get_gid()}
    assert len(drawn) == len(pts)
    for p in pts:
        ln = drawn[f"point:{p['label']}"]
        assert list(ln.get_xdata()) == [p["energy_j"]] and list(ln.get_ydata()) == [p["accuracy"]]


def test_figures_refuse_a_block_without_gpu_curves(wl_block):
    with pytest.raises(SpikeattnError, match="batch_study"):
        ef.batch_series({"loihi": {}})
    chip_only = energy_block(workload(), ["literature"], draws=0)
    with pytest.raises(SpikeattnError, match="GPU"):
        ef.batch_series(chip_only)


def report_parameters(text: str) -> dict:
    """The report's parameters table as {name: cell text}."""
    section = text.split("<h2>Parameters</h2>", 1)[1].split("<h2>", 1)[0]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", section)
    return {html.unescape(k): html.unescape(v) for k, v in rows}


def report_header(text: str) -> dict:
    head = re.search(r"<table><tr>(.*?)</tr><tr>(.*?)</tr></table>", text)
    keys = re.findall(r"<th>(.*?)</th>", head.group(1))
    vals = re.findall(r"<td>(.*?)</td>", head.group(2))
    return dict(zip(keys, vals))


def test_report_parameters_are_the_runs(tmp_path):
    r = scenarios.run_scenario("moe-routing", seed=1, out=tmp_path, batch=3, k=1, hardware=())
    doc = json.loads((tmp_path / "result.json").read_text())
    text = (tmp_path / "report.html").read_text()
    shown = report_parameters(text)
    assert set(shown) == set(doc["params"])
    for k, v in doc["params"].items():
        assert shown[k] == html.unescape(_fmt(v)), k
    assert report_header(text)["batch"] == str(doc["batch"]) == shown["batch"] == "3"
    assert r.result.batch == 3


@pytest.mark.slow
def test_energy_vs_gpu_report_shows_what_ran_and_both_figures(tmp_path):
    """The main job (cached weights: about 1-2 min on 2 busy cores): the batch it declares is the
    batch it simulates, the report's parameters are result.json's, both energy figures are written
    and embedded, and the GPU curves are the recorded dense workload priced by the estimator."""
    r = scenarios.run_scenario("energy-vs-gpu", out=tmp_path, hardware=("loihi2",))
    doc = json.loads((tmp_path / "result.json").read_text())
    text = (tmp_path / "report.html").read_text()
    shown = report_parameters(text)
    assert shown == {k: html.unescape(_fmt(v)) for k, v in doc["params"].items()}
    assert doc["params"]["batch"] == doc["batch"] == r.result.batch == 120
    assert report_header(text)["batch"] == shown["batch"] == "120"
    for name in (ef.BATCH_FIGURE, ef.ACCURACY_FIGURE):
        assert str(tmp_path / name) in doc["figures"] and f'alt="{name[:-4]}"' in text
    s = ef.batch_series(doc["energy"])
    dense = DenseWorkload.from_record(doc["energy"]["workload"]["dense"], doc["steps"])
    for gpu in ("a100", "h100", "jetson_orin"):
        g = s["gpus"][gpu]
        assert g["batch"] == [2 ** k for k in range(11)]
        assert g["energy_j"] == [hm.estimate(RunWorkload(None, dense), gpu, batch=b).total_j / b for b in g["batch"]]
    head = {(row["hardware"], row["batch"]): row for row in doc["energy"]["headline"]["table"]}
    for chip, c in s["chips"].items():
        row = head[(chip, 1)]
        assert (c["energy_j"], c["p5"], c["p95"]) == (row["energy_j"], row["energy_interval"]["p5"],
                                                      row["energy_interval"]["p95"])
        assert c["energy_j"] == doc["outcome"]["metrics"][f"energy_{chip}"]["value"]
    for row in doc["energy"]["headline"]["comparisons"]:
        assert {"chip": row["chip"], "gpu": row["gpu"], "batch": row["crossover_batch"]} in s["crossovers"]
