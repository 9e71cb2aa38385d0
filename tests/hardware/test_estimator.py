"""Issue 18: one estimator.  The batch table against a hand-computed dense workload, the
crossover batch of a two-term model by hand, and the same run through the CLI, the API and
the scenario machinery giving identical numbers."""
import json
import math

import numpy as np
import pytest

import hardware_models as hm
import spikeattn as sa
from hardware_models.estimator import break_even, energy_block, run_workload, verdict
from hardware_models.workloads import DenseWorkload, RunWorkload, SpikingWorkload
from spikeattn import IF, Circuit
from spikeattn.errors import SpikeattnError

# H100 constants as the chip module states them (checked here so the hand sums below stay honest)
PEAK, BW, E_FLOP, E_DRAM, P_IDLE = 989e12, 3.35e12, 700 * 0.9 / 989e12, 3.12e-11, 70.0
U, T_LAUNCH = 0.3, 5e-6


def test_h100_constants_used_by_the_hand_sums():
    g = hm.get("h100")
    assert (g.c("peak_flops_fp16"), g.c("mem_bandwidth"), g.c("e_dram_byte"), g.c("p_idle")) == \
        (PEAK, BW, E_DRAM, P_IDLE)
    assert g.c("e_flop_fp16") == pytest.approx(E_FLOP, rel=1e-12)


def counts_dict(acs: int, samples: int, steps: int = 4) -> dict:
    """A one-projection counts dict: ``acs`` synaptic ACs in all, nothing else."""
    return {"steps": steps, "batch": samples, "elements": {
        "x->h": {"kind": "projection", "meta": {"synapses": 10, "pre": "x", "post": "h"},
                 "totals": {"synaptic_acs": acs, "synaptic_macs": 0, "messages": 0}}}}


def dense_record(flops1: int, weight: int, io1: int, kernels: int) -> dict:
    """Counts affine in the batch: FLOPs and input/output bytes per sample, weights and launches per pass;
    activation bytes = io bytes (no intermediates: every byte is a DRAM byte, nothing in L2)."""
    def at(b):
        return {"batch": b, "flops": flops1 * b, "elementwise_ops": 0, "weight_bytes": weight,
                "activation_bytes": io1 * b, "attention_map_bytes": 0, "io_bytes": io1 * b, "kernels": kernels,
                "params": weight // 2, "dtype_bytes": 2}
    return {"name": "hand", "batches": {str(b): at(b) for b in (1, 2, 64, 1024)}}


def hand_gpu_j(b, flops1, weight, io1, kernels, dynamic=False):
    flops, nbytes = flops1 * b, weight + io1 * b
    t = max(flops / (PEAK * U), nbytes / (BW * U), kernels * T_LAUNCH)
    dyn = flops * E_FLOP + nbytes * E_DRAM
    return (dyn if dynamic else dyn + P_IDLE * t) / b


def test_batch_table_is_exact_against_a_hand_computed_workload():
    w = dict(flops1=2_000_000, weight=1_000_000, io1=1000, kernels=10)
    acs, samples = 3_000_000, 6
    wl = RunWorkload(SpikingWorkload.of(counts_dict(acs, samples)), DenseWorkload.from_record(dense_record(**w)))
    block = energy_block(wl, ["literature", "h100"], batches=(1, 64, 1024), draws=0)
    chip = 0.9e-12 * acs / samples                             # E_AC x ACs per sample, flat in batch
    for p in block["batch_study"]["points"]["literature"]:
        assert p["energy_j"] == pytest.approx(chip, rel=1e-12)
    for p, b in zip(block["batch_study"]["points"]["h100"], (1, 64, 1024)):
        assert p["batch"] == b
        assert p["energy_j"] == pytest.approx(hand_gpu_j(b, **w), rel=1e-12)
        assert p["dynamic_j"] == pytest.approx(hand_gpu_j(b, **w, dynamic=True), rel=1e-12)
    # the same model as a ceil(log2(4 + 1)) = 3-bit quantised ANN in INT8: 1 byte per value, INT8 rate
    q = energy_block(wl, ["h100"], batches=(1, 64), draws=0, quantised_ann=["h100"])
    g = hm.get("h100")
    for p, b in zip(q["batch_study"]["points"]["h100-q3-int8"], (1, 64)):
        flops, nbytes = w["flops1"] * b, (w["weight"] + w["io1"] * b) / 2
        t = max(flops / (g.c("peak_flops_int8") * U), nbytes / (BW * U), w["kernels"] * T_LAUNCH)
        assert p["energy_j"] == pytest.approx((flops * g.c("e_flop_int8") + nbytes * E_DRAM + P_IDLE * t) / b,
                                              rel=1e-12)
    # batch 3 was never counted: derived from batch 1 and 2, and equal to the hand sum
    assert hm.estimate(wl, "h100", batch=3).total_j / 3 == pytest.approx(hand_gpu_j(3, **w), rel=1e-12)
    # the chip report is the measured counts; batch b = b / samples of it
    assert block["literature"]["total_j"] == pytest.approx(0.9e-12 * acs, rel=1e-12)
    assert hm.estimate(wl, "literature", batch=1).total_j == pytest.approx(chip, rel=1e-12)
    json.dumps(block)


def test_crossover_batch_of_a_two_term_model_by_hand():
    """No weights, launch-bound up to 4096: E_gpu(b) / b = e + F / b with e = FLOPs x e_flop + io x e_dram
    per sample and F = P_idle x kernels x t_launch; the GPU reaches a chip of c J per inference at
    b* = ceil(F / (c - e))."""
    w = dict(flops1=1_000_000, weight=0, io1=2000, kernels=8)
    e = w["flops1"] * E_FLOP + w["io1"] * E_DRAM
    F = P_IDLE * w["kernels"] * T_LAUNCH                        # 2.8 mJ per pass
    # by hand: e = 1e6 x 6.3701e-13 + 2000 x 3.12e-11 = 6.994e-7 J, F = 70 x 8 x 5e-6 = 2.8e-3 J
    #   c = 3.6 mJ     -> F / (c - e) = 0.78  -> batch 1
    #   c = 55.556 uJ  -> F / (c - e) = 51.04 -> batch 52
    #   c = 1.0 uJ     -> F / (c - e) = 9315  -> beyond 4096: never
    #   c = 90 pJ < e  -> never
    for acs, samples, expect in ((4_000_000_000, 1, 1), (123_456_789, 2, 52), (1_111_111, 1, None), (100, 1, None)):
        c = 0.9e-12 * acs / samples
        if c > e:
            assert math.ceil(F / (c - e)) == (expect or math.ceil(F / (c - e)))
        wl = RunWorkload(SpikingWorkload.of(counts_dict(acs, samples)), DenseWorkload.from_record(dense_record(**w)))
        block = energy_block(wl, ["literature", "h100"], draws=0)
        got = block["batch_study"]["crossover_batch"]["literature"]["h100"]["total"]
        assert got == expect, (acs, got, expect)
        if got is not None and got > 1:
            assert hand_gpu_j(got, **w) <= c < hand_gpu_j(got - 1, **w)
        assert block["headline"]["comparisons"][0]["crossover_batch"] == expect


def test_break_even_rate_by_hand():
    """E_chip(rate) = a + rate / rate0 * b for the whole run of ``batch`` samples; the GPU's energy per
    inference e_g makes rate* = rate0 (e_g * batch - a) / b."""
    sens = {"loihi2": {"a_j": 2e-3, "b_j": 6e-3, "rate0": 0.1, "batch": 10, "steps0": 4}}
    study = {"points": {"loihi2": [{"batch": 1, "energy_j": 8e-4}, {"batch": 64, "energy_j": 8e-4}],
                        "h100": [{"batch": 1, "energy_j": 5e-4}, {"batch": 64, "energy_j": 1e-4}]},
             "crossover_batch": {"loihi2": {"h100": {"total": None, "dynamic": None}}}}
    (row,) = break_even(sens, study)
    # batch 1: 0.1 x (5e-4 x 10 - 2e-3) / 6e-3 = 0.05; batch 64: 1e-4 x 10 = 1e-3 < a -> none
    assert row["break_even_rate"]["1"] == pytest.approx(0.05, rel=1e-12) and row["break_even_rate"]["64"] is None
    assert row["line"].startswith("loihi2 vs h100: break-even spike rate 0.05 at batch 1, none at batch 64")


def test_verdict_lines():
    assert verdict("loihi2", "h100", {1: 260.0, 64: 7.0, 1024: 1.9}, None, 4096) == (
        "loihi2 uses 1.9-260x less energy per inference than h100 (batch 1024 to 1), crossover never (searched up "
        "to 4096)")
    assert "0.5x" not in verdict("spinnaker2", "h100", {1: 3.0, 1024: 0.5}, 17, 4096)
    assert verdict("spinnaker2", "h100", {1: 3.0, 1024: 0.5}, 17, 4096) == (
        "spinnaker2 uses 3x less energy per inference than h100 at batch 1 and 2x more at batch 1024, crossover "
        "at batch 17")


def small():
    rng = np.random.default_rng(2)
    c = Circuit("small")
    c.add_source("x", 12, encoder="poisson", seed=4)
    c.add_population("h", 10, IF(vth=1.5))
    c.connect("x", "h", (rng.random((10, 12)) < 0.5) * 1.0)
    return c, sa.simulate(c, {"x": np.full(12, 0.3)}, steps=15, batch=2)


def test_cli_api_and_run_block_give_identical_numbers(tmp_path, capsys):
    from scenarios.results import ScenarioResult  # noqa: F401  (the scenario path stores this block as is)
    from spikeattn.cli import main
    c, res = small()
    names = ["loihi", "loihi2", "truenorth", "literature", "h100"]
    # the run (what 'spikeattn run --hardware' stores)
    run_block = hm.energy_block(run_workload(c, res), names, draws=200)
    zip_path = sa.save(c, tmp_path / "circuit.zip")
    (tmp_path / "result.json").write_text(json.dumps({"scenario": "small", "counts": res.counts.to_dict(),
                                                      "circuit_file": str(zip_path), "energy": run_block}))
    # the CLI, from the file
    assert main(["energy", str(tmp_path / "result.json"), "--hardware", ",".join(names), "--draws", "200",
                 "--no-figures", "--out", str(tmp_path / "cli")]) == 0
    text = capsys.readouterr().out
    cli_block = json.loads((tmp_path / "cli" / "energy.json").read_text())
    # the API, one model at a time, from the workload the run recorded
    wl = RunWorkload.from_dict(run_block["workload"], {c.name: sa.load(zip_path)})
    for n in names:
        api = hm.estimate(wl, n, draws=200).to_dict()
        for key in ("total_j", "dynamic_j", "low_j", "high_j", "latency_s"):
            assert run_block[n][key] == cli_block[n][key] == api[key], (n, key)
        assert run_block[n]["meta"].get("uncertainty") == cli_block[n]["meta"].get("uncertainty")
    assert json.loads(json.dumps(run_block["batch_study"])) == cli_block["batch_study"]
    assert run_block["headline"]["verdicts"] == cli_block["headline"]["verdicts"]
    for line in run_block["headline"]["verdicts"]:
        assert line in text
    pts = cli_block["batch_study"]["points"]
    for n in ("loihi", "h100"):
        for p in pts[n]:
            assert f"{p['energy_j']:.3e}" in text


def test_bad_workloads_name_the_field():
    with pytest.raises(SpikeattnError, match="segments"):
        SpikingWorkload.from_dict({"segments": []})
    with pytest.raises(SpikeattnError, match="flops"):
        DenseWorkload.from_record({"name": "x", "batches": {"1": {"flops": -1}}})
    with pytest.raises(SpikeattnError, match="counting failed"):
        DenseWorkload.from_record({"name": "x", "error": "RuntimeError: meta"})
    rec = dense_record(10, 0, 10, 1)
    rec["batches"]["64"]["kernels"] = 99                       # not affine: batch 3 cannot be derived
    dw = DenseWorkload.from_record(rec)
    with pytest.raises(SpikeattnError, match="batch"):
        dw.at(3)
    with pytest.raises(hm.HardwareKindError, match="estimate"):
        hm.cost(counts_dict(10, 1), "h100")


def test_a_rebuilt_baseline_written_before_costing_reads_back():
    """A circuit's rebuilt dense baseline counts on demand; written before anything costed it
    (the wta-routing scenario's result.json), its record still holds counted batches, and the
    read-back workload costs every headline batch as the original does."""
    c, res = small()
    wl = run_workload(c, res)
    doc = json.loads(json.dumps(wl.to_dict()))
    assert set(doc["dense"]["batches"]) == {"1", "2", "64", "1024"}
    back = RunWorkload.from_dict(doc, {c.name: c})
    for b in (1, 64, 1024):
        assert hm.estimate(back, "h100", batch=b).total_j == hm.estimate(run_workload(c, res), "h100", batch=b).total_j
