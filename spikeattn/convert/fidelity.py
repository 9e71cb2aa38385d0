"""``fidelity.json``: accuracy, fidelity, event counts and energy of a converted model.

Keys: ``model``, ``mode``, ``dense_accuracy``, ``quantised_accuracy`` (null in rate mode),
``spiking_accuracy`` ({T: accuracy} for T = 1, 2, 4, ... up to ``steps``),
``identical_to_quantised`` ({T: fraction of test samples predicted as the quantised ANN};
null in rate mode), ``macs_per_step`` (synaptic MACs per sample per step),
``acs_per_step``, ``spike_rate_per_layer`` (spikes per neuron per step and sample),
``attention_agreement`` (per attention layer and head: KL, correlation, top-k overlap of
the spike-derived map against the dense softmax map, on the first batch of the last T;
:mod:`.agreement`), ``energy`` (per sample, joules: the spiking
model on Loihi, Loihi 2, TrueNorth and SpiNNaker 2 via ``hardware_models.cost`` summed over
segments; the dense model on A100, H100 and Jetson Orin via ``hardware_models.gpu``),
``host_stages`` (the floating-point stages per step), ``timing_s``; with ``--quantise
loihi8`` also ``quantisation`` (:func:`quantisation_report`).
"""
from __future__ import annotations

import copy
import inspect

import numpy as np

from .agreement import attention_agreement

CHIPS = ("loihi", "loihi2", "truenorth", "spinnaker2")
GPUS = ("a100", "h100", "jetson_orin")


def t_grid(steps: int) -> list[int]:
    return [t for t in (1, 2, 4, 8, 16, 32) if t <= steps] or [steps]


def energy(sm, dense_model, example, chips=CHIPS, gpus=GPUS) -> dict:
    import hardware_models as hw
    from hardware_models.dense_equivalent import count_workload
    from hardware_models.gpu import cost_dense
    out = {"spiking": {}, "dense_gpu": {}, "unit": "J per sample",
           "steps": sm.last_counts["steps"] if sm.last_counts else None}
    n = max(sm.last_counts["samples"], 1) if sm.last_counts else 1
    for chip in chips:
        try:
            out["spiking"][chip] = sum(hw.cost(c, chip, circuit=circ).total_j for circ, c in sm.last_results) / n
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            out["spiking"][chip] = f"not costed: {type(exc).__name__}: {exc}"[:300]
    try:
        m = copy.deepcopy(dense_model)
        arg = next(iter(inspect.signature(m.forward).parameters))
        w = count_workload(m, {arg: np.asarray(example[:1], np.float32)}, name="dense", batch=1)
        for g in gpus:
            out["dense_gpu"][g] = cost_dense(w, g).total_j
    except Exception as exc:  # noqa: BLE001
        out["dense_gpu"]["error"] = f"{type(exc).__name__}: {exc}"[:300]
    return out


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
    sizes = {}
    for seg in sm.program.segments:
        sizes.update({k: v.size for k, v in seg.circuit.populations.items()})
    for k, nspk in sm.last_counts["spikes_per_node"].items():
        rates[k] = nspk / (sizes[k] * len(x) * sm.last_counts["steps"])
    return {"model": model_name, "mode": sm.mode, "levels": sm.levels, "dense_accuracy": dense_acc,
            "quantised_accuracy": None if q is None else float(np.mean(q == y)),
            "spiking_accuracy": acc, "identical_to_quantised": ident or None,
            "macs_per_step": macs, "acs_per_step": acs, "spike_rate_per_layer": rates,
            "attention_agreement": attention_agreement(sm, x), "energy": energy(sm, dense_model, np.asarray(x)),
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
