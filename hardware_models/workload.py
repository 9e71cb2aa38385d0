"""CountsView: the per-element totals a cost model needs, from EventCounts or from JSON.

The cost model reads only element totals and meta, so it works equally from a live
:class:`spikeattn.EventCounts`, from ``EventCounts.to_dict()`` (``{"steps", "batch",
"elements": {name: {"kind", "meta", "totals"}}}``) or from a ``result.json`` written by
``spikeattn run`` (which holds that dict under ``"counts"``).
"""
from __future__ import annotations

from dataclasses import dataclass

from spikeattn.counts import KIND_FIELDS, EventCounts, check_event_counts, validate_counts_dict
from spikeattn.errors import InputError

from .errors import CountsFormatError


@dataclass
class ElementTotals:
    kind: str
    meta: dict
    totals: dict[str, int]


class CountsView:
    """Totals per element: ``elements[name] -> ElementTotals``; ``steps`` and ``batch``."""

    def __init__(self, steps: int, batch: int, elements: dict[str, ElementTotals]):
        self.steps, self.batch, self.elements = int(steps), int(batch), elements

    @classmethod
    def from_counts(cls, counts: EventCounts) -> "CountsView":
        return cls(counts.steps, counts.batch,
                   {n: ElementTotals(e.kind, dict(e.meta), {f: int(a.sum()) for f, a in e.fields.items()})
                    for n, e in counts.elements.items()})

    @classmethod
    def from_dict(cls, d: dict) -> "CountsView":
        if "counts" in d and "elements" not in d:
            d = d["counts"]
        for key in ("steps", "batch", "elements"):
            if key not in d:
                raise CountsFormatError(f"counts dict has no '{key}' key (keys: {sorted(d)[:10]}); pass "
                                        "EventCounts.to_dict() or a result.json with a 'counts' block")
        els = {}
        for n, e in d["elements"].items():
            kind = e.get("kind")
            if kind not in KIND_FIELDS or "totals" not in e:
                raise CountsFormatError(f"counts element '{n}' has kind {kind!r} / keys {sorted(e)}; need "
                                        f"'kind' in {sorted(KIND_FIELDS)} and 'totals'")
            totals = {f: int(e["totals"].get(f, 0)) for f in KIND_FIELDS[kind]}
            els[n] = ElementTotals(kind, dict(e.get("meta", {})), totals)
        return cls(d["steps"], d["batch"], els)

    def names(self, kind: str | None = None) -> list[str]:
        return [n for n, e in self.elements.items() if kind is None or e.kind == kind]

    def total(self, field: str, kind: str | None = None) -> int:
        return sum(e.totals.get(field, 0) for e in self.elements.values() if kind is None or e.kind == kind)

    def synapses(self) -> int:
        """Existing synapses over all projections (from meta ``synapses``)."""
        return sum(int(e.meta.get("synapses", 0)) for e in self.elements.values() if e.kind == "projection")

    def neurons(self) -> int:
        return sum(int(e.meta.get("size", 0)) for e in self.elements.values() if e.kind == "population")

    def weight_storage_bytes(self) -> int:
        """Bytes needed to store every weight: sum of ``synapses * weight_bytes``."""
        return sum(int(e.meta.get("synapses", 0)) * int(e.meta.get("weight_bytes", 1))
                   for e in self.elements.values() if e.kind == "projection")

    def state_storage_bytes(self) -> int:
        """Bytes of neuron state: sum of ``size * state_bytes``."""
        return sum(int(e.meta.get("size", 0)) * int(e.meta.get("state_bytes", 8))
                   for e in self.elements.values() if e.kind == "population")

    def scaled(self, spike_factor: float = 1.0, step_factor: float = 1.0) -> "CountsView":
        """A hypothetical workload: spike-driven totals (spikes, synaptic ops, messages, weight
        reads) x ``spike_factor * step_factor``; step-driven totals (neuron updates, state
        traffic) x ``step_factor``; steps x ``step_factor``.  Values become floats."""
        spike_fields = {"spikes", "synaptic_acs", "synaptic_macs", "messages", "weight_bytes_read"}
        els = {n: ElementTotals(e.kind, e.meta, {f: v * (spike_factor * step_factor if f in spike_fields
                                                         else step_factor) for f, v in e.totals.items()})
               for n, e in self.elements.items()}
        return CountsView(max(1, round(self.steps * step_factor)), self.batch, els)


def as_view(counts) -> CountsView:
    """Accept EventCounts, a CountsView, or a counts / result.json dict.

    Dicts and EventCounts are validated first (:func:`spikeattn.counts.validate_counts_dict`):
    steps/batch ints >= 1, known kinds and fields, counts non-negative integers below 2**63;
    anything else raises :class:`CountsFormatError` naming the element and the field."""
    if isinstance(counts, CountsView):
        return counts
    try:
        if isinstance(counts, EventCounts):
            return CountsView.from_counts(check_event_counts(counts))
        if isinstance(counts, dict):
            return CountsView.from_dict(validate_counts_dict(counts))
    except CountsFormatError:
        raise
    except InputError as exc:
        raise CountsFormatError(str(exc)) from None
    raise CountsFormatError(f"cannot cost a {type(counts).__name__}: pass spikeattn.EventCounts, "
                            "EventCounts.to_dict() or a result.json dict")

