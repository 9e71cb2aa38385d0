"""``fidelity.json``: accuracy, fidelity, event counts and energy of a converted model.

Keys: ``model``, ``mode``, ``dense_accuracy``, ``quantised_accuracy`` (null in rate mode),
``spiking_accuracy`` ({T: accuracy} for T = 1, 2, 4, ... up to ``steps``),
``identical_to_quantised`` ({T: fraction of test samples predicted as the quantised ANN};
null in rate mode), ``macs_per_step`` (synaptic MACs per sample per step),
``acs_per_step``, ``spike_rate_per_layer`` (spikes per neuron per step and sample),
``attention_agreement`` (per attention layer and head: KL, correlation, top-k overlap of
the spike-derived map against the dense softmax map, on the first batch of the last T;
:mod:`.agreement`), ``workload`` (what energy is costed from: ``spiking``, the event counts
of every segment and batch at the largest T over the whole test split, and ``dense``, the
dense model's workload counted by torch at batch 1, 2, 64 and 1024:
:func:`.dense_workload.dense_record`), ``energy`` (``{"spiking": {}, "dense_gpu": {}}``
until a caller costs ``workload``: this package does not import ``hardware_models``; the
energy-vs-gpu scenario and ``spikeattn energy fidelity.json`` fill it through
``hardware_models.estimate``), ``host_stages`` (the floating-point stages per step),
``timing_s``; with ``--quantise loihi8`` also ``quantisation`` (:func:`quantisation_report`).
"""
from __future__ import annotations

import numpy as np

from .agreement import attention_agreement
from .dense_workload import dense_record

CHIPS = ("loihi", "loihi2", "truenorth", "spinnaker2")
GPUS = ("a100", "h100", "jetson_orin")


def t_grid(steps: int) -> list[int]:
    return [t for t in (1, 2, 4, 8, 16, 32) if t <= steps] or [steps]


def workload(sm, dense_model, example, name: str = "dense model") -> dict:
    """What energy is costed from (module docstring): the spiking run last made by ``sm``
    (``sm.last_results``: one counts dict per segment and batch, summed per circuit by the
    costing side) and the dense model's workload (:func:`.dense_workload.dense_record`)."""
    lc = sm.last_counts or {}
    spiking = {"name": getattr(sm.circuit, "name", ""), "samples": int(lc.get("samples", 0)),
               "steps": int(lc.get("simulated_steps", lc.get("steps", 0))),
               "segments": [{"circuit": circ.name, "counts": c.to_dict()} for circ, c in sm.last_results]}
    return {"spiking": spiking, "dense": dense_record(dense_model, example, name=name)}


def energy(sm=None, dense_model=None, example=None, chips=CHIPS, gpus=GPUS) -> dict:
    """The ``energy`` entry before costing: empty per-model dicts and where to get them.  Costing
    lives in ``hardware_models.estimate`` (this package does not import it)."""
    return {"spiking": {}, "dense_gpu": {}, "unit": "J per inference", "chips": list(chips), "gpus": list(gpus),
            "steps": sm.last_counts["steps"] if sm is not None and sm.last_counts else None,
            "note": "not costed yet: cost 'workload' with hardware_models.estimate (spikeattn energy fidelity.json)"}


def fidelity_report(sm, model_name, x, y, steps: int, engine: str = "numpy", dense_model=None) -> dict:
    import torch
    y = np.asarray(y)
    dense_model = dense_model if dense_model is not None else sm.dense
    with torch.no_grad():
        xt = torch.as_tensor(np.asarray(x))
        dense_acc = float(np.mean(dense_model(xt.float() if xt.is_floating_point() else xt).argmax(-1).numpy() == y))
    q = sm.quantised_predict(x)
    acc, ident, timing, macs, acs, rates = {}, {}, {}, {}, {}, {}
    import time
    for T in t_grid(steps):
        t0 = time.perf_counter()
        p = sm.predict(x, steps=T, engine=engine)
        timing[str(T)] = time.perf_counter() - t0
        acc[str(T)] = float(np.mean(p == y))
        if q is not None:
            ident[str(T)] = float(np.mean(p == q))
        tot = sm.last_counts["totals"]
        macs[str(T)] = tot.get("synaptic_macs", 0) / (len(x) * T)
        acs[str(T)] = tot.get("synaptic_acs", 0) / (len(x) * T)
    wl = workload(sm, dense_model, np.asarray(x), name=str(model_name))        # the largest T's run, before anything else runs
    sizes = {}
    for seg in sm.program.segments:
        sizes.update({k: v.size for k, v in seg.circuit.populations.items()})
    for k, nspk in sm.last_counts["spikes_per_node"].items():
        rates[k] = nspk / (sizes[k] * len(x) * sm.last_counts["steps"])
    return {"model": model_name, "mode": sm.mode, "levels": sm.levels, "dense_accuracy": dense_acc,
            "quantised_accuracy": None if q is None else float(np.mean(q == y)),
            "spiking_accuracy": acc, "identical_to_quantised": ident or None,
            "macs_per_step": macs, "acs_per_step": acs, "spike_rate_per_layer": rates,
            "attention_agreement": attention_agreement(sm, x), "energy": energy(sm),
            "workload": wl,
            "host_stages": sm.host_stages, "circuit": sm.circuit.summary(), "timing_s": timing, "engine": engine, "test_samples": int(len(x))}


def quantisation_report(sm, x, y, steps: int, rep: dict) -> dict:
    """What Loihi quantisation cost: the float spiking model's accuracy per T next to the
    quantised one's (``rep``), and the fraction of test samples both predict alike."""
    fm = sm.meta.get("float_model")
    out = dict(sm.program.quantisation or {})
    out.pop("sigma", None)
    if fm is None:
        return out
    y = np.asarray(y)
    facc, same = {}, {}
    for T in t_grid(steps):
        pf = fm.predict(x, steps=T)
        pq = sm.predict(x, steps=T)
        facc[str(T)] = float(np.mean(pf == y))
        same[str(T)] = float(np.mean(pf == pq))
    out.update({"float_spiking_accuracy": facc, "loihi8_spiking_accuracy": rep["spiking_accuracy"],
                "identical_to_float_spiking": same,
                "weight_bits": 8, "fixed_point": bool(sm.circuit.fixed_point)})
    return out
