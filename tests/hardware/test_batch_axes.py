"""Batch and scenario axes (hardware_models.batching): per-inference energy against batch,
crossover batch against a closed form, scenarios, CLI --batch output."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="GPU baselines count the dense workload with torch")

import hardware_models as hm  # noqa: E402
import spikeattn as sa  # noqa: E402
from hardware_models.batching import GpuCurve, batch_study, crossover_batch  # noqa: E402
from spikeattn.circuits.attention import sdsa_attention  # noqa: E402
from spikeattn.errors import ParameterError  # noqa: E402


@pytest.fixture(scope="module")
def sdsa():
    c = sdsa_attention(8, 8, delay_mode="relay")
    rng = np.random.default_rng(0)
    res = sa.simulate(c, {p: rng.random((8, 2, 64)) < 0.3 for p in "qkv"}, steps=8)
    return c, res


def test_chip_energy_per_inference_is_flat_and_latency_scales(sdsa):
    c, res = sdsa
    st = batch_study(c, res.counts, ["loihi"], batches=[1, 4, 16], n=200)
    pts = st["points"]["loihi"]
    rep = hm.cost(res.counts, "loihi", circuit=c)
    for p in pts:                                  # samples in sequence: E / batch of the measured counts
        assert p["energy_j"] == pytest.approx(rep.total_j / 2)
        assert p["dynamic_j"] == pytest.approx(rep.dynamic_j / 2)
        assert p["latency_s"] == pytest.approx(rep.latency_s / 2 * p["batch"])


def test_gpu_per_inference_equals_cost_dense_and_falls_with_batch(sdsa):
    from hardware_models.dense_equivalent import dense_workload
    from hardware_models.gpu import cost_dense
    c, res = sdsa
    st = batch_study(c, res.counts, ["h100"], batches=[1, 64, 1024], n=200)
    e = [p["energy_j"] for p in st["points"]["h100"]]
    for p in st["points"]["h100"]:
        direct = cost_dense(dense_workload(c, 8, p["batch"]), "h100", measure=False)
        assert p["energy_j"] == pytest.approx(direct.total_j / p["batch"], rel=1e-12)
    assert e[0] > e[1] > e[2]
    # launch-bound at batch 1: 4 kernels x 5 us of 70 W idle is 1.4 mJ, almost all of it
    assert e[0] == pytest.approx(70 * 4 * 5e-6, rel=0.01)


def test_crossover_batch_against_the_closed_form(sdsa):
    """While launch-bound, E_gpu(b) / b = (P_idle k t_launch + b e_dyn) / b, so the GPU
    overtakes a chip of energy E at the smallest b with b >= P_idle k t_l / (E - e_dyn)."""
    c, _ = sdsa
    cv = GpuCurve(c, "h100", 8)
    e_dyn = cv.report(1).dynamic_j
    fixed = 70 * cv.workload(1).kernels * 5e-6
    for chip_j in (3e-5, 1e-4, 7e-4):
        expect = int(np.ceil(fixed / (chip_j - e_dyn)))
        got = crossover_batch(chip_j, cv)
        assert got == expect, (chip_j, got, expect)
        assert cv.per_inference(got) <= chip_j < cv.per_inference(got - 1)
    assert crossover_batch(1e-12, cv) is None          # the GPU never gets that low
    assert crossover_batch(1.0, cv) == 1


def test_scenarios_and_errors(sdsa):
    c, res = sdsa
    st = batch_study(c, res.counts, ["truenorth", "h100"], batches=[1, 8, 64], server_bound_s=10e-3, n=100)
    tn = st["scenarios"]["truenorth"]
    # TrueNorth: 8 steps x 1 ms per sample; a batch of 1 (8 ms) meets 10 ms, 8 samples do not
    assert tn["single-stream"]["batch"] == 1 and tn["server"]["batch"] == 1 and tn["offline"]["batch"] == 64
    assert st["scenarios"]["h100"]["server"]["latency_s"] <= 10e-3
    with pytest.raises(ParameterError, match="batches"):
        batch_study(c, res.counts, ["loihi"], batches=[0])
    with pytest.raises(ParameterError, match="circuit"):
        batch_study(None, res.counts, ["h100"], batches=[1])
    json.dumps(st)


def test_cli_batch_prints_per_model_and_batch(sdsa, tmp_path, capsys):
    from spikeattn.cli import main
    c, res = sdsa
    z = sa.save(c, tmp_path / "circuit.zip")
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"scenario": "sdsa", "counts": res.counts.to_dict(), "circuit_file": str(z)}))
    assert main(["energy", str(path), "--hardware", "loihi,truenorth,h100", "--batch", "1,64,1024",
                 "--draws", "200", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    for b in ("1", "64", "1024"):
        assert any(line.split()[:2] == ["loihi", b] for line in text.splitlines())
    assert "dynamic J" in text and "dyn+static J" in text and "5-95 %" in text
    assert "h100 overtakes loihi" in text and "single-stream" in text and "offline" in text
    doc = json.loads((tmp_path / "energy.json").read_text())
    assert doc["batch_study"]["batches"] == [1, 64, 1024]
    assert (tmp_path / "energy_batch.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "energy_batch.svg").read_text().lstrip().startswith("<?xml")
    assert main(["energy", str(path), "--batch", "1,x"]) == 2


def test_ann_accelerator_in_the_batch_study(sdsa):
    from hardware_models.baselines import cost_eyeriss
    from hardware_models.dense_equivalent import dense_workload
    c, res = sdsa
    st = batch_study(c, res.counts, ["eyeriss", "h100"], batches=[1, 64], n=100)
    one = cost_eyeriss(dense_workload(c, 8, 1))
    assert [p["energy_j"] for p in st["points"]["eyeriss"]] == pytest.approx([one.total_j] * 2)
    assert st["points"]["eyeriss"][1]["latency_s"] == pytest.approx(64 * one.latency_s)
    assert "h100" in st["crossover_batch"]["eyeriss"]
