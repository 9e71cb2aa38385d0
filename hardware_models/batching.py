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
  (:func:`hardware_models.gpu.cost_dense` of ``dense_workload(circuit, steps, b)``): launch
  time and idle power are shared by the batch, so ``E(b) / b`` falls with ``b``; the batch
  latency is the modelled pass time.

The **crossover batch** of a chip against a GPU is the smallest ``b`` with
``E_gpu(b) / b <= E_chip / 1`` (central estimates; also on dynamic energy alone), searched on
powers of two up to ``max_batch`` and refined by bisection; ``None`` when the GPU does not
overtake the chip up to ``max_batch``.  Intervals are the 5-95 % Monte Carlo intervals of
:mod:`hardware_models.uncertainty`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from spikeattn.errors import ParameterError

from .registry import get
from .uncertainty import N_DRAWS, SEED, dense_samples, monte_carlo
from .workload import as_view

DEFAULT_BATCHES = tuple(2 ** k for k in range(13))       # 1 .. 4096
MAX_BATCH = 4096
SERVER_BOUND_S = 10e-3


@dataclass
class Point:
    """One model at one batch size; energies per inference [J], latency of the whole batch [s]."""

    hardware: str
    kind: str
    batch: int
    energy_j: float                 # central estimate, dynamic + static
    dynamic_j: float
    energy_interval: dict           # Monte Carlo {"median", "p5", "p95"} of the total
    dynamic_interval: dict
    latency_s: float | None
    latency_interval: dict | None

    def to_dict(self) -> dict:
        return asdict(self)


def _scale(iv: dict | None, f: float) -> dict | None:
    return None if iv is None else {k: v * f for k, v in iv.items()}


def check_batches(batches) -> list[int]:
    out = []
    for b in batches:
        if isinstance(b, bool) or not isinstance(b, int) or not 1 <= b <= 1 << 20:
            raise ParameterError("batch study", "batches", f"has {b!r}.", "give integers from 1 to 1048576.")
        out.append(int(b))
    return sorted(set(out))


class GpuCurve:
    """Per-inference energy and latency of the dense baseline on one GPU, cached per batch."""

    def __init__(self, circuit, gpu: str, steps: int, baseline: str = "softmax", n: int = N_DRAWS,
                 seed: int = SEED):
        self.circuit, self.gpu, self.steps, self.baseline, self.n, self.seed = circuit, gpu, steps, baseline, n, seed
        self._reports, self._workloads = {}, {}

    AFFINE = ("flops", "elementwise_ops", "weight_bytes", "activation_bytes", "attention_map_bytes", "io_bytes",
              "kernels", "params")
    CHECK_BATCH = 64

    def _count(self, b: int):
        from .baselines import gpu_workload
        return gpu_workload(self.circuit, self.steps, b, self.baseline)

    def workload(self, b: int):
        """The dense workload of batch ``b``.  Its counts are affine in the batch (per-sample
        tensors scale, weights and kernel launches do not), so they are counted by torch at
        batch 1 and 2, checked once against a direct count at batch 64, and derived for other
        batches; if the check fails every batch is counted directly."""
        if b in self._workloads:
            return self._workloads[b]
        if not hasattr(self, "_affine"):
            w1, w2 = self._count(1), self._count(2)
            self._workloads.update({1: w1, 2: w2})
            self._affine = (w1, w2)
            chk = self._count(self.CHECK_BATCH)
            self._workloads[self.CHECK_BATCH] = chk
            if any(getattr(self._derive(self.CHECK_BATCH), k) != getattr(chk, k) for k in self.AFFINE):
                self._affine = None
            if b in self._workloads:
                return self._workloads[b]
        self._workloads[b] = self._derive(b) if self._affine else self._count(b)
        return self._workloads[b]

    def _derive(self, b: int):
        from dataclasses import replace
        w1, w2 = self._affine
        vals = {k: getattr(w1, k) + (getattr(w2, k) - getattr(w1, k)) * (b - 1) for k in self.AFFINE}
        return replace(w1, batch=b, factory=None, notes=list(w1.notes) + [
            "counts derived from torch counts at batch 1 and 2 (affine in batch, checked at batch "
            f"{self.CHECK_BATCH})"], **vals)

    def report(self, b: int):
        if b not in self._reports:
            from .gpu import cost_dense
            self._reports[b] = cost_dense(self.workload(b), self.gpu, measure=False)
        return self._reports[b]

    def per_inference(self, b: int, dynamic: bool = False) -> float:
        r = self.report(b)
        return (r.dynamic_j if dynamic else r.total_j) / b

    def point(self, b: int) -> Point:
        r = self.report(b)
        mc = dense_samples(self.workload(b), self.gpu, n=self.n, seed=self.seed)
        return Point(self.gpu, "gpu", b, r.total_j / b, r.dynamic_j / b, mc["per_inference_j"],
                     mc["per_inference_dynamic_j"], r.latency_s, mc["latency_s"])


def chip_point(counts, hardware: str, circuit=None, placement=None, n: int = N_DRAWS, seed: int = SEED):
    """Per-inference figures of a chip from its counts: (per-inference Point at batch 1, report)."""
    from .cost import cost
    view = as_view(counts)
    hw = get(hardware)
    rep = cost(view, hw, circuit=circuit if placement is None else None, placement=placement)
    mc = monte_carlo(view, hw, circuit=circuit if placement is None else None, placement=placement, n=n, seed=seed)
    b0 = max(view.batch, 1)
    lat1 = None if rep.latency_s is None else rep.latency_s / b0
    p = Point(hw.name, hw.kind, 1, rep.total_j / b0, rep.dynamic_j / b0, mc["per_inference_j"],
              mc["per_inference_dynamic_j"], lat1, _scale(mc["latency_s"], 1 / b0))
    return p, rep


def at_batch(p1: Point, b: int) -> Point:
    """A chip's per-inference point at batch ``b`` (samples in sequence: same energy, b x latency)."""
    return Point(p1.hardware, p1.kind, b, p1.energy_j, p1.dynamic_j, p1.energy_interval, p1.dynamic_interval,
                 None if p1.latency_s is None else p1.latency_s * b, _scale(p1.latency_interval, b))


def crossover_batch(chip_j: float, curve: GpuCurve, max_batch: int = MAX_BATCH, dynamic: bool = False) -> int | None:
    """Smallest batch at which the GPU's energy per inference is at most ``chip_j`` (module docstring)."""
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


def batch_study(circuit, counts, hardware_names, batches=DEFAULT_BATCHES, server_bound_s: float = SERVER_BOUND_S,
                max_batch: int = MAX_BATCH, baseline: str = "softmax", placements: dict | None = None,
                n: int = N_DRAWS, seed: int = SEED) -> dict:
    """Per model and batch: energy per inference (central, dynamic, 5-95 % intervals) and batch
    latency; per chip and GPU the crossover batch; per model the three scenarios.  JSON-ready.

    GPUs need ``circuit`` (the dense equivalent); ``placements`` maps chip names to placements."""
    batches = check_batches(batches)
    view = as_view(counts)
    placements = placements or {}
    points, curves, chips = {}, {}, {}
    for name in hardware_names:
        hw = get(name)
        if hw.kind == "gpu":
            if circuit is None:
                raise ParameterError("batch study", "circuit", f"is missing; the GPU '{hw.name}' costs the dense "
                                     "equivalent of the circuit.", "load the result with its circuit file.")
            curves[hw.name] = GpuCurve(circuit, hw.name, view.steps, baseline, n, seed)
            points[hw.name] = [curves[hw.name].point(b).to_dict() for b in batches]
        elif hw.kind == "ann":                    # samples one at a time: flat per inference, corner bounds
            if circuit is None:
                raise ParameterError("batch study", "circuit", f"is missing; '{hw.name}' costs the dense "
                                     "equivalent of the circuit.", "load the result with its circuit file.")
            from .baselines import cost_eyeriss
            from .dense_equivalent import dense_workload
            r = cost_eyeriss(dense_workload(circuit, view.steps, 1), hardware=hw.name)
            iv = {"median": r.total_j, "p5": r.low_j, "p95": r.high_j, "method": "corner bounds"}
            ivd = {"median": r.dynamic_j, "p5": r.dynamic_low_j, "p95": r.dynamic_high_j, "method": "corner bounds"}
            lat = {"median": r.latency_s, "p5": r.latency_low_s, "p95": r.latency_high_s}
            p1 = Point(hw.name, hw.kind, 1, r.total_j, r.dynamic_j, iv, ivd, r.latency_s, lat)
            chips[hw.name] = p1
            points[hw.name] = [at_batch(p1, b).to_dict() for b in batches]
        else:
            pl = placements.get(hw.name)
            p1, _ = chip_point(view, hw.name, circuit=circuit if pl is None else None, placement=pl, n=n, seed=seed)
            chips[hw.name] = p1
            points[hw.name] = [at_batch(p1, b).to_dict() for b in batches]
    cross = {c: {g: {"total": crossover_batch(p1.energy_j, cv, max_batch),
                     "dynamic": crossover_batch(p1.dynamic_j, cv, max_batch, dynamic=True)}
                 for g, cv in curves.items()} for c, p1 in chips.items()}
    grid = sorted({2 ** k for k in range(max(batches).bit_length())} | set(batches))
    gpu_curves = {g: [{"batch": b, "energy_j": cv.per_inference(b), "dynamic_j": cv.per_inference(b, True)}
                      for b in grid] for g, cv in curves.items()}
    scen = {}
    for name, pts in points.items():
        scen[name] = scenarios([Point(**p) for p in pts], server_bound_s)
    return {"batches": batches, "baseline": baseline, "server_bound_s": server_bound_s, "max_batch": max_batch,
            "points": points, "gpu_curves": gpu_curves, "crossover_batch": cross, "scenarios": scen,
            "assumptions": ["chips run samples one after another: energy per inference is flat in batch, batch "
                            "latency = batch x time per sample",
                            "GPUs run one dense pass per batch: launch time and idle power are shared by the batch",
                            "crossover batch: smallest batch where the GPU's energy per inference <= the chip's "
                            f"(central estimates), searched up to {max_batch}",
                            "intervals: 5-95 % of a seeded Monte Carlo over each constant's range"]}
