"""The one path from a run's workload to energy: ``estimate`` (one model) and ``energy_block``
(every model, the batch table and the headline).

``estimate(workload, hardware, batch=None, draws=0)`` -> :class:`EnergyReport` for ``batch``
samples (default: the samples the spiking run counted; 1 without spiking counts).
``workload``: a :class:`~hardware_models.workloads.RunWorkload` (spiking counts and / or the
dense model's workload), a ``SpikingWorkload``, a ``DenseWorkload`` or plain counts.  Chips
cost the counts, GPUs and ANN accelerators the dense workload, each through its costing class
(:mod:`hardware_models.costing`).  ``draws > 0`` adds the seeded Monte Carlo median and 5-95 %
interval under ``meta["uncertainty"]``.

``energy_block(workload, names, batches=(1, 64, 1024), draws=1000)`` makes one costing per
model (each chip placed once) and returns the JSON-ready block that ``spikeattn run``,
``spikeattn energy`` and the energy-vs-gpu scenario all write: per model
``EnergyReport.to_dict()`` for the samples counted, ``"batch_study"``
(:func:`hardware_models.batching.batch_table`), ``"headline"`` (:func:`headline`),
``"sensitivity"`` (single-circuit runs with spikes and a GPU; the headline then also gives
the break-even spike rate per chip and GPU, :func:`break_even`) and ``"workload"`` (the
workload costed, so ``spikeattn energy result.json`` costs the same thing again).

The headline per chip and GPU: energy per inference at each batch of the table, the ratio
GPU / chip, the crossover batch, and one verdict line, e.g. ``loihi2 uses 1.9-260x less energy
per inference than h100 (batch 1024 to 1), crossover never (searched up to 4096)``.
"""
from __future__ import annotations

from .batching import MAX_BATCH, SERVER_BOUND_S, batch_table
from .baselines import quant_bits
from .costing import GpuCosting, make
from .registry import get
from .report import EnergyReport
from .sensitivity import YAN_RATE_T5, sensitivity
from .uncertainty import SEED
from .workloads import DenseWorkload, RunWorkload, SpikingWorkload, as_workload

HEADLINE_BATCHES = (1, 64, 1024)
DEFAULT_DRAWS = 1000


def estimate(workload, hardware, batch: int | None = None, draws: int = 0, seed: int = SEED) -> EnergyReport:
    """Energy report of ``workload`` on ``hardware`` for ``batch`` samples (module docstring)."""
    return make(as_workload(workload), hardware, draws, seed).report(batch)


def run_workload(circuit, result, baseline: str = "softmax") -> RunWorkload:
    """The workload of one simulated circuit: its counts (``result``: SimResult, EventCounts or
    counts dict) and its dense equivalent (``baseline``) when the circuit is given.  Chips are
    placed from the element totals, not from a SimResult's spike trains, so that the file
    written (counts only) costs to the same numbers when read back."""
    counts = result.counts if hasattr(result, "counts") else result
    sp = SpikingWorkload.of(counts, circuit)
    return RunWorkload(sp, DenseWorkload.of_circuit(circuit, sp.steps, baseline) if circuit is not None else None)


def _ratio_text(r: float) -> str:
    return f"{r:,.0f}" if r >= 1000 else f"{r:.3g}"


def verdict(chip: str, gpu: str, ratios: dict, crossover: int | None, max_batch: int) -> str:
    """One line: how many times less (or more) energy per inference ``chip`` uses than ``gpu``
    over the batches of ``ratios`` ({batch: E_gpu / E_chip}), and the crossover batch."""
    bs = sorted(ratios)
    hi_b, lo_b = bs[0], bs[-1]
    vals = [ratios[b] for b in bs]
    cross = (f"crossover never (searched up to {max_batch})" if crossover is None else
             f"crossover at batch {crossover}")
    if min(vals) >= 1:
        lo, hi = min(vals), max(vals)
        rng = _ratio_text(lo) if lo == hi else f"{_ratio_text(lo)}-{_ratio_text(hi)}"
        return f"{chip} uses {rng}x less energy per inference than {gpu} (batch {lo_b} to {hi_b}), {cross}"
    if max(vals) <= 1:
        lo, hi = 1 / max(vals), 1 / min(vals)
        rng = _ratio_text(lo) if lo == hi else f"{_ratio_text(lo)}-{_ratio_text(hi)}"
        return f"{chip} uses {rng}x more energy per inference than {gpu} (batch {hi_b} to {lo_b}), {cross}"
    b_best, b_worst = max(bs, key=lambda b: ratios[b]), min(bs, key=lambda b: ratios[b])
    return (f"{chip} uses {_ratio_text(ratios[b_best])}x less energy per inference than {gpu} at batch {b_best} "
            f"and {_ratio_text(1 / ratios[b_worst])}x more at batch {b_worst}, {cross}")


def headline(study: dict) -> dict:
    """Per chip and GPU of a batch table: energy per inference at each batch (dynamic and
    dynamic + static, 5-95 % intervals), the ratio, the crossover batch and the verdict."""
    pts, cross = study["points"], study["crossover_batch"]
    rows, verdicts = [], []
    for chip, per_gpu in cross.items():
        for gpu, x in per_gpu.items():
            ratios = {}
            for pc, pg in zip(pts[chip], pts[gpu]):
                ratios[pc["batch"]] = pg["energy_j"] / pc["energy_j"] if pc["energy_j"] > 0 else float("inf")
            line = verdict(chip, gpu, ratios, x["total"], study["max_batch"])
            rows.append({"chip": chip, "gpu": gpu, "ratio_by_batch": {str(b): r for b, r in ratios.items()},
                         "crossover_batch": x["total"], "crossover_batch_dynamic": x["dynamic"], "verdict": line})
            verdicts.append(line)
    table = [{"hardware": name, "batch": p["batch"], "energy_j": p["energy_j"], "energy_interval": p["energy_interval"],
              "dynamic_j": p["dynamic_j"], "dynamic_interval": p["dynamic_interval"], "latency_s": p["latency_s"]}
             for name, ps in pts.items() for p in ps]
    return {"unit": "J per inference", "batches": study["batches"], "table": table, "comparisons": rows,
            "verdicts": verdicts, "baseline": study["baseline"]}


def break_even(sens: dict, study: dict) -> list[dict]:
    """Per chip with a sensitivity fit and per GPU of the batch table: the spike rate at which the
    chip's energy per inference equals the GPU's at the smallest and the largest batch, beside the
    measured rate and Yan et al. 2024's about 0.057 at T = 5.  From the fit's linear model
    ``E(rate) = a + rate / rate0 * b`` (whole run at T0): ``rate* = rate0 (E_gpu(b) * samples - a) / b``
    (None when the chip's rate-independent energy alone exceeds the GPU's)."""
    out = []
    curves = {g for per_gpu in study["crossover_batch"].values() for g in per_gpu}
    gpus = {g: pts for g, pts in study["points"].items() if g in curves}
    for chip, s in sens.items():
        if chip not in study["points"]:
            continue
        for gpu, pts in gpus.items():
            rates = {}
            for p in (pts[0], pts[-1]):
                head = p["energy_j"] * s["batch"] - s["a_j"]
                rates[p["batch"]] = None if head <= 0 or s["b_j"] <= 0 else s["rate0"] * head / s["b_j"]
            cells = ", ".join(("none" if r is None else f"{r:.3g}" + (" (> 1: every feasible rate)" if r > 1 else ""))
                              + f" at batch {b}" for b, r in rates.items())
            out.append({"chip": chip, "gpu": gpu, "measured_rate": s["rate0"], "steps": s["steps0"],
                        "break_even_rate": {str(b): r for b, r in rates.items()},
                        "line": f"{chip} vs {gpu}: break-even spike rate {cells} (spikes/neuron/step at T = "
                                f"{s['steps0']}; measured {s['rate0']:.3g}; Yan et al. 2024: about "
                                f"{YAN_RATE_T5[0]:.3g} at T = {YAN_RATE_T5[1]})"})
    return out


def _sensitivity(costs: dict, wl: RunWorkload) -> dict:
    gpus = [c for c in costs.values() if c.hw.kind == "gpu"]
    sp = wl.spiking
    if not gpus or sp is None or len(sp.segments) != 1:
        return {}
    view = sp.segments[0].view
    if view.total("spikes", "population") == 0:
        return {}
    g = gpus[0].report()
    out = {}
    for name, c in costs.items():
        if c.hw.kind in ("gpu", "ann"):
            continue
        s = sensitivity(view, name, gpu_j=g.total_j, gpu=g.hardware, placement=c.placements[0])
        out[s.hardware] = {**s.to_dict(), "crossover_rate_at_T0": s.crossover_rate(s.steps0)}
    return out


def energy_block(workload, hardware_names, batches=HEADLINE_BATCHES, draws: int = DEFAULT_DRAWS, seed: int = SEED,
                 max_batch: int = MAX_BATCH, server_bound_s: float = SERVER_BOUND_S, sensitivity: bool = True,
                 baseline: str | None = None, quantised_ann=()) -> dict:
    """The energy block (module docstring); ``batches=None`` leaves out the batch table and headline.
    ``quantised_ann``: GPU names that also cost the dense model as a ceil(log2(T + 1))-bit quantised
    ANN computed as INT8 (:meth:`DenseWorkload.quantised`), under ``"<gpu>-q<bits>-int8"``."""
    wl = as_workload(workload)
    names = [get(n).name for n in hardware_names]
    costs = {n: make(wl, n, draws, seed) for n in names}
    if quantised_ann and wl.dense is not None:
        bits = quant_bits(wl.spiking.steps if wl.spiking is not None else 1)
        qwl = RunWorkload(wl.spiking, wl.dense.quantised(bits))
        for g in (get(n) for n in quantised_ann):
            label = f"{g.name}-q{bits}-int8"
            costs[label] = GpuCosting(g, qwl, draws, seed, precision="int8", label=label)
    block = {n: c.report().to_dict() for n, c in costs.items()}
    if sensitivity:
        sens = _sensitivity(costs, wl)
        if sens:
            block["sensitivity"] = sens
    if batches and any(get(n).kind == "gpu" for n in names) and wl.dense is not None:
        label = baseline or (wl.dense.source if wl.dense.source != "recorded" else f"dense model ({wl.dense.name})")
        study = batch_table(costs, batches, server_bound_s, max_batch, label)
        block["batch_study"] = study
        block["headline"] = headline(study)
        if block.get("sensitivity"):
            block["headline"]["break_even"] = break_even(block["sensitivity"], study)
    block["workload"] = wl.to_dict()
    return block



def run_energy_block(circuit, result, hardware_names, batches=HEADLINE_BATCHES, draws: int = DEFAULT_DRAWS,
                     engines=("model",), baseline: str = "softmax", server_bound_s: float = SERVER_BOUND_S) -> dict:
    """:func:`energy_block` of one simulated circuit (:func:`run_workload`): what ``spikeattn
    run --hardware`` stores under ``"energy"``.  ``engines`` containing ``"sanafe"`` adds
    ``"sanafe"`` (:func:`hardware_models.sanafe_engine.sanafe_block`; needs a SimResult with
    spike trains)."""
    block = energy_block(run_workload(circuit, result, baseline), hardware_names, batches, draws,
                         server_bound_s=server_bound_s)
    if "sanafe" in engines:
        from .sanafe_engine import sanafe_block           # SANA-FE is optional: imported only when asked
        sim = result if hasattr(result, "spikes") else None
        block["sanafe"] = (sanafe_block(circuit, sim) if sim is not None and circuit is not None else
                           {"refused": "SANA-FE needs the circuit and the run's spike trains (a SimResult)"})
    return block


__all__ = ["estimate", "energy_block", "run_energy_block", "headline", "verdict", "break_even", "run_workload",
           "HEADLINE_BATCHES",
           "DEFAULT_DRAWS"]
