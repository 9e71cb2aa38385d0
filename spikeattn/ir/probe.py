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
        if isinstance(self.variables, str):
            self.variables = (self.variables,)
        self.variables = tuple(self.variables)
        if not self.variables or not all(isinstance(v, str) for v in self.variables):
            raise ParameterError(f"probe on '{self.target}'", "variables",
                                 f"{self.variables!r} must be a non-empty tuple of names.")
