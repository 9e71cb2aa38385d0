"""Population: a group of identical-model neurons, and its initial state."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ParameterError, UnknownModelError, ValidationError
from .neurons import NeuronModel


def check_name(kind: str, name) -> None:
    if not isinstance(name, str) or not name or any(c in name for c in "/\\:\n"):
        raise ValidationError(kind, "name", f"{name!r} is not a valid name.",
                              "use a non-empty string without '/', '\\\\', ':' or newlines.")


def normalise_shape(where: str, shape) -> tuple[int, ...]:
    try:
        shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ParameterError(where, "shape", f"{shape!r} is not an int or a tuple of ints.") from None
    if not shape or any(s <= 0 for s in shape):
        raise ParameterError(where, "shape", f"{shape} must have positive sizes.")
    return shape


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
        check_name("population", self.name)
        where = f"population '{self.name}'"
        self.shape = normalise_shape(where, self.shape)
        if not isinstance(self.model, NeuronModel):
            raise UnknownModelError(where, "model", f"{self.model!r} is not a neuron model.",
                                    "use spikeattn.LIF, spikeattn.IF or spikeattn.LoihiLIF.")
        self.model.check(where, self.size)
        init = {}
        for var, val in dict(self.initial).items():
            if var not in self.model.state:
                raise ParameterError(where, f"initial[{var!r}]", f"is not a state variable of {self.model.kind}.",
                                     f"use one of {list(self.model.state)}.")
            arr = np.asarray(val, dtype=np.int64 if self.model.fixed_point else np.float64)
            if arr.ndim not in (0, 1) or (arr.ndim == 1 and arr.shape[0] != self.size):
                raise ParameterError(where, f"initial[{var!r}]", f"has shape {arr.shape}; expected () or ({self.size},).")
            if not np.all(np.isfinite(arr)):
                raise ParameterError(where, f"initial[{var!r}]", "contains NaN or inf.")
            init[var] = arr
        self.initial = init

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __eq__(self, other):
        return (isinstance(other, Population) and self.name == other.name and self.shape == other.shape
                and self.model == other.model and self.initial.keys() == other.initial.keys()
                and all(np.array_equal(v, other.initial[k]) for k, v in self.initial.items()))

    __hash__ = object.__hash__
