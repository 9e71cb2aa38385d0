"""Scenario ``energy-vs-gpu``: a trained dense transformer, converted, against GPUs.

Trains (or loads from the cache, keyed by config) the in-repo ``digits-vit`` (a ViT on
scikit-learn's ``load_digits``), converts it with :func:`spikeattn.convert.convert` in
``accumulate`` mode (ReLU attention, folded LayerNorm, ``MultiThresholdIF`` neurons with L
levels, accumulate-only product gates: binary and count messages only), simulates the whole
test split at T = 1, 2, 4, ... up to ``steps`` and reports accuracy, fidelity and energy
per inference on Loihi, Loihi 2, TrueNorth and SpiNNaker 2 (the spiking run at the largest T
over the whole test split) next to the dense model that was converted on A100, H100 and
Jetson Orin at batch 1, 64 and 1024, with 5-95 % intervals, the crossover batch and one
verdict line per chip and GPU: all from one call of ``hardware_models.energy_block`` (which prices
through ``hardware_models.estimate``'s costing classes) on the
workload that fidelity.json records, written alike to fidelity.json (``energy``),
result.json (``energy``), the terminal and report.html.  The fine-tuned
quantised model is cached as well; on a cold cache the scenario says on stderr that it
trains: the dense training with the time of its first epoch and the estimate for all of
them (a tqdm bar on a terminal), the fine-tune with an estimate from ``FINETUNE_S_PER_EPOCH``
(measured on 2 busy cores).  It is the default scenario (``spikeattn run``,
``make demo``).

The test split (360 digits) is simulated ``batch`` samples at a time (default 120: three batches),
so result.json's ``batch`` and the report's parameters agree.  Figures (:mod:`scenarios.energy_figures`,
from the energy block): ``accuracy_vs_T.png``, ``energy_vs_batch.png`` (GPU curves over batch 1 ...
1024, chip bands for their 5-95 % intervals, crossovers marked) and ``accuracy_vs_energy.png``
(chips and each GPU at batch 1, 64, 1024, with intervals), all embedded in report.html.

Metrics ``energy_<chip>`` (J per inference) and ``energy_<gpu>_dense_b<batch>`` (J per
inference at that batch).

Checks: ``accuracy_drop_le_1pt`` (best spiking accuracy at T <= 4 within 1 point of the
dense model), ``zero_macs`` (``synaptic_macs == 0`` at every T: accumulate only),
``identical_to_quantised_T1`` (every test prediction at T = 1 equals the quantised ANN's,
which torch computes in float64).
"""
from __future__ import annotations

import functools
import json
import sys

import numpy as np

from . import energy_figures
from .base import ScenarioConfig, ScenarioOutcome, scenario
from .outcome import Outcome
from .params import Param, common_params

# seconds per quantisation-aware fine-tune epoch of digits-vit (levels 4), measured on the
# 2-core development machine while busy (load average ~9: 15 epochs in 131 s); an idle one is faster
FINETUNE_S_PER_EPOCH = 8.7
CHIPS = ("loihi", "loihi2", "truenorth", "spinnaker2")
GPUS = ("a100", "h100", "jetson_orin")
HARDWARE = CHIPS + GPUS
QUANTISED_ANN = ("h100",)     # also the dense model as a ceil(log2(T+1))-bit ANN in INT8 on these GPUs
WHY_BRIAN2 = ("Brian2 has no MultiThresholdIF / LoihiMultiThresholdIF neurons or count messages (numpy, compiled "
              "and lava run them)")


def _say(msg: str) -> None:
    """Cold-cache notices go to stderr whatever the terminal (they appear once per cache)."""
    print(msg, file=sys.stderr, flush=True)


@scenario("energy-vs-gpu", "a trained ViT (digits) converted to an accumulate-only spiking circuit: accuracy, "
          "fidelity and energy on neuromorphic chips against the dense model on GPUs",
          common_params(4, 120) + [
              Param("levels", "int", 4, "activation levels L of the MultiThresholdIF neurons", low=1, high=64),
              Param("epochs", "int", 15, "quantisation-aware fine-tune epochs (cached)", low=0, high=1000),
              Param("mode", "choice", "accumulate", "conversion mode", choices=("accumulate", "exact", "rate")),
          ],
          refuses={"brian2": WHY_BRIAN2},
          parity={"numpy": "same experiment", "compiled": "same experiment (identical spikes and counts)",
                  "lava": "the converted model quantised for Loihi (quantise='loihi8': 8-bit weights, integer "
                          "neurons, pipelined) on Lava's fixed-point simulator; identical_to_quantised_T1 is "
                          "replaced by loihi8_bit_exact_numpy (reported as reduced)"})
def run(cfg: ScenarioConfig) -> ScenarioOutcome:
    import torch  # noqa: F401  (the torch extra; imported here, never at scenario registration)

    from spikeattn.convert import convert
    from spikeattn.convert.figures import accuracy_vs_T as _accuracy_vs_T
    from spikeattn.models.data import digits
    from spikeattn.convert.fidelity import fidelity_report
    from spikeattn.models.zoo import load_model
    from spikeattn.fileio import atomic_write_json

    p = cfg.p
    data = digits()
    model = load_model("digits-vit", data, log=_say, progress=cfg.progress)
    from spikeattn.convert.cache import converted_cache_path as _cache_path
    if p["mode"] != "rate" and p["epochs"] > 0 and not _cache_path("digits-vit", p["mode"], p["levels"], p["epochs"],
                                                                    2e-3, 0).is_file():
        _say(f"energy-vs-gpu: quantisation-aware fine-tune of digits-vit ({p['epochs']} epochs on CPU: up to "
             f"about {FINETUNE_S_PER_EPOCH * p['epochs']:.0f} s on 2 busy cores; cached afterwards) ...")
    lava = cfg.engine == "lava"
    if lava:
        if p["mode"] != "accumulate":
            from spikeattn.errors import ParameterError
            raise ParameterError("scenario 'energy-vs-gpu'", "mode", f"is {p['mode']!r} with --engine lava: its "
                                 "floating-point host stages cannot run on Loihi.", "use --set mode=accumulate.")
        cfg.reduce("arithmetic", "the converted model runs quantised for Loihi (8-bit weights, integer neurons, "
                   "pipelined delays)", "Lava runs fixed-point neurons; the float MultiThresholdIF has no Lava process")
        cfg.reduce("identical_to_quantised_T1", "replaced by loihi8_bit_exact_numpy (Lava == numpy on the quantised "
                   "model, every test prediction at the largest T)", "8-bit weights differ from the float quantised "
                   "ANN by design")
    sm = convert(model, torch.as_tensor(data["x_train"][:2]), mode=p["mode"], calib=data["x_calib"],
                 train=(data["x_train"], data["y_train"]), epochs=p["epochs"], levels=p["levels"],
                 cache_key="digits-vit", name="digits_vit", quantise="loihi8" if lava else None)
    # the declared batch is what runs: fidelity_report takes no batch, so every predict of this model
    # (each T of the fidelity run, the Lava check) simulates p["batch"] test samples at once
    sm.predict = functools.partial(sm.predict, batch=p["batch"])
    rep = fidelity_report(sm, "digits-vit", data["x_test"], data["y_test"], p["steps"], engine=cfg.engine)
    circuits = {seg.circuit.name: seg.circuit for seg in sm.program.segments}
    block = cost_workload(rep["workload"], circuits)
    rep["energy"] = fidelity_energy(block, rep["energy"])
    out = Outcome()
    small = {t: a for t, a in rep["spiking_accuracy"].items() if int(t) <= 4}
    best = max(small.values())
    out.metric("dense_accuracy", rep["dense_accuracy"], "fraction", "dense torch model, test split")
    out.metric("quantised_accuracy", rep["quantised_accuracy"], "fraction", "quantised ANN (fine-tuned)")
    for t, a in rep["spiking_accuracy"].items():
        out.metric(f"spiking_accuracy_T{t}", a, "fraction", f"spiking model at T = {t}")
    for chip, e in rep["energy"]["spiking"].items():
        out.metric(f"energy_{chip}", e, "J/inference", f"spiking model on {chip} at T = {p['steps']}, dynamic + "
                   "static (flat in batch: samples in sequence)")
    for gpu, by_b in rep["energy"]["dense_gpu_by_batch"].items():
        for b, e in by_b.items():
            out.metric(f"energy_{gpu}_dense_b{b}", e, "J/inference", f"dense model on {gpu} at batch {b}, "
                       "dynamic + idle")
    out.details["energy_verdicts"] = rep["energy"]["verdicts"]
    out.check("accuracy_drop_le_1pt", rep["dense_accuracy"] - best <= 0.01 + 1e-12,
              "best spiking accuracy at T <= 4 within 1 point of the dense model",
              value=rep["dense_accuracy"] - best, threshold=0.01, op="<=")
    macs = max(rep["macs_per_step"].values())
    if p["mode"] == "accumulate":
        out.check("zero_macs", macs == 0, "synaptic_macs == 0 at every T (accumulate only)", value=macs,
                  threshold=0, op="==")
    else:
        out.skip("zero_macs", f"mode '{p['mode']}' keeps floating-point stages")
    if lava:
        t_last = max(int(t) for t in rep["spiking_accuracy"])
        pl = sm.last_prediction                       # Lava, the fidelity run's last T
        pn = sm.predict(data["x_test"], steps=t_last)
        out.check("loihi8_bit_exact_numpy", bool(np.array_equal(pl, pn)), f"every T = {t_last} prediction of the "
                  "loihi8 model on Lava equals the numpy engine's", value=float(np.mean(pl == pn)), threshold=1.0,
                  op="==")
        out.metric("identical_to_quantised_T1", rep["identical_to_quantised"]["1"], "fraction",
                   "loihi8 predictions at T = 1 equal to the float quantised ANN's")
    elif rep["identical_to_quantised"]:
        v = rep["identical_to_quantised"]["1"]
        out.check("identical_to_quantised_T1", v == 1.0, "every prediction at T = 1 equals the quantised ANN's",
                  value=v, threshold=1.0, op="==")
    out.details["fidelity"] = json.loads(json.dumps(rep, default=float))
    figures = []
    if cfg.figures:
        cfg.out_dir.mkdir(parents=True, exist_ok=True)
        _accuracy_vs_T(rep, cfg.out_dir)
        figures = [cfg.out_dir / "accuracy_vs_T.png"] + energy_figures.draw(rep, block, cfg.out_dir)
        atomic_write_json(cfg.out_dir / "fidelity.json", rep)
    out.per_sample("test_labels", np.asarray(data["y_test"]))
    return ScenarioOutcome(result=sm.last_result, outcome=out.to_dict(), figures=figures,
                           circuit=sm.program.segments[0].circuit, energy=block)


def cost_workload(workload: dict, circuits: dict) -> dict:
    """The energy block (:func:`hardware_models.energy_block`) of the recorded workload on
    :data:`HARDWARE` at batch 1, 64 and 1024.  A dense model torch could not count leaves the
    GPUs on the floor estimate, with the reason in ``workload.dense_error``."""
    from hardware_models import RunWorkload, energy_block
    from hardware_models.estimator import HEADLINE_BATCHES
    wl = dict(workload)
    dense = wl.get("dense") or {}
    if "error" in dense:
        wl["dense"] = None
    block = energy_block(RunWorkload.from_dict(wl, circuits), HARDWARE, HEADLINE_BATCHES,
                         quantised_ann=QUANTISED_ANN)
    if "error" in dense:
        block["workload"]["dense_error"] = dense["error"]
    return block


def fidelity_energy(block: dict, base: dict) -> dict:
    """fidelity.json's ``energy``: per inference, from ``block`` (the same numbers as result.json)."""
    e = dict(base)
    pts = block.get("batch_study", {}).get("points", {})
    e.update(spiking={c: block[c]["per_sample_j"] for c in CHIPS if c in block},
             dense_gpu={g: pts[g][0]["energy_j"] for g in GPUS if g in pts},
             dense_gpu_by_batch={g: {str(p["batch"]): p["energy_j"] for p in ps} for g, ps in pts.items()
                                 if g not in CHIPS},
             unit="J per inference", note="chips: the spiking run over the whole test split; GPUs: the converted "
             "dense model's workload (torch counts) per batch", headline=block.get("headline"),
             verdicts=(block.get("headline") or {}).get("verdicts", []))
    return e
