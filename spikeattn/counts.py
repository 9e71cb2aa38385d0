"""EventCounts: every event a simulated circuit performed, as exact integers.

This is the only interface the energy models in ``hardware_models`` read.  Each count is
kept per circuit element (population, source or projection), per time step and per
sample, as an ``int64`` array of shape ``(steps, batch)``.  Totals, per-step sums,
per-sample sums and batch means are derived from it.  Counts are additive: two
:class:`EventCounts` merge by adding element-wise (elements present in only one side are
kept as they are), which is how the counts of successive runs or of sub-circuits combine.

Definitions (one event = one occurrence in one sample at one step)
------------------------------------------------------------------
Populations (neurons):

``neuron_updates_active`` [updates]
    Neuron state updates in which the neuron had something to do: it received at least one
    synaptic event, or it carried a state value into the step (after the decay: for LIF
    ``u * (1 - du) != 0`` or ``v * (1 - dv) != 0``, so u holding last step's input with
    ``du = 1`` is no work), or its bias was non-zero.
``neuron_updates_idle`` [updates]
    The remaining neurons of a clock-driven step: nothing carried, no input, no bias.  A
    clock-driven chip still visits them (Loihi's 52 pJ "inactive" update); an event-driven
    one skips them.  ``active + idle = size`` at every step and sample.
``spikes`` [spikes]
    Spikes emitted (non-zero outputs; a graded spike counts once).
``state_bytes_read`` / ``state_bytes_written`` [bytes]
    Neuron state memory traffic: ``neuron_updates_active * state_bytes`` where
    ``state_bytes`` is the model's stored state (e.g. 8 B for float32 u, v; 6 B for Loihi's
    24-bit u, v).  Idle neurons need no state access on an event-driven implementation.

Sources (input encoders, host-injected spikes):

``spikes`` [spikes]
    Spikes (non-zero values) injected.

Projections (synapses), counted where the synapse exists (non-zero stored weight, after
fixed-point quantisation):

``synaptic_acs`` [ops]
    Accumulate-only synaptic operations: one per (binary incoming spike, existing synapse).
``synaptic_macs`` [ops]
    Multiply-accumulate operations: one per (graded incoming spike, existing synapse).
``messages`` [messages]
    Spike messages sent from the pre-synaptic element to this projection's destination
    population: one per non-zero pre-synaptic output whose neuron has at least one synapse
    in this projection (fan-out counted per destination population, not per synapse).
``weight_bytes_read`` [bytes]
    Synaptic memory read: ``(synaptic_acs + synaptic_macs) * weight_bytes`` where
    ``weight_bytes`` is 1 for <= 8-bit fixed-point weights and 4 for float32.

Counts are accumulated at the step in which the event happens (a spike emitted at step t
and the synaptic ops it triggers are both counted at step t, whatever the delay).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np

from .errors import InputError

POPULATION_FIELDS: dict[str, tuple[str, str]] = {
    "neuron_updates_active": ("updates", "neuron updates with input, non-zero state or bias"),
    "neuron_updates_idle": ("updates", "neuron updates with no input, zero state and bias"),
    "spikes": ("spikes", "spikes emitted"),
    "state_bytes_read": ("bytes", "neuron state read by active updates"),
    "state_bytes_written": ("bytes", "neuron state written by active updates"),
}
SOURCE_FIELDS: dict[str, tuple[str, str]] = {
    "spikes": ("spikes", "input spikes injected"),
}
PROJECTION_FIELDS: dict[str, tuple[str, str]] = {
    "synaptic_acs": ("ops", "accumulate ops: binary spike x existing synapse"),
    "synaptic_macs": ("ops", "multiply-accumulate ops: graded spike x existing synapse"),
    "messages": ("messages", "spike messages to the destination population"),
    "weight_bytes_read": ("bytes", "synaptic weight memory read"),
}
KIND_FIELDS = {"population": POPULATION_FIELDS, "source": SOURCE_FIELDS,
               "projection": PROJECTION_FIELDS}


@dataclass
class ElementCounts:
    """Counts of one circuit element: ``fields[name]`` is an int64 ``(steps, batch)`` array.

    ``meta`` carries what a cost model needs besides the counts: ``size`` and ``model`` for
    populations, ``pre``/``post``/``weight_bits``/``synapses`` for projections.
    """

    kind: str
    fields: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)

    def total(self, name: str) -> int:
        return int(self.fields[name].sum())


class EventCounts:
    """Per-element, per-step, per-sample exact event counts of one simulation.

    Build one with :meth:`empty` and fill the arrays, or merge several with ``+``.
    """

    def __init__(self, steps: int, batch: int, elements: Mapping[str, ElementCounts] | None = None):
        self.steps, self.batch = int(steps), int(batch)
        self.elements: dict[str, ElementCounts] = dict(elements or {})

    # ----------------------------------------------------------------- construction
    @classmethod
    def empty(cls, steps: int, batch: int) -> "EventCounts":
        return cls(steps, batch)

    def add_element(self, name: str, kind: str, meta: dict | None = None) -> ElementCounts:
        """Register an element with zeroed arrays for every field of its kind."""
        if kind not in KIND_FIELDS:
            raise InputError(f"EventCounts element '{name}': unknown kind '{kind}'; "
                             f"use one of {sorted(KIND_FIELDS)}")
        el = ElementCounts(kind, {f: np.zeros((self.steps, self.batch), np.int64)
                                  for f in KIND_FIELDS[kind]}, dict(meta or {}))
        self.elements[name] = el
        return el

    # ----------------------------------------------------------------- queries
    def names(self, kind: str | None = None) -> list[str]:
        return [n for n, e in self.elements.items() if kind is None or e.kind == kind]

    def _select(self, name: str, elements: Iterable[str] | None, kind: str | None):
        names = list(elements) if elements is not None else self.names(kind)
        return [self.elements[n].fields[name] for n in names
                if name in self.elements[n].fields and (kind is None or self.elements[n].kind == kind)]

    def array(self, name: str, elements: Iterable[str] | None = None, kind: str | None = None) -> np.ndarray:
        """Sum of field ``name`` over the selected elements, shape ``(steps, batch)``."""
        arrays = self._select(name, elements, kind)
        if not arrays and not any(name in f for f in KIND_FIELDS.values()):
            raise InputError(f"EventCounts has no field '{name}'; fields are "
                             f"{sorted(set().union(*KIND_FIELDS.values()))}")
        out = np.zeros((self.steps, self.batch), np.int64)
        for a in arrays:
            out += a
        return out

    def total(self, name: str, elements: Iterable[str] | None = None, kind: str | None = None) -> int:
        """Exact total of a field over steps, samples and the selected elements."""
        return int(self.array(name, elements, kind).sum())

    def per_step(self, name: str, **sel) -> np.ndarray:
        """Field summed over samples and elements, shape ``(steps,)``."""
        return self.array(name, **sel).sum(axis=1)

    def per_sample(self, name: str, **sel) -> np.ndarray:
        """Field summed over steps and elements, shape ``(batch,)``."""
        return self.array(name, **sel).sum(axis=0)

    def batch_mean(self, name: str, **sel) -> float:
        """Mean over samples of the per-sample total (events per inference)."""
        return self.total(name, **sel) / max(self.batch, 1)

    def totals(self) -> dict[str, int]:
        """Circuit-wide totals of every field; population and source spikes are separate
        (``spikes`` counts neuron spikes, ``input_spikes`` the injected ones)."""
        out = {f: self.total(f, kind="population") for f in POPULATION_FIELDS}
        out["input_spikes"] = self.total("spikes", kind="source")
        out.update({f: self.total(f, kind="projection") for f in PROJECTION_FIELDS})
        out["synaptic_ops"] = out["synaptic_acs"] + out["synaptic_macs"]
        return out

    def by_element(self) -> dict[str, dict[str, int]]:
        """Totals per element and field."""
        return {n: {f: int(a.sum()) for f, a in e.fields.items()} for n, e in self.elements.items()}

    # ----------------------------------------------------------------- algebra
    def __add__(self, other: "EventCounts") -> "EventCounts":
        return self.merge(other)

    def merge(self, other: "EventCounts") -> "EventCounts":
        """Element-wise sum; both must have the same ``steps`` and ``batch``."""
        if (self.steps, self.batch) != (other.steps, other.batch):
            raise InputError(f"cannot merge EventCounts of shape (steps={self.steps}, batch="
                             f"{self.batch}) with (steps={other.steps}, batch={other.batch}); "
                             "use concat_steps() for successive runs")
        out = EventCounts(self.steps, self.batch)
        for src in (self, other):
            for n, e in src.elements.items():
                if n in out.elements:
                    if out.elements[n].kind != e.kind:
                        raise InputError(f"element '{n}' is a {out.elements[n].kind} in one "
                                         f"EventCounts and a {e.kind} in the other")
                    for f, a in e.fields.items():
                        out.elements[n].fields[f] = out.elements[n].fields[f] + a
                else:
                    out.elements[n] = ElementCounts(e.kind, {f: a.copy() for f, a in e.fields.items()},
                                                    dict(e.meta))
        return out

    def __eq__(self, other) -> bool:
        if not isinstance(other, EventCounts):
            return NotImplemented
        if (self.steps, self.batch) != (other.steps, other.batch) or set(self.elements) != set(other.elements):
            return False
        return all(self.elements[n].kind == other.elements[n].kind
                   and set(self.elements[n].fields) == set(other.elements[n].fields)
                   and all(np.array_equal(a, other.elements[n].fields[f])
                           for f, a in self.elements[n].fields.items())
                   for n in self.elements)

    def diff(self, other: "EventCounts") -> list[str]:
        """Human-readable list of the (element, field) totals that differ."""
        out = []
        for n in sorted(set(self.elements) | set(other.elements)):
            a, b = self.elements.get(n), other.elements.get(n)
            if a is None or b is None:
                out.append(f"{n}: only in {'second' if a is None else 'first'}")
                continue
            for f in sorted(set(a.fields) | set(b.fields)):
                x, y = a.fields.get(f), b.fields.get(f)
                if x is None or y is None or not np.array_equal(x, y):
                    out.append(f"{n}.{f}: {None if x is None else int(x.sum())} vs "
                               f"{None if y is None else int(y.sum())}")
        return out

    # ----------------------------------------------------------------- export
    def to_dict(self, per_step: bool = False) -> dict:
        """JSON-ready summary: totals, per-element totals, and optionally per-step arrays."""
        d = {"steps": self.steps, "batch": self.batch, "totals": self.totals(),
             "elements": {n: {"kind": e.kind, "meta": _jsonable(e.meta),
                              "totals": {f: int(a.sum()) for f, a in e.fields.items()}}
                          for n, e in self.elements.items()}}
        if per_step:
            for n, e in self.elements.items():
                d["elements"][n]["per_step"] = {f: a.sum(axis=1).tolist() for f, a in e.fields.items()}
        return d

    def __repr__(self) -> str:
        t = self.totals()
        return (f"EventCounts(steps={self.steps}, batch={self.batch}, spikes={t['spikes']}, "
                f"synaptic_ops={t['synaptic_ops']}, elements={len(self.elements)})")


MAX_COUNT = 2**63 - 1
_META_INTS = ("size", "synapses", "weight_bytes", "state_bytes", "delay", "weight_bits")


def _count(where: str, value) -> int:
    """A count: a non-negative int (or an integral finite float, as JSON may give), <= 2**63 - 1."""
    if (isinstance(value, (bool, np.bool_, np.timedelta64, np.datetime64))
            or not isinstance(value, (int, float, np.integer, np.floating))):
        raise InputError(f"counts {where}: is {repr(value)[:60]} ({type(value).__name__}); must be a non-negative "
                         "integer.")
    if isinstance(value, (float, np.floating)) and (not np.isfinite(value) or value != int(value)):
        raise InputError(f"counts {where}: is {value!r}; must be a non-negative integer (finite, whole).")
    v = int(value)
    if v < 0 or v > MAX_COUNT:
        text = str(v) if len(str(v)) < 40 else f"{str(v)[:12]}... ({len(str(v))} digits)"
        raise InputError(f"counts {where}: is {text}; must be in [0, {MAX_COUNT}] (negative counts would give "
                         "negative energy).")
    return v


def validate_counts_dict(d) -> dict:
    """Check an ``EventCounts.to_dict()`` (or a result.json holding it under ``"counts"``)
    before a cost model reads it; return the counts dict with every total as a Python int.

    ``steps`` and ``batch``: ints >= 1 (bools refused); ``elements``: an object mapping
    names to ``{"kind", "totals", "meta"?}`` with ``kind`` in :data:`KIND_FIELDS`;
    ``totals`` maps that kind's fields (unknown ones refused) to counts in
    ``[0, 2**63 - 1]``; the integer meta keys (``size``, ``synapses``, ...) are counts too.
    Every error is an :class:`InputError` naming the element and the field."""
    if not isinstance(d, Mapping):
        raise InputError(f"counts: is a {type(d).__name__}; expected EventCounts.to_dict() (a dict).")
    if "counts" in d and "elements" not in d:
        d = d["counts"]
        if not isinstance(d, Mapping):
            raise InputError(f"counts: the 'counts' block is a {type(d).__name__}; expected a dict.")
    for key in ("steps", "batch", "elements"):
        if key not in d:
            raise InputError(f"counts: no '{key}' key (keys: {sorted(map(str, d))[:10]}); pass "
                             "EventCounts.to_dict() or a result.json with a 'counts' block.")
    out = {"steps": 0, "batch": 0, "elements": {}}
    for key in ("steps", "batch"):
        v = d[key]
        if (isinstance(v, (bool, np.bool_, np.timedelta64)) or not isinstance(v, (int, np.integer))
                or not 1 <= v <= MAX_COUNT):
            raise InputError(f"counts field '{key}': is {v!r}; must be an int >= 1.")
        out[key] = int(v)
    els = d["elements"]
    if not isinstance(els, Mapping):
        raise InputError(f"counts field 'elements': is a {type(els).__name__}; expected a dict name -> element.")
    for n, e in els.items():
        if not isinstance(n, str) or not isinstance(e, Mapping):
            raise InputError(f"counts element {n!r}: must be a str name mapped to a dict, got {type(e).__name__}.")
        kind = e.get("kind")
        if not isinstance(kind, str) or kind not in KIND_FIELDS:
            raise InputError(f"counts element '{n}', field 'kind': is {kind!r}; use one of {sorted(KIND_FIELDS)}.")
        totals, meta = e.get("totals"), e.get("meta", {})
        if not isinstance(totals, Mapping):
            raise InputError(f"counts element '{n}', field 'totals': is {type(totals).__name__}; expected a dict.")
        if not isinstance(meta, Mapping):
            raise InputError(f"counts element '{n}', field 'meta': is {type(meta).__name__}; expected a dict.")
        unknown = sorted(str(f) for f in totals if f not in KIND_FIELDS[kind])
        if unknown:
            raise InputError(f"counts element '{n}', field 'totals': unknown fields {unknown[:5]} for a {kind}; "
                             f"fields are {sorted(KIND_FIELDS[kind])}.")
        clean_meta = dict(meta)
        for k in _META_INTS:
            if k in meta:
                clean_meta[k] = _count(f"element '{n}', field 'meta.{k}'", meta[k])
        out["elements"][n] = {"kind": kind, "meta": clean_meta,
                              "totals": {f: _count(f"element '{n}', field '{f}'", v) for f, v in totals.items()}}
    return out


def check_event_counts(counts: "EventCounts") -> "EventCounts":
    """Check a live :class:`EventCounts`: steps/batch >= 1, every field a non-negative
    integer array of shape ``(steps, batch)``."""
    for key in ("steps", "batch"):
        v = getattr(counts, key)
        if isinstance(v, (bool, np.bool_, np.timedelta64)) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InputError(f"EventCounts field '{key}': is {v!r}; must be an int >= 1.")
    for n, e in counts.elements.items():
        for f, a in e.fields.items():
            a = np.asarray(a)
            if a.dtype.kind not in "iu" or a.shape != (counts.steps, counts.batch) or (a.size and a.min() < 0):
                raise InputError(f"EventCounts element '{n}', field '{f}': must be a non-negative int array of "
                                 f"shape ({counts.steps}, {counts.batch}), got {a.dtype} {a.shape}.")
    return counts


def _jsonable(meta: dict) -> dict:
    out = {}
    for k, v in meta.items():
        if isinstance(v, np.generic):
            v = v.item()
        out[k] = v
    return out
