"""Probe: record state variables of a population over time."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ParameterError


@dataclass(eq=True)
class Probe:
    """Record ``variables`` (state names of the target's model, e.g. ``("u", "v")``) of
    population ``target`` after every step (after reset, as Lava's Monitor).  Spikes of
    every population are always recorded in :class:`~spikeattn.SimResult`."""

    target: str
    variables: tuple = ("v",)

    def __post_init__(self):
        self.check()

    def check(self) -> "Probe":
        """(Re-)validate the fields (names only; the circuit checks them against its nodes)."""
        if not isinstance(self.target, str) or not self.target:
            raise ParameterError(f"probe on {self.target!r}", "target", "must be the name (str) of a population.")
        where = f"probe on '{self.target}'"
        if isinstance(self.variables, str):
            self.variables = (self.variables,)
        if not isinstance(self.variables, (tuple, list)):
            raise ParameterError(where, "variables", f"{self.variables!r} must be a state name or a tuple of "
                                 "names, e.g. ('u', 'v').")
        self.variables = tuple(self.variables)
        if not self.variables or not all(isinstance(v, str) for v in self.variables):
            raise ParameterError(where, "variables", f"{self.variables!r} must be a non-empty tuple of names.")
        return self
