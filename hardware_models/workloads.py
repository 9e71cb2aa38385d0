"""What is costed: descriptions of a run's workload, apart from how any hardware costs them.

``SpikingWorkload``  the event counts of a spiking run, per circuit segment, over all the
                     samples it ran (``samples``): what neuromorphic chips, ASICs, CPUs and the
                     literature formula cost.  Counts of one circuit over several batches are
                     summed (every cost term is a sum over samples), so a circuit is placed once.
``DenseWorkload``    the dense model's workload (FLOPs, weight and activation bytes, kernel
                     launches) at any batch size: what GPUs and ANN accelerators cost.  Either
                     recorded from the real dense model (``from_record``: the record of
                     :func:`spikeattn.convert.dense_workload.dense_record`, carried in
                     fidelity.json / result.json) or counted from a circuit's dense equivalent
                     (``of_circuit``).  Counts are affine in the batch (per-sample tensors scale,
                     weights and launches do not): batches not counted are derived from batch 1
                     and 2, and the derivation is checked against every other counted batch
                     (``AFFINE`` fields equal); when it fails, a circuit is counted at each
                     batch and a record refuses the batches it lacks.
``RunWorkload``      both sides of one run: ``spiking`` and / or ``dense``.

Every description round-trips through a JSON-ready dict (``to_dict`` / ``from_dict``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from spikeattn.errors import ParameterError

from .dense_equivalent import Workload
from .workload import CountsView, ElementTotals, as_view

AFFINE = ("flops", "elementwise_ops", "weight_bytes", "activation_bytes", "attention_map_bytes", "io_bytes",
          "kernels", "params")


def view_dict(v: CountsView) -> dict:
    """A CountsView as the counts dict it reads (``EventCounts.to_dict()`` layout, totals only)."""
    return {"steps": v.steps, "batch": v.batch,
            "elements": {n: {"kind": e.kind, "meta": dict(e.meta), "totals": dict(e.totals)}
                         for n, e in v.elements.items()}}


def sum_views(views: list[CountsView]) -> CountsView:
    """Counts of one circuit over successive batches: totals and samples add (same steps)."""
    first = views[0]
    if len(views) == 1:
        return first
    for v in views[1:]:
        if v.steps != first.steps or set(v.elements) != set(first.elements):
            raise ParameterError("SpikingWorkload", "segments", "holds counts of one circuit with different steps "
                                 "or elements.", "sum only the batches of one run of one circuit.")
    els = {n: ElementTotals(e.kind, dict(e.meta), {f: sum(v.elements[n].totals.get(f, 0) for v in views)
                                                   for f in e.totals})
           for n, e in first.elements.items()}
    return CountsView(first.steps, sum(v.batch for v in views), els)


@dataclass
class Segment:
    """One circuit's counts over all samples; ``result`` (optional SimResult) refines routing."""

    circuit: object
    view: CountsView
    result: object = None
    name: str = ""


@dataclass
class SpikingWorkload:
    segments: list[Segment]
    name: str = ""

    def __post_init__(self):
        if not self.segments:
            raise ParameterError("SpikingWorkload", "segments", "is empty.", "give the counts of at least one run.")
        b = {s.view.batch for s in self.segments}
        if len(b) != 1:
            raise ParameterError("SpikingWorkload", "segments", f"cover different sample counts {sorted(b)}.",
                                 "give every segment's counts over the same samples.")

    @property
    def samples(self) -> int:
        return max(self.segments[0].view.batch, 1)

    @property
    def steps(self) -> int:
        return self.segments[0].view.steps

    @classmethod
    def of(cls, counts, circuit=None, result=None, name: str = "") -> "SpikingWorkload":
        """One circuit's counts (EventCounts, its dict, a result.json dict or a CountsView)."""
        view = counts if isinstance(counts, CountsView) else as_view(counts)
        return cls([Segment(circuit, view, result, getattr(circuit, "name", "") or name)], name)

    @classmethod
    def from_results(cls, pairs, name: str = "") -> "SpikingWorkload":
        """``[(circuit, counts), ...]`` in run order (e.g. a converted model's per-batch, per-segment
        results): the counts of each circuit are summed over its batches, in first-seen order."""
        order, groups = [], {}
        for circ, cnt in pairs:
            key = id(circ)
            if key not in groups:
                order.append(circ)
                groups[key] = []
            groups[key].append(as_view(cnt.to_dict() if hasattr(cnt, "to_dict") else cnt))
        return cls([Segment(c, sum_views(groups[id(c)]), None, getattr(c, "name", "")) for c in order], name)

    def to_dict(self) -> dict:
        return {"name": self.name, "samples": self.samples, "steps": self.steps,
                "segments": [{"circuit": s.name, "counts": view_dict(s.view)} for s in self.segments]}

    @classmethod
    def from_dict(cls, d: dict, circuits: dict | None = None) -> "SpikingWorkload":
        """``circuits`` maps segment (circuit) names to loaded circuits, for placement.  Segments
        of the same circuit (its successive batches) are summed."""
        segs = d.get("segments") if isinstance(d, dict) else None
        if not isinstance(segs, list) or not segs:
            raise ParameterError("workload.spiking", "segments", f"is {segs!r:.60}.",
                                 "give a list of {'circuit': name, 'counts': counts dict} as written by "
                                 "SpikingWorkload.to_dict().")
        circuits = circuits or {}
        order, groups = [], {}
        for i, s in enumerate(segs):
            if not isinstance(s, dict) or not isinstance(s.get("counts"), dict):
                raise ParameterError("workload.spiking", f"segments[{i}]", f"is {s!r:.60}.",
                                     "give {'circuit': name, 'counts': counts dict}.")
            name = str(s.get("circuit", ""))
            if name not in groups:
                order.append(name)
                groups[name] = []
            groups[name].append(as_view(s["counts"]))
        return cls([Segment(circuits.get(n), sum_views(groups[n]), None, n) for n in order], str(d.get("name", "")))


@dataclass
class DenseWorkload:
    name: str
    counted: dict = field(default_factory=dict)       # batch -> Workload
    steps: int = 1
    counter: object = field(default=None, repr=False)  # batch -> Workload (counts more batches), or None
    source: str = "recorded"
    CHECK_BATCH = 64

    def __post_init__(self):
        self._affine = None
        self._checked = False

    @classmethod
    def from_record(cls, record: dict, steps: int = 1) -> "DenseWorkload":
        """From :func:`spikeattn.convert.dense_workload.dense_record`'s dict."""
        if not isinstance(record, dict) or "error" in record or not isinstance(record.get("batches"), dict) \
                or not record["batches"]:
            why = record.get("error") if isinstance(record, dict) else None
            failed = f" (counting failed: {why})" if why else ""
            raise ParameterError("workload.dense", "batches", f"is missing{failed}.",
                                 "record the dense model with spikeattn.convert.dense_workload.dense_record.")
        counted = {}
        for b, d in record["batches"].items():
            try:
                bb = int(b)
            except (TypeError, ValueError):
                raise ParameterError("workload.dense", "batches", f"has key {b!r}.", "keys are batch sizes.") from None
            counted[bb] = Workload.from_counts(d, str(record.get("name", "dense model")), steps, batch=bb)
        return cls(str(record.get("name", "dense model")), counted, steps, None, str(record.get("source", "recorded")))

    @classmethod
    def of_circuit(cls, circuit, steps: int, baseline: str = "softmax") -> "DenseWorkload":
        """The dense equivalent of ``circuit`` (:func:`hardware_models.baselines.gpu_workload`)."""
        from .baselines import gpu_workload

        def count(b):
            return gpu_workload(circuit, steps, b, baseline)
        return cls(f"{circuit.name}: {baseline} baseline", {}, steps, count, f"circuit ({baseline})")

    def quantised(self, bits: int) -> "DenseWorkload":
        """The same model as a ``bits``-bit quantised ANN stored and computed as INT8 (no narrower dense
        type on the GPUs modelled): every tensor at 1 byte per value, the same FLOPs and launches
        (Yan et al. 2024: a T-step SNN carries at most T + 1 levels, ceil(log2(T + 1)) bits)."""
        def q(w: Workload) -> Workload:
            f = w.dtype_bytes
            return replace(w, name=f"{w.name} as a {bits}-bit quantised ANN (INT8)", dtype_bytes=1, factory=None,
                           weight_bytes=w.weight_bytes // f, activation_bytes=w.activation_bytes // f,
                           attention_map_bytes=w.attention_map_bytes // f, io_bytes=w.io_bytes // f,
                           notes=list(w.notes) + [f"{bits}-bit quantised ANN stored and computed as INT8"])
        counter = None if self.counter is None else (lambda b: q(self.counter(b)))
        return DenseWorkload(f"{self.name} as a {bits}-bit quantised ANN (INT8)",
                             {b: q(w) for b, w in self.counted.items()}, self.steps, counter,
                             f"{self.source}, {bits}-bit quantised ANN as INT8")

    #: batches written by :meth:`to_dict` for a workload that counts on demand (as dense_record does)
    RECORD_BATCHES = (1, 2, 64, 1024)

    def to_dict(self) -> dict:
        """The record layout (``{"name", "batches": {str(b): counts}}``) of the counted batches;
        a workload that counts on demand (a circuit's rebuilt baseline) counts RECORD_BATCHES
        first, so that the record can be read back (``from_record`` needs counted batches)."""
        if self.counter is not None:
            for b in self.RECORD_BATCHES:
                self._count(b)
        return {"name": self.name, "source": self.source,
                "batches": {str(b): {k: v for k, v in w.to_dict().items()
                                     if k not in ("name", "steps", "notes", "bytes_low", "bytes_high")}
                            for b, w in sorted(self.counted.items())}}

    def _count(self, b: int) -> Workload:
        if b not in self.counted:
            if self.counter is None:
                raise ParameterError("dense workload", "batch", f"{b} was not recorded and the recorded batches "
                                     f"{sorted(self.counted)} are not affine in the batch.",
                                     f"record batch {b} (spikeattn.convert.dense_workload.dense_record(..., "
                                     "batches=...)).")
            self.counted[b] = self.counter(b)
        return self.counted[b]

    def _derive(self, b: int, fit=None) -> Workload | None:
        """The counts at ``b`` on the line through the two counted batches of ``fit`` (None when a
        field does not land on an integer: not affine)."""
        (ba, wa), (bb, wb) = fit or self._affine
        vals = {}
        for k in AFFINE:
            num = (getattr(wb, k) - getattr(wa, k)) * (b - ba)
            if num % (bb - ba):
                return None
            vals[k] = getattr(wa, k) + num // (bb - ba)
        return replace(wa, batch=b, factory=None, notes=list(wa.notes) + [
            f"counts derived from the counts at batch {ba} and {bb} (affine in batch from {ba} on, checked at "
            f"batches {sorted(k for k in self.counted if k > bb)})"], **vals)

    def _fit(self):
        """The first pair of successive counted batches whose line holds every larger counted batch
        (at least one checked); None if there is none.  Batch 1 may be off the line: torch's
        kernels for one sample can differ (e.g. 23 launches at batch 1, 26 from batch 2 on)."""
        bs = sorted(self.counted)
        for i in range(len(bs) - 2):
            fit = ((bs[i], self.counted[bs[i]]), (bs[i + 1], self.counted[bs[i + 1]]))
            rest = bs[i + 2:]
            if all((d := self._derive(k, fit)) is not None and all(getattr(d, f) == getattr(self.counted[k], f)
                                                                   for f in AFFINE) for k in rest):
                return fit
        return None

    def at(self, b: int) -> Workload:
        """The workload of one pass of ``b`` samples."""
        b = int(b)
        if b in self.counted:
            return self.counted[b]
        if not self._checked:
            self._checked = True
            if self.counter is not None:
                self._count(1), self._count(2)
                if not any(k > 2 for k in self.counted):
                    self._count(self.CHECK_BATCH)
            self._affine = self._fit()
            if b in self.counted:
                return self.counted[b]
        if self._affine is None or b < self._affine[0][0]:
            return self._count(b)
        d = self._derive(b)
        return d if d is not None else self._count(b)


@dataclass
class RunWorkload:
    """Both sides of one run: the spiking counts and the dense model's workload (either may be None)."""

    spiking: SpikingWorkload | None = None
    dense: DenseWorkload | None = None

    @property
    def samples(self) -> int:
        return self.spiking.samples if self.spiking is not None else 1

    def to_dict(self) -> dict:
        return {"spiking": None if self.spiking is None else self.spiking.to_dict(),
                "dense": None if self.dense is None else self.dense.to_dict()}

    @classmethod
    def from_dict(cls, d: dict, circuits: dict | None = None) -> "RunWorkload":
        if not isinstance(d, dict):
            raise ParameterError("workload", "workload", f"is a {type(d).__name__}.",
                                 "give {'spiking': ..., 'dense': ...} as written by RunWorkload.to_dict().")
        sp = d.get("spiking")
        de = d.get("dense")
        steps = int(sp.get("steps", 1)) if isinstance(sp, dict) else 1
        return cls(SpikingWorkload.from_dict(sp, circuits) if sp else None,
                   DenseWorkload.from_record(de, steps) if de else None)


def as_workload(x) -> RunWorkload:
    """A RunWorkload from a RunWorkload, SpikingWorkload, DenseWorkload or counts."""
    if isinstance(x, RunWorkload):
        return x
    if isinstance(x, SpikingWorkload):
        return RunWorkload(spiking=x)
    if isinstance(x, DenseWorkload):
        return RunWorkload(dense=x)
    return RunWorkload(spiking=SpikingWorkload.of(x))


__all__ = ["Segment", "SpikingWorkload", "DenseWorkload", "RunWorkload", "as_workload", "sum_views", "view_dict"]
