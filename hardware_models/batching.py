"""Batch size and scenario as axes: energy and latency per inference against batch size.

Scenarios (after MLPerf Inference / NeuroBench):

``single-stream``  batch 1: one query at a time, latency per query is what counts;
``server``         a stated latency bound (default 10 ms): the largest batch (from the grid)
                   whose batch latency stays within the bound;
``offline``        throughput: the largest batch of the grid (default up to 4096).

Per inference (one sample), for a batch of ``b`` samples:

* **chips** (neuromorphic, ASIC, CPU) run samples one after another with the state reset in
  between, so the energy per inference is the same at every batch size,
  ``E(b) / b = E(B0) / B0`` from the measured counts (``B0`` samples), and the batch latency is
  ``b * t_1`` (``t_1`` the modelled time per sample); a chip does not amortise anything over a
  batch in this model (replicating the circuit over idle cores is not modelled);
* **GPUs** run the dense workload of the whole batch in one pass
  (:func:`hardware_models.gpu.cost_dense` of the dense model's workload at ``b``: the real
  dense model's record, or ``dense_workload(circuit, steps, b)``): launch
  time and idle power are shared by the batch, so ``E(b) / b`` falls with ``b``; the batch
  latency is the modelled pass time.

The **crossover batch** of a chip against a GPU is the smallest ``b`` with
``E_gpu(b) / b <= E_chip / 1`` (central estimates; also on dynamic energy alone), searched on
powers of two up to ``max_batch`` and refined by bisection; ``None`` when the GPU does not
overtake the chip up to ``max_batch``.  Intervals are the 5-95 % Monte Carlo intervals of
:mod:`hardware_models.uncertainty`.
"""
from __future__ import annotations

from spikeattn.errors import ParameterError

from .costing import GpuCosting, Point, make
from .registry import get
from .uncertainty import N_DRAWS, SEED
from .workloads import DenseWorkload, RunWorkload, SpikingWorkload

DEFAULT_BATCHES = tuple(2 ** k for k in range(13))       # 1 .. 4096
MAX_BATCH = 4096
SERVER_BOUND_S = 10e-3
ASSUMPTIONS = ["chips run samples one after another: energy per inference is flat in batch, batch latency = batch x "
               "time per sample",
               "GPUs run one dense pass per batch: launch time and idle power are shared by the batch",
               "crossover batch: smallest batch where the GPU's energy per inference <= the chip's (central "
               "estimates)",
               "intervals: 5-95 % of a seeded Monte Carlo over each constant's range"]


def check_batches(batches) -> list[int]:
    out = []
    for b in batches:
        if isinstance(b, bool) or not isinstance(b, int) or not 1 <= b <= 1 << 20:
            raise ParameterError("batch study", "batches", f"has {b!r}.", "give integers from 1 to 1048576.")
        out.append(int(b))
    return sorted(set(out))


class GpuCurve(GpuCosting):
    """Per-inference energy of a circuit's dense baseline on one GPU (a :class:`GpuCosting` of
    ``DenseWorkload.of_circuit``), kept for callers that start from a circuit."""

    def __init__(self, circuit, gpu: str, steps: int, baseline: str = "softmax", n: int = N_DRAWS,
                 seed: int = SEED):
        super().__init__(get(gpu), RunWorkload(dense=DenseWorkload.of_circuit(circuit, steps, baseline)), n, seed)

    def workload(self, b: int):
        return self.dense.at(b)

    def report(self, b: int):
        return self._report(b)


def crossover_batch(chip_j: float, curve, max_batch: int = MAX_BATCH, dynamic: bool = False) -> int | None:
    """Smallest batch at which ``curve``'s energy per inference (``curve.per_inference(b,
    dynamic)``, falling with ``b``) is at most ``chip_j``; None if not up to ``max_batch``.
    Powers of two first, then bisection."""
    if curve.per_inference(1, dynamic) <= chip_j:
        return 1
    lo, b = 1, 2
    while b <= max_batch:
        if curve.per_inference(b, dynamic) <= chip_j:
            break
        lo, b = b, b * 2
    else:
        if lo >= max_batch or curve.per_inference(max_batch, dynamic) > chip_j:
            return None
        b = max_batch
    hi = b
    while hi - lo > 1:                       # per-inference GPU energy falls with batch: bisect
        mid = (lo + hi) // 2
        if curve.per_inference(mid, dynamic) <= chip_j:
            hi = mid
        else:
            lo = mid
    return hi


def scenarios(points: list[Point], bound_s: float = SERVER_BOUND_S) -> dict:
    """Single-stream, server (latency bound) and offline picks from one model's points."""
    pts = sorted(points, key=lambda p: p.batch)
    ok = [p for p in pts if p.latency_s is not None and p.latency_s <= bound_s]
    server = ok[-1] if ok else None
    return {"single-stream": pts[0].to_dict(),
            "server": ({"bound_s": bound_s, **server.to_dict()} if server else
                       {"bound_s": bound_s, "batch": None, "note": "no batch meets the bound (or latency unknown)"}),
            "offline": pts[-1].to_dict()}


def batch_table(costings: dict, batches=DEFAULT_BATCHES, server_bound_s: float = SERVER_BOUND_S,
                max_batch: int = MAX_BATCH, baseline: str = "dense model") -> dict:
    """Per model (``costings``: name -> :class:`hardware_models.costing.Costing`, made once) and
    batch: energy per inference (central, dynamic, 5-95 % intervals) and batch latency; per chip
    and GPU the crossover batch; per model the three scenarios.  JSON-ready.  GPUs without a
    dense workload are left out."""
    batches = check_batches(batches)
    points, curves, chips = {}, {}, {}
    for name, c in costings.items():
        if not c.batchable():
            continue
        points[name] = [c.point(b).to_dict() for b in batches]
        (chips if c.flat else curves)[name] = c
    cross = {c: {g: {"total": crossover_batch(ch.per_inference(1), cv, max_batch),
                     "dynamic": crossover_batch(ch.per_inference(1, True), cv, max_batch, dynamic=True)}
                 for g, cv in curves.items()} for c, ch in chips.items()}
    grid = sorted({2 ** k for k in range(max(batches).bit_length())} | set(batches))
    gpu_curves = {g: [{"batch": b, "energy_j": cv.per_inference(b), "dynamic_j": cv.per_inference(b, True)}
                      for b in grid] for g, cv in curves.items()}
    scen = {name: scenarios([Point(**p) for p in pts], server_bound_s) for name, pts in points.items()}
    return {"batches": batches, "baseline": baseline, "server_bound_s": server_bound_s, "max_batch": max_batch,
            "points": points, "gpu_curves": gpu_curves, "crossover_batch": cross, "scenarios": scen,
            "assumptions": ASSUMPTIONS[:2] + [ASSUMPTIONS[2] + f", searched up to {max_batch}", ASSUMPTIONS[3]]}


def batch_study(circuit, counts, hardware_names, batches=DEFAULT_BATCHES, server_bound_s: float = SERVER_BOUND_S,
                max_batch: int = MAX_BATCH, baseline: str = "softmax", placements: dict | None = None,
                n: int = N_DRAWS, seed: int = SEED) -> dict:
    """:func:`batch_table` of one circuit's run: chips from ``counts`` (placed once each),
    GPUs and ANN accelerators from the circuit's dense equivalent (``baseline``, see
    :mod:`hardware_models.baselines`).  ``placements`` is accepted for old callers and
    ignored: each chip is placed once by its costing."""
    batches = check_batches(batches)
    kinds = {get(h).kind for h in hardware_names}
    if kinds & {"gpu", "ann"} and circuit is None:
        raise ParameterError("batch study", "circuit", "is missing; GPUs and ANN accelerators cost the dense "
                             "equivalent of the circuit.", "load the result with its circuit file.")
    wl = RunWorkload(SpikingWorkload.of(counts, circuit),
                     DenseWorkload.of_circuit(circuit, SpikingWorkload.of(counts).steps, baseline)
                     if circuit is not None else None)
    costings = {get(h).name: make(wl, h, n, seed) for h in hardware_names}
    return batch_table(costings, batches, server_bound_s, max_batch, baseline)
