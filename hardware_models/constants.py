"""Constants with their provenance: a value, a low-high range, a unit, a source and a tag.

Tags:

``P`` primary
    read in a primary source (paper, datasheet, or the cited code).
``S`` secondary
    taken from a secondary transcription of a primary source.
``D`` derived
    computed by arithmetic (or a stated assumption) from published numbers; the ``source``
    string then gives the arithmetic.

A constant whose value is unknown is not invented: a chip simply leaves it out, and the
cost model adds a note saying the term is not modelled.

Interval arithmetic: every cost term is a sum of products of non-negative counts and
non-negative constants, so it is monotone in each constant; evaluating the model with all
constants at ``low`` and then all at ``high`` gives exact bounds of the term.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from spikeattn.errors import ParameterError

TAGS = {"P": "primary", "S": "secondary", "D": "derived"}
PICKS = ("value", "low", "high")


@dataclass(frozen=True)
class Constant:
    """One physical constant, e.g. ``Constant(23.6e-12, 23.6e-12, 35.5e-12, "J/op", "...", "S")``.

    ``value`` is the figure used for the central estimate; ``low <= value <= high`` bound it
    where sources disagree (``low == high == value`` when only one figure is known).
    ``unit`` is an SI unit string (J, J/op, W, s, B, FLOP/s, B/s ...).
    """

    value: float
    low: float
    high: float
    unit: str
    source: str
    tag: str
    note: str = ""

    def __post_init__(self):
        where = f"constant ({self.source[:60]!r})"
        if self.tag not in TAGS:
            raise ParameterError(where, "tag", f"is {self.tag!r}.", f"use one of {sorted(TAGS)} "
                                 "(primary, secondary, derived).")
        for k in ("value", "low", "high"):
            v = getattr(self, k)
            if not isinstance(v, (int, float)) or v != v or v < 0:
                raise ParameterError(where, k, f"is {v!r}; must be a non-negative finite number.")
        if not self.low <= self.value <= self.high:
            raise ParameterError(where, "low/value/high", f"are {self.low}/{self.value}/{self.high}; "
                                 "need low <= value <= high.", "widen the range or fix the value.")
        if not self.source:
            raise ParameterError(where, "source", "is empty.", "cite where the figure comes from.")

    def pick(self, which: str) -> float:
        """The value at one end of the range: ``"value"``, ``"low"`` or ``"high"``."""
        if which not in PICKS:
            raise ParameterError("Constant.pick", "which", f"is {which!r}.", f"use one of {PICKS}.")
        return float(getattr(self, which))

    def scaled(self, factor: "Constant | float", source: str | None = None, tag: str = "D",
               unit: str | None = None) -> "Constant":
        """This constant times a (non-negative) factor, ranges multiplied end to end."""
        f = factor if isinstance(factor, Constant) else Constant(factor, factor, factor, "1", "exact", "D")
        return Constant(self.value * f.value, self.low * f.low, self.high * f.high, unit or self.unit,
                        source or f"{self.source} x {f.source}", tag)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["tag_name"] = TAGS[self.tag]
        return d


def exact(value: float, unit: str, source: str, tag: str, note: str = "") -> Constant:
    """A constant known as a single figure (no range)."""
    return Constant(value, value, value, unit, source, tag, note)


def ranged(value: float, low: float, high: float, unit: str, source: str, tag: str, note: str = "") -> Constant:
    """A constant with a low-high range."""
    return Constant(value, low, high, unit, source, tag, note)
