"""Accuracy, agreement and event counts of a structured converted model on a labelled split.

What ``spikeattn convert --structured`` writes as ``fidelity.json`` and ``spikeattn predict``
as its JSON; both are built from :func:`evaluate` (one T), which calls the pure
:func:`~.structured_model.run`.  Nothing here costs energy: ``workload`` holds what a cost
model reads later, in the form of the flat path's ``fidelity.json``: ``{"spiking": {"name",
"samples", "steps", "segments": [{"circuit", "counts"}]}}`` where ``counts`` is the
:meth:`~spikeattn.counts.EventCounts.to_dict` of the run at the largest T over every test
sample (``batch`` = samples; :func:`spikeattn.counts.validate_counts_dict` reads it), and,
when the model holds its dense module, ``"dense"``: the dense model's workload at batch 1, 2,
64 and 1024 (:func:`.dense_workload.dense_record`), which the GPU side of a costing reads.

:func:`fidelity` keys: ``model``, ``mode`` (``accumulate``), ``structured`` (true),
``levels``, ``engine``, ``test_samples``, ``dense_accuracy`` (the float32 dense model; null
when the model holds no dense module, e.g. read from a file), ``quantised_accuracy`` (the
quantised ANN in float64; null likewise), ``spiking_accuracy`` ({T: accuracy} for T = 1, 2,
4, ... up to ``steps``), ``agreement_with_dense`` and ``identical_to_quantised`` ({T:
fraction of samples predicted as that model}; null without it), ``macs_per_step`` and
``acs_per_step`` ({T: per sample per step}), ``counts_per_sample`` ({T: every
:meth:`~spikeattn.counts.EventCounts.totals` field over the T steps, divided by the
samples}), ``workload`` (see above), ``segments`` (per segment of the largest T: name, wall
time, ``counts_per_sample``), ``batch`` ({T: samples run at once}), ``memory_estimate_bytes``
({T: run()'s estimate for that batch}), ``timing_s`` ({T: wall time}), ``circuit``
(:meth:`~.structured_model.StructuredModel.summary`).
"""
from __future__ import annotations

import time

import numpy as np

from .fidelity import t_grid
from .structured_model import choose_batch, run


def per_sample(counts) -> dict:
    """Every :meth:`EventCounts.totals` field divided by the samples of the run."""
    n = max(counts.batch, 1)
    return {k: v / n for k, v in counts.totals().items()}


def evaluate(model, x, y, steps: int, engine: str = "torch", batch: int | None = None,
             max_bytes: int | None = None, reference: dict | None = None) -> tuple[dict, object]:
    """Predict ``x`` at ``steps`` and score against ``y``; ``reference`` maps a name to
    predictions to compare with (``{"dense": ..., "quantised": ...}``).  Returns ``(row,
    RunResult)``: ``row`` holds ``accuracy``, ``agreement`` (per reference), ``counts_per_sample``,
    ``batch``, ``estimate_bytes`` and ``wall_s``."""
    y = np.asarray(y)
    t0 = time.perf_counter()
    r = run(model, x, steps=steps, engine=engine, batch=batch, max_bytes=max_bytes)
    wall = time.perf_counter() - t0
    p = r.predictions
    row = {"accuracy": float(np.mean(p == y)),
           "agreement": {k: float(np.mean(p == q)) for k, q in (reference or {}).items() if q is not None},
           "counts_per_sample": per_sample(r.counts), "batch": int(r.batch), "estimate_bytes": int(r.estimate_bytes),
           "wall_s": wall}
    return row, r


def workload(model, result) -> dict:
    """The ``workload`` block (module docstring) of one :class:`~.structured_model.RunResult`."""
    return {"spiking": {"name": model.circuit.name, "samples": int(result.counts.batch), "steps": int(result.steps),
                        "segments": [{"circuit": s.name, "counts": s.counts.to_dict()} for s in result.segments]}}


def dense_predict(dense, x) -> np.ndarray | None:
    """Predictions of the float32 dense torch model (None without one)."""
    if dense is None:
        return None
    import torch
    with torch.no_grad():
        xt = torch.as_tensor(np.asarray(x))
        out = dense(xt.float() if xt.is_floating_point() else xt)
    return out.reshape(len(xt), -1).argmax(-1).numpy()


def fidelity(model, name: str, x, y, steps: int, engine: str = "torch", batch: int | None = None,
             max_bytes: int | None = None) -> dict:
    """The report of the module docstring.  The memory of the largest T is checked first
    (:func:`~.structured_model.choose_batch`), so nothing runs if it cannot fit."""
    y = np.asarray(y)
    grid = t_grid(steps)
    choose_batch(model, len(x), grid[-1], engine, batch, max_bytes)
    dense, quant = dense_predict(model.dense, x), model.quantised_predict(x)
    rep = {"model": name, "mode": model.mode, "structured": True, "levels": model.levels, "engine": engine,
           "test_samples": int(len(x)),
           "dense_accuracy": None if dense is None else float(np.mean(dense == y)),
           "quantised_accuracy": None if quant is None else float(np.mean(quant == y)),
           "spiking_accuracy": {}, "agreement_with_dense": {} if dense is not None else None,
           "identical_to_quantised": {} if quant is not None else None, "macs_per_step": {}, "acs_per_step": {},
           "counts_per_sample": {}, "batch": {}, "memory_estimate_bytes": {}, "timing_s": {}}
    last = None
    for T in grid:
        row, last = evaluate(model, x, y, T, engine, batch, max_bytes, {"dense": dense, "quantised": quant})
        k = str(T)
        rep["spiking_accuracy"][k] = row["accuracy"]
        if dense is not None:
            rep["agreement_with_dense"][k] = row["agreement"]["dense"]
        if quant is not None:
            rep["identical_to_quantised"][k] = row["agreement"]["quantised"]
        c = row["counts_per_sample"]
        rep["macs_per_step"][k] = c["synaptic_macs"] / T
        rep["acs_per_step"][k] = c["synaptic_acs"] / T
        rep["counts_per_sample"][k] = c
        rep["batch"][k], rep["memory_estimate_bytes"][k] = row["batch"], row["estimate_bytes"]
        rep["timing_s"][k] = row["wall_s"]
    rep["workload"] = workload(model, last)
    if model.dense is not None:     # the dense model's own workload, for the GPU side of a costing
        from .dense_workload import dense_record
        rep["workload"]["dense"] = dense_record(model.dense, np.asarray(x)[:1], name=str(name))
    rep["segments"] = [{"name": s.name, "wall_s": s.wall_s, "counts_per_sample": per_sample(s.counts)}
                       for s in last.segments]
    rep["circuit"] = model.summary()
    return rep
