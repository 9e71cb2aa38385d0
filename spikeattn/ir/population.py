"""Population: a group of identical-model neurons, and its initial state."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..errors import ParameterError, UnknownModelError, ValidationError
from ..validation import check_finite, check_real_array, check_shape
from .neurons import NeuronModel


def check_name(kind: str, name) -> None:
    if not isinstance(name, str) or not name or any(c in name for c in "/\\:\n"):
        raise ValidationError(kind, "name", f"{name!r} is not a valid name.",
                              "use a non-empty string without '/', '\\\\', ':' or newlines.")


def normalise_shape(where: str, shape) -> tuple[int, ...]:
    """An int or tuple of ints > 0 (bools, floats, strings refused); see
    :func:`spikeattn.validation.check_shape`."""
    return check_shape(where, shape)


# Loihi's u and v are 24-bit signed registers.
FIXED_POINT_STATE_RANGE = (-(2**23), 2**23)


@dataclass(eq=False)
class Population:
    """``size`` neurons of one ``model``.

    ``shape`` is an int or tuple (the neurons are stored flat, C order, ``size`` =
    product of the shape).  ``initial`` maps state variable names of the model (e.g. ``u``,
    ``v``) to scalars or per-neuron arrays; missing variables start at zero.
    """

    name: str
    shape: tuple
    model: NeuronModel
    initial: dict = field(default_factory=dict)

    def __post_init__(self):
        self.check()

    def check(self) -> "Population":
        """(Re-)validate every field; :meth:`Circuit.validate` calls it after any mutation."""
        check_name("population", self.name)
        where = f"population '{self.name}'"
        self.shape = normalise_shape(where, self.shape)
        if not isinstance(self.model, NeuronModel):
            raise UnknownModelError(where, "model", f"{self.model!r} is not a neuron model.",
                                    "use spikeattn.LIF, spikeattn.IF or spikeattn.LoihiLIF.")
        self.model.check(where, self.size)
        if not isinstance(self.initial, Mapping):
            raise ParameterError(where, "initial", f"is a {type(self.initial).__name__}; must be a dict "
                                 "mapping state names to values.", f"e.g. initial={{'v': 0.5}}.")
        init = {}
        for var, val in dict(self.initial).items():
            if not isinstance(var, str) or var not in self.model.state:
                raise ParameterError(where, f"initial[{var!r}]", f"is not a state variable of {self.model.kind}.",
                                     f"use one of {list(self.model.state)}.")
            field_ = f"initial[{var!r}]"
            arr = check_real_array(where, field_, val)
            if arr.ndim not in (0, 1) or (arr.ndim == 1 and arr.shape[0] != self.size):
                raise ParameterError(where, field_, f"has shape {arr.shape}; expected () or ({self.size},).")
            check_finite(where, field_, arr)
            if self.model.fixed_point:
                lo, hi = FIXED_POINT_STATE_RANGE
                if not np.all(np.equal(np.mod(arr, 1), 0)):
                    raise ParameterError(where, field_, "must be integers for a fixed-point model.",
                                         "round the initial state (e.g. np.rint) first.")
                if arr.size and (np.min(arr) < lo or np.max(arr) > hi):
                    raise ParameterError(where, field_, f"has values in [{np.min(arr)}, {np.max(arr)}], outside "
                                         f"the 24-bit range [{lo}, {hi}] of Loihi's state registers.")
                arr = arr.astype(np.int64)
            else:
                arr = arr.astype(np.float64)
            init[var] = arr
        self.initial = init
        return self

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __eq__(self, other):
        return (isinstance(other, Population) and self.name == other.name and self.shape == other.shape
                and self.model == other.model and self.initial.keys() == other.initial.keys()
                and all(np.array_equal(v, other.initial[k]) for k, v in self.initial.items()))

    __hash__ = object.__hash__
