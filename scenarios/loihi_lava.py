"""Scenario ``loihi-lava``: spiking attention circuits on Lava, bit-exact against the numpy engine,
with their Loihi 2 resource report and modelled Loihi 2 energy.

Circuits (Loihi fixed point, ``LoihiLIF``): the k-WTA token router of ``wta-routing``
(coincidence gating) and the coarse-to-fine selector of ``hierarchical-attention``, each on
``batch`` random samples.  Each runs on the Lava engine (Lava 0.10's bit-accurate CPU
simulator, one compiled network and one run per batch; from Python 3.11 through the bridge)
and on the numpy engine.  Checks: spikes of every population, the probed ``u``/``v`` and the
EventCounts are identical; the circuit fits Loihi 2 (:func:`hardware_models.resources.resources`,
the cost model's partition).  Metrics: Loihi 2 energy per sample (the cost model on the Lava
run's counts), cores used, and the wall time of both engines per sample-step.

Then a converted, trained model: the in-repo ``digits-vit`` (trained or loaded from the cache,
fine-tuned in ``accumulate`` mode with the same cache key as ``energy-vs-gpu``), quantised for
Loihi (``quantise="loihi8"``: 8-bit weights, ``LoihiMultiThresholdIF`` / ``LoihiGradedReLU``
neurons, a delay-balanced pipeline; :mod:`spikeattn.convert.loihi`).  ``converted_samples``
test digits run on Lava and on numpy; check ``converted_digits_bit_exact``: predictions,
spikes of every population and EventCounts identical.  Metrics: its accuracy on those
samples, Loihi 2 cores and energy per sample, and both engines' wall time.
"""
from __future__ import annotations

import time

import numpy as np

from spikeattn import simulate

from . import hierarchical_attention as hier
from . import wta_routing as wta
from .base import ScenarioConfig, ScenarioOutcome, scenario
from .outcome import Outcome
from .params import Param, common_params

PARAMS = common_params(None, 32) + [
    Param("chip", "choice", "loihi2", "chip of the resource report and the energy model", choices=("loihi2", "loihi")),
    Param("converted_samples", "int", 32, "test digits through the converted digits-vit (0: skip it)", low=0,
          high=360),
    Param("converted_steps", "int", 4, "time steps T of the converted model", low=1, high=64, unit="steps"),
]
PARAMS[0] = Param("steps", "int", None, "time steps (default: each circuit's scenario default)", low=1,
                  high=100_000, unit="steps")


def _circuits(p: dict, rng, batch: int):
    wp = {x.name: x.default for x in wta.PARAMS}
    c1 = wta.build("coincidence", True, p=wp)
    steps1 = p["steps"] or c1.meta["wta_routing"]["decision_steps_max"] + wp["route_steps"]
    intended = rng.integers(wp["streams"], size=batch)
    in1 = {"cue": wta.cue_probabilities(intended, wp["p_high"], wp["streams"], wp["p_low"]),
           "streams": np.full((batch, wp["streams"] * wp["stream_size"]), wp["p_stream"])}
    hp = {x.name: x.default for x in hier.PARAMS}
    c2 = hier.build(True, hp)
    steps2 = max(p["steps"] or 0, c2.meta["hierarchical"]["steps"])
    _, x2 = hier.task(rng, batch, steps2, hp)
    return [("wta_routing", c1, in1, steps1), ("hierarchical", c2, {"tokens": x2}, steps2)]


def _identical(a, b, circuit) -> bool:
    same = all(np.array_equal(a.spikes[n], b.spikes[n]) for n in circuit.populations)
    same &= all(np.array_equal(a.probes[t][v], b.probes[t][v]) for t in a.probes for v in a.probes[t])
    return bool(same and a.counts == b.counts)


@scenario("loihi-lava", "spiking attention circuits on Lava (Loihi fixed point), bit-exact vs numpy, with the "
          "Loihi 2 resource report and energy", PARAMS,
          refuses={e: "this scenario compares the Lava engine with the numpy engine itself; run it with "
                      "--engine lava (or numpy)" for e in ("brian2", "compiled")},
          parity={"numpy": "same experiment (both engines run in every case)",
                  "lava": "same experiment (both engines run in every case)"})
def run(cfg: ScenarioConfig) -> ScenarioOutcome:
    from hardware_models.cost import cost
    from hardware_models.resources import resources
    p, batch = cfg.p, cfg.p["batch"]
    rng = np.random.default_rng(cfg.seed)
    o = Outcome()
    main = main_circuit = None
    for label, circuit, inputs, steps in _circuits(p, rng, batch):
        t0 = time.perf_counter()
        lava = simulate(circuit, inputs, steps=steps, engine="lava", seed=cfg.seed, progress=cfg.progress)
        t_lava = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref = simulate(circuit, inputs, steps=steps, engine="numpy", seed=cfg.seed)
        t_numpy = time.perf_counter() - t0
        o.check(f"{label}_bit_exact", _identical(lava, ref, circuit),
                f"{label}: Lava and numpy spikes, probed u/v and EventCounts identical ({batch} samples)")
        rep = resources(circuit, p["chip"], lava.counts)
        o.check(f"{label}_fits_{p['chip']}", rep.fits, f"{label} fits {p['chip']}" +
                ("" if rep.fits else f": {rep.binding['constraint']} over by {rep.binding['over_by']:g}"))
        o.metric(f"{label}_cores", rep.cores, "cores", f"{p['chip']} cores used (cost model's partition)")
        e = cost(lava.counts, p["chip"], circuit=circuit)
        o.metric(f"{label}_energy_per_sample", e.total_j / batch, "J", f"modelled {p['chip']} energy per sample")
        o.metric(f"{label}_lava_s_per_sample_step", t_lava / (steps * batch), "s", "Lava engine wall time")
        o.metric(f"{label}_numpy_s_per_sample_step", t_numpy / (steps * batch), "s", "numpy engine wall time")
        o.details[f"{label}_resources"] = rep.to_dict()
        o.details[f"{label}_lava_meta"] = {k: lava.meta.get(k) for k in ("batch_mode", "lava_runs",
                                                                          "lava_processes", "compile_s", "run_s")}
        if cfg.progress:
            print(rep.table())
        if main is None:
            main, main_circuit = (lava if cfg.engine == "lava" else ref), circuit
    if p["converted_samples"] > 0:
        _converted(cfg, o)
    else:
        o.skip("converted_digits_bit_exact", "converted_samples = 0")
    return ScenarioOutcome(result=main, outcome=o.to_dict(), circuit=main_circuit)


def _converted(cfg: ScenarioConfig, o: Outcome) -> None:
    """The Loihi-quantised digits-vit on Lava and numpy (see the module docstring)."""
    import sys

    import torch

    from hardware_models.cost import cost
    from hardware_models.resources import resources
    from spikeattn.convert import convert
    from spikeattn.models.data import digits
    from spikeattn.models.zoo import load_model
    p = cfg.p
    data = digits()
    model = load_model("digits-vit", data, log=lambda m: print(m, file=sys.stderr, flush=True))
    sm = convert(model, torch.as_tensor(data["x_train"][:2]), mode="accumulate", calib=data["x_calib"],
                 train=(data["x_train"], data["y_train"]), epochs=15, levels=4, cache_key="digits-vit",
                 name="digits_vit", quantise="loihi8")
    x, y = data["x_test"][:p["converted_samples"]], data["y_test"][:p["converted_samples"]]
    T, n = p["converted_steps"], len(x)
    t0 = time.perf_counter()
    pl = sm.predict(x, steps=T, batch=n, engine="lava")
    t_lava, rl = time.perf_counter() - t0, sm.last_result
    t0 = time.perf_counter()
    pn = sm.predict(x, steps=T, batch=n)
    t_numpy, rn = time.perf_counter() - t0, sm.last_result
    same = bool(np.array_equal(pl, pn) and all(np.array_equal(rl.spikes[k], rn.spikes[k]) for k in sm.circuit.populations)
                and rl.counts == rn.counts)
    o.check("converted_digits_bit_exact", same, f"loihi8 digits-vit: Lava and numpy predictions, spikes and "
            f"EventCounts identical ({n} test digits, T = {T})")
    sim_steps = T + max(sm.program.latency.values())
    rep = resources(sm.circuit, p["chip"], rl.counts)
    o.metric("converted_accuracy", float(np.mean(pl == y)), "fraction", f"loihi8 digits-vit on Lava, {n} test digits")
    o.metric("converted_cores", rep.cores, "cores", f"{p['chip']} cores for the converted model")
    o.metric("converted_energy_per_sample", cost(rl.counts, p["chip"], circuit=sm.circuit).total_j / n, "J",
             f"modelled {p['chip']} energy per digit (T = {T}, {sim_steps} pipelined steps)")
    o.metric("converted_lava_s_per_sample_step", t_lava / (sim_steps * n), "s", "Lava engine wall time")
    o.metric("converted_numpy_s_per_sample_step", t_numpy / (sim_steps * n), "s", "numpy engine wall time")
    o.details["converted_quantisation"] = {k: v for k, v in (sm.program.quantisation or {}).items() if k != "sigma"}
    o.details["converted_circuit"] = sm.circuit.summary()
