"""Declared scenario parameters: type, default, allowed range, one-line description.

A scenario module lists its parameters as :class:`Param` objects; the registry
(:mod:`scenarios.base`) validates every value given from the command line
(``--set key=value``, parsed from text), a TOML file (``--config``, native types) or Python
(``run_scenario(name, **params)``) and raises :class:`~spikeattn.errors.ParameterError`
naming the scenario, the key and the allowed values.

Types: ``int``, ``float``, ``bool``, ``choice`` (one of ``choices``) and ``int_list``
(comma-separated integers on the command line, a list in TOML/Python).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from spikeattn.errors import ParameterError

TYPES = ("int", "float", "bool", "choice", "int_list")
_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


@dataclass(frozen=True)
class Param:
    """One scenario parameter.

    ``low``/``high`` bound numbers (inclusive; each element of an ``int_list``);
    ``engine_defaults`` gives a different default on some engine (e.g. a smaller batch on
    Lava) with ``engine_reason`` saying why: a run that uses it is marked ``reduced``.
    """

    name: str
    type: str
    default: object
    description: str
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    unit: str = ""
    engine_defaults: dict = field(default_factory=dict)
    engine_reason: str = ""

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"Param {self.name}: type {self.type!r} not in {TYPES}")
        if self.type == "choice" and not self.choices:
            raise ValueError(f"Param {self.name}: a choice needs choices")

    # ------------------------------------------------------------------ description
    def allowed(self) -> str:
        """The allowed values in words (used in every error message and by ``show``)."""
        if self.type == "bool":
            return "true or false"
        if self.type == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        kind = {"int": "an integer", "float": "a number", "int_list": "comma-separated integers"}[self.type]
        if self.low is not None and self.high is not None:
            return f"{kind} in [{_fmt(self.low)}, {_fmt(self.high)}]"
        if self.low is not None:
            return f"{kind} >= {_fmt(self.low)}"
        if self.high is not None:
            return f"{kind} <= {_fmt(self.high)}"
        return kind

    def default_for(self, engine: str):
        return self.engine_defaults.get(engine, self.default)

    def as_dict(self) -> dict:
        d = {"type": self.type, "default": self.default, "allowed": self.allowed(), "description": self.description}
        if self.unit:
            d["unit"] = self.unit
        if self.engine_defaults:
            d["engine_defaults"] = dict(self.engine_defaults)
            d["engine_reason"] = self.engine_reason
        return d

    # ------------------------------------------------------------------ parsing
    def _error(self, where: str, value, why: str = "") -> ParameterError:
        return ParameterError(where, self.name, f"is {value!r}{why}; allowed: {self.allowed()}.",
                              f"give {self.name}=<{self.allowed()}> ({self.description}).")

    def parse(self, text: str, where: str):
        """Value from command-line text (``--set key=text`` or ``--grid key=a,b``)."""
        t = text.strip()
        if self.type == "bool":
            if t.lower() in _TRUE:
                return True
            if t.lower() in _FALSE:
                return False
            raise self._error(where, text)
        if self.type == "int_list":
            try:
                return self.coerce([int(x) for x in t.replace(";", ",").split(",") if x.strip()], where)
            except ValueError:
                raise self._error(where, text) from None
        if self.type == "choice":
            return self.coerce(t, where)
        try:
            value = int(t) if self.type == "int" else float(t)
        except ValueError:
            raise self._error(where, text) from None
        return self.coerce(value, where)

    def coerce(self, value, where: str):
        """Check a Python/TOML value; return it in the declared type."""
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            raise self._error(where, value)
        if self.type == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
            raise self._error(where, value)
        if self.type == "int_list":
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise self._error(where, value)
            items = list(value)
            if not items:
                raise self._error(where, value, " (empty)")
            return tuple(self._number(v, where, whole=True) for v in items)
        return self._number(value, where, whole=self.type == "int")

    def _number(self, value, where: str, whole: bool):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._error(where, value)
        if whole:
            if isinstance(value, float) and not value.is_integer():
                raise self._error(where, value, " (not an integer)")
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise self._error(where, value)
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise self._error(where, value, " (out of range)")
        return value


def _fmt(x) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


# Parameters every scenario has (its own defaults are given per scenario).
def common_params(steps: int, batch: int, steps_min: int = 1, batch_engine_defaults: dict | None = None,
                  batch_reason: str = "") -> list[Param]:
    """``steps`` and ``batch`` with the scenario's defaults (``batch`` may differ by engine)."""
    return [Param("steps", "int", steps, "simulation time steps", low=steps_min, high=100_000, unit="steps"),
            Param("batch", "int", batch, "samples simulated at once (cues, tokens, ...)", low=1, high=100_000,
                  unit="samples", engine_defaults=dict(batch_engine_defaults or {}), engine_reason=batch_reason)]
