"""How each kind of hardware costs a workload: one costing class per hardware kind.

A :class:`~hardware_models.model.HardwareModel` describes a chip (its constants, limits and
kind); a costing class implements how that kind turns a
:class:`~hardware_models.workloads.RunWorkload` into energy (as Lava separates a Process from
its ProcessModel).  Classes register for kinds with :func:`costs`; :func:`costing_for` finds
the class for a model's kind and raises a clear error for a kind nothing costs (as Nengo's
builder registry does).  A costing object is made once per (workload, model): everything that
does not depend on the batch (placement, the measured report, the Monte Carlo draws) is
computed once in ``__init__`` and reused for every batch.

Per inference at batch ``b`` (see :mod:`hardware_models.batching` for the assumptions):

``EventCosting`` (neuromorphic, asic, cpu, literature)  samples run one after another: the
    report of ``b`` samples is the measured report x ``b / samples`` (every term is a sum over
    samples), flat per inference; each segment is placed once (routing between cores; a
    circuit that does not fit is costed without routing, with a note);
``GpuCosting`` (gpu)  one dense pass of ``b`` samples, :func:`hardware_models.gpu.cost_dense`
    of the dense workload at ``b``; without a dense workload, the floor of
    :func:`hardware_models.baseline.gpu_floor_report` (report only, no batch points);
``AnnCosting`` (ann)  the dense workload one sample at a time on the Eyeriss-style model
    (:func:`hardware_models.baselines.cost_eyeriss` at batch 1, x ``b``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from spikeattn.errors import ParameterError

from .cost import cost
from .errors import HardwareKindError, PlacementError
from .placement import place
from .registry import get
from .report import EnergyReport
from .uncertainty import N_DRAWS, SEED, chip_draws, dense_samples, summarise_draws, summary
from .workloads import RunWorkload

_COSTINGS: dict[str, type] = {}


@dataclass
class Point:
    """One model at one batch size; energies per inference [J], latency of the whole batch [s]."""

    hardware: str
    kind: str
    batch: int
    energy_j: float                 # central estimate, dynamic + static
    dynamic_j: float
    energy_interval: dict | None    # Monte Carlo {"median", "p5", "p95"} of the total
    dynamic_interval: dict | None
    latency_s: float | None
    latency_interval: dict | None

    def to_dict(self) -> dict:
        return asdict(self)


def costs(*kinds: str):
    """Class decorator: register a costing class for hardware ``kinds``."""
    def deco(cls):
        for k in kinds:
            _COSTINGS[k] = cls
        cls.kinds = tuple(kinds)
        return cls
    return deco


def costing_for(hw) -> type:
    hw = get(hw)
    if hw.kind not in _COSTINGS:
        raise HardwareKindError(f"no costing registered for '{hw.name}' of kind '{hw.kind}'; kinds with one: "
                                f"{sorted(_COSTINGS)}. Register one with hardware_models.costing.costs('{hw.kind}').")
    return _COSTINGS[hw.kind]


def make(workload: RunWorkload, hardware, draws: int = 0, seed: int = SEED) -> "Costing":
    """The costing object of ``hardware`` for ``workload`` (placement and draws done once)."""
    hw = get(hardware)
    return costing_for(hw)(hw, workload, draws, seed)


def scaled(rep: EnergyReport, f: float, batch: int) -> EnergyReport:
    """``rep`` for ``f`` times the samples, run one after another (every term and time x f)."""
    mul = lambda d: {k: v * f for k, v in d.items()}  # noqa: E731
    lat = lambda x: None if x is None else x * f  # noqa: E731
    return EnergyReport(hardware=rep.hardware, title=rep.title, total_j=rep.total_j * f, low_j=rep.low_j * f,
                        high_j=rep.high_j * f, breakdown=mul(rep.breakdown), breakdown_low=mul(rep.breakdown_low),
                        breakdown_high=mul(rep.breakdown_high), latency_s=lat(rep.latency_s),
                        latency_low_s=lat(rep.latency_low_s), latency_high_s=lat(rep.latency_high_s),
                        notes=list(rep.notes), batch=int(batch), steps=rep.steps, placement=rep.placement,
                        meta=dict(rep.meta))


def _scale_iv(iv, f):
    return None if iv is None else {k: (v * f if isinstance(v, float) else v) for k, v in iv.items()}


def combine(reports: list[EnergyReport]) -> EnergyReport:
    """Segments run one after another on the same samples: terms, bounds and times add."""
    if len(reports) == 1:
        return reports[0]
    r0 = reports[0]

    def add(attr):
        out = {}
        for r in reports:
            for k, v in getattr(r, attr).items():
                out[k] = out.get(k, 0.0) + v
        return out

    def lat(attr):
        vals = [getattr(r, attr) for r in reports]
        return None if any(v is None for v in vals) else float(sum(vals))
    notes, seen = [], set()
    for r in reports:
        for n in r.notes:
            if n not in seen:
                seen.add(n)
                notes.append(n)
    return EnergyReport(hardware=r0.hardware, title=r0.title, total_j=sum(r.total_j for r in reports),
                        low_j=sum(r.low_j for r in reports), high_j=sum(r.high_j for r in reports),
                        breakdown=add("breakdown"), breakdown_low=add("breakdown_low"),
                        breakdown_high=add("breakdown_high"), latency_s=lat("latency_s"),
                        latency_low_s=lat("latency_low_s"), latency_high_s=lat("latency_high_s"), notes=notes,
                        batch=r0.batch, steps=r0.steps,
                        placement={"segments": [r.placement for r in reports]},
                        meta={"kind": r0.meta.get("kind"), "segments": len(reports)})


class Costing:
    """Base: ``report(batch)``, ``per_inference(b, dynamic)``, ``point(b)``; ``flat`` is True
    where the energy per inference does not depend on the batch."""

    kinds: tuple = ()
    flat = True

    def __init__(self, hw, workload: RunWorkload, draws: int = 0, seed: int = SEED):
        if draws and (isinstance(draws, bool) or not isinstance(draws, int) or draws < 0):
            raise ParameterError("estimate", "draws", f"is {draws!r}.", "give an integer >= 0 (0: no Monte Carlo).")
        self.hw, self.work, self.draws, self.seed = hw, workload, int(draws), seed
        self.label = hw.name

    @property
    def name(self) -> str:
        return self.label

    def batchable(self) -> bool:
        """Whether per-batch points can be given (GPUs need a dense workload)."""
        return True


@costs("neuromorphic", "asic", "cpu", "literature")
class EventCosting(Costing):
    def __init__(self, hw, workload: RunWorkload, draws: int = 0, seed: int = SEED):
        super().__init__(hw, workload, draws, seed)
        sp = workload.spiking
        if sp is None:
            raise ParameterError("estimate", "workload", f"has no spiking counts; '{hw.name}' ({hw.kind}) costs "
                                 "spike events.", "give the run's counts (SpikingWorkload).")
        self.samples = sp.samples
        self.placements, reps, draws_ = [], [], []
        for seg in sp.segments:
            pl, note = self._place(seg)
            self.placements.append(pl)
            r = cost(seg.view, hw, placement=pl)
            if note:
                r.notes.append(note)
            reps.append(r)
            if self.draws:
                draws_.append(chip_draws(seg.view, hw, placement=pl, n=self.draws, seed=seed))
        self.measured = combine(reps)
        self.mc = None
        if draws_:
            lat = None if any(d["latency"] is None for d in draws_) else sum(d["latency"] for d in draws_)
            self.mc = {"total": sum(d["total"] for d in draws_), "static": sum(d["static"] for d in draws_),
                       "latency": lat, "batch": self.samples}

    def _place(self, seg):
        hw = self.hw
        if seg.circuit is None or hw.kind != "neuromorphic" or hw.limits is None or hw.all_in:
            return None, None
        try:
            return place(seg.circuit, hw, seg.result if seg.result is not None else seg.view), None
        except PlacementError as exc:
            return None, f"Placement on {hw.name} failed ({exc}); routing between cores left out."

    def report(self, batch: int | None = None) -> EnergyReport:
        b = self.samples if batch is None else int(batch)
        rep = scaled(self.measured, b / self.samples, b)          # a copy (x 1.0 at the measured batch)
        if self.mc is not None:
            f = b / self.samples
            mc = {"total": self.mc["total"] * f, "static": self.mc["static"] * f, "batch": b,
                  "latency": None if self.mc["latency"] is None else self.mc["latency"] * f}
            rep.meta = {**rep.meta, "uncertainty": summarise_draws(mc, self.draws, self.seed)}
        return rep

    def per_inference(self, b: int = 1, dynamic: bool = False) -> float:
        r = self.measured
        return (r.dynamic_j if dynamic else r.total_j) / self.samples

    def point(self, b: int) -> Point:
        r, n = self.measured, self.samples
        lat1 = None if r.latency_s is None else r.latency_s / n
        iv = ivd = liv = None
        if self.mc is not None:
            s = summarise_draws(self.mc, self.draws, self.seed, per=n)
            iv, ivd = s["per_inference_j"], s["per_inference_dynamic_j"]
            liv = _scale_iv(s["latency_s"], b / n)
        return Point(self.hw.name, self.hw.kind, int(b), r.total_j / n, r.dynamic_j / n, iv, ivd,
                     None if lat1 is None else lat1 * b, liv)


@costs("gpu")
class GpuCosting(Costing):
    flat = False

    def __init__(self, hw, workload: RunWorkload, draws: int = 0, seed: int = SEED, precision: str = "fp16",
                 label: str | None = None):
        super().__init__(hw, workload, draws, seed)
        self.dense, self.precision, self._reports, self._mc = workload.dense, precision, {}, {}
        self.label = label or hw.name

    def batchable(self) -> bool:
        return self.dense is not None

    def report(self, batch: int | None = None) -> EnergyReport:
        b = self.work.samples if batch is None else int(batch)
        if self.dense is None:
            from .baseline import gpu_floor_report
            if self.work.spiking is None:
                raise ParameterError("estimate", "workload", f"has neither a dense workload nor counts for "
                                     f"'{self.hw.name}'.", "give the dense model's workload (DenseWorkload).")
            rep = gpu_floor_report(self.work.spiking.segments[0].view, self.hw.name)
            rep.notes.append("Floor used because no dense workload (dense model record or circuit) was given.")
            return rep
        rep = self._report(b)
        if self.draws:
            rep = EnergyReport.from_dict(rep.to_dict())
            rep.meta["uncertainty"] = self._samples(b)
        return rep

    def _report(self, b: int) -> EnergyReport:
        if b not in self._reports:
            from .gpu import cost_dense
            self._reports[b] = cost_dense(self.dense.at(b), self.hw.name, precision=self.precision, measure=False)
        return self._reports[b]

    def _samples(self, b: int) -> dict:
        if b not in self._mc:
            self._mc[b] = dense_samples(self.dense.at(b), self.hw.name, self.precision, n=self.draws or N_DRAWS,
                                        seed=self.seed)
        return self._mc[b]

    def per_inference(self, b: int = 1, dynamic: bool = False) -> float:
        r = self._report(b)
        return (r.dynamic_j if dynamic else r.total_j) / b

    def point(self, b: int) -> Point:
        r = self._report(b)
        iv = ivd = liv = None
        if self.draws:
            mc = self._samples(b)
            iv, ivd, liv = mc["per_inference_j"], mc["per_inference_dynamic_j"], mc["latency_s"]
        return Point(self.label, "gpu", int(b), r.total_j / b, r.dynamic_j / b, iv, ivd, r.latency_s, liv)


@costs("ann")
class AnnCosting(Costing):
    def __init__(self, hw, workload: RunWorkload, draws: int = 0, seed: int = SEED):
        super().__init__(hw, workload, draws, seed)
        if workload.dense is None:
            raise ParameterError("estimate", "workload", f"has no dense workload; '{hw.name}' costs the dense "
                                 "model.", "give the circuit file or the dense model's record.")
        from .baselines import cost_eyeriss
        self.one = cost_eyeriss(workload.dense.at(1), hardware=hw.name)
        self.one.meta["per_inference_note"] = "samples one at a time: batch b = b x batch 1"

    def report(self, batch: int | None = None) -> EnergyReport:
        b = self.work.samples if batch is None else int(batch)
        rep = scaled(self.one, b, b)
        if self.draws:
            r = self.one
            rep.meta = {**rep.meta, "uncertainty": {
                "total_j": _corner(r.total_j * b, r.low_j * b, r.high_j * b),
                "dynamic_j": _corner(r.dynamic_j * b, r.dynamic_low_j * b, r.dynamic_high_j * b),
                "method": "corner bounds (the Eyeriss model has no Monte Carlo)"}}
        return rep

    def per_inference(self, b: int = 1, dynamic: bool = False) -> float:
        return self.one.dynamic_j if dynamic else self.one.total_j

    def point(self, b: int) -> Point:
        r = self.one
        iv = {**_corner(r.total_j, r.low_j, r.high_j), "method": "corner bounds"}
        ivd = {**_corner(r.dynamic_j, r.dynamic_low_j, r.dynamic_high_j), "method": "corner bounds"}
        lat = {"median": r.latency_s * b, "p5": r.latency_low_s * b, "p95": r.latency_high_s * b}
        return Point(self.hw.name, self.hw.kind, int(b), r.total_j, r.dynamic_j, iv, ivd, r.latency_s * b, lat)


def _corner(mid, lo, hi) -> dict:
    return {"median": mid, "p5": lo, "p95": hi}


__all__ = ["Point", "Costing", "EventCosting", "GpuCosting", "AnnCosting", "costs", "costing_for", "make",
           "scaled", "combine", "summary"]
