"""Neuron model descriptions: parameters and equations, no implementation.

A model is a frozen dataclass of parameters.  What it does (its state, one time step, the
rule for an active update) is defined once, by the :class:`~spikeattn.dynamics.Dynamics`
registered for its type (:func:`spikeattn.dynamics.dynamics_for`); the engines call that
definition or, where they generate their own code (numba kernels, Brian2, Lava's own LIF),
are held to it bit for bit by the conformance suite (``tests/conformance``).  All models are
discrete-time with a step of ``Circuit.dt`` seconds; the parameters are per step, as in
Lava.  Parameters may be scalars or per-neuron arrays (broadcast to the population size).

New models register themselves with :func:`register_model` so that files can name them.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from ..errors import ParameterError, UnknownModelError
from ..validation import check_int, check_str

MODEL_REGISTRY: dict[str, type["NeuronModel"]] = {}


def register_model(cls):
    """Class decorator: make a model known to files and validation under ``cls.kind``."""
    MODEL_REGISTRY[cls.kind] = cls
    return cls


def model_from_dict(d: dict, arrays: dict | None = None) -> "NeuronModel":
    """The model described by ``{"kind": name, "params": {field: value}}``; unknown kinds and
    parameters are refused (a misspelt parameter must not silently take its default)."""
    if not isinstance(d, dict):
        raise UnknownModelError("neuron model", None, f"is a {type(d).__name__}; expected a dict "
                                "{'kind': ..., 'params': {...}}.")
    kind = d.get("kind")
    if not isinstance(kind, str) or kind not in MODEL_REGISTRY:
        raise UnknownModelError("neuron model", "kind", f"unknown model {kind!r}.",
                                f"use one of {sorted(MODEL_REGISTRY)}")
    cls = MODEL_REGISTRY[kind]
    raw = d.get("params", {})
    if not isinstance(raw, dict):
        raise ParameterError(f"neuron model '{kind}'", "params", f"is a {type(raw).__name__}; expected a dict.")
    names = [f.name for f in fields(cls)]
    unknown = sorted(str(k) for k in raw if k not in names)
    if unknown:
        raise ParameterError(f"neuron model '{kind}'", "params", f"has unknown parameters {unknown}.",
                             f"{kind} takes {names}.")
    params = {}
    for name, v in raw.items():
        if isinstance(v, dict) and "array" in v:
            try:
                v = arrays[v["array"]]
            except (KeyError, TypeError):
                raise ParameterError(f"neuron model '{kind}'", name, f"refers to a missing array {v!r}.") from None
        params[name] = v
    return cls(**params)


@dataclass(frozen=True, eq=False)
class NeuronModel:
    """Base class.  ``kind`` names the model in files; ``fixed_point`` tells the arithmetic;
    ``graded_output`` whether its spikes carry values; ``state`` lists the state variables
    (probe-able) and ``state_bytes`` the storage they need on the modelled hardware."""

    kind: ClassVar[str] = "abstract"
    fixed_point: ClassVar[bool] = False
    graded_output: ClassVar[bool] = False   # True: spikes carry values (recorded as numbers)
    state: ClassVar[tuple[str, ...]] = ("v",)
    state_bytes: ClassVar[int] = 4

    def params(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def check(self, where: str, size: int) -> None:
        """Raise :class:`ParameterError` naming ``where`` and the field if a value is bad."""

    def __eq__(self, other) -> bool:
        if type(self) is not type(other):
            return False
        return all(np.array_equal(np.asarray(a), np.asarray(b))
                   for a, b in zip(self.params().values(), other.params().values()))

    __hash__ = object.__hash__


def check_range(where, name, value, lo, hi, size, integer=False):
    if isinstance(value, (str, bytes, dict)) or value is None:
        raise ParameterError(where, name, f"must be a real number or array, got {value!r}.")
    try:
        arr = np.asarray(value)
    except Exception:
        raise ParameterError(where, name, "could not be converted to an array (ragged?).") from None
    if arr.dtype.kind not in "iuf":  # bool, complex, timedelta, str, object are refused
        raise ParameterError(where, name, f"must be a real number or array, got {value!r} (dtype {arr.dtype}).")
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != size):
        raise ParameterError(where, name, f"has shape {arr.shape}; expected a scalar or ({size},).",
                             "give one value per neuron or a single value.")
    if not np.all(np.isfinite(arr)):
        raise ParameterError(where, name, "contains NaN or inf.")
    if integer and not np.all(np.equal(np.mod(arr, 1), 0)):
        raise ParameterError(where, name, f"must be an integer for fixed-point models, got {value!r}.")
    if (lo is not None and np.any(arr < lo)) or (hi is not None and np.any(arr > hi)):
        raise ParameterError(where, name, f"is {value!r}; allowed range is [{lo}, {hi}].")


@register_model
@dataclass(frozen=True, eq=False)
class LIF(NeuronModel):
    """Floating-point leaky integrate-and-fire neuron with a current-based synapse.

    Per step (dimensionless, as Lava's ``floating_pt`` LIF), with ``a_in`` the summed
    synaptic input arriving this step::

        u[t] = u[t-1] * (1 - du) + a_in[t]                 synaptic current
        v[t] = v[t-1] * (1 - dv) + u[t] + bias             membrane voltage
        s[t] = v[t] > vth                                  spike (strict)
        reset "zero":     v[t] = v_reset        where s[t]
        reset "subtract": v[t] = v[t] - vth     where s[t]

    ``du = 1`` removes current memory (the input acts directly on v); ``dv = 0`` removes the
    leak.  With ``refractory = r > 0`` a neuron that spiked at step t holds ``v = v_reset``
    (reset "zero") and ignores its input on v for steps t+1 .. t+r; u keeps integrating.
    Units: voltages in threshold-relative arbitrary units; decays are fractions per step.
    """

    kind: ClassVar[str] = "lif"
    state: ClassVar[tuple[str, ...]] = ("u", "v")
    state_bytes: ClassVar[int] = 8  # float32 u and v

    du: float = 1.0
    dv: float = 0.0
    vth: float = 1.0
    bias: float = 0.0
    reset: str = "zero"
    v_reset: float = 0.0
    refractory: int = 0

    def check(self, where: str, size: int) -> None:
        check_range(where, "du", self.du, 0.0, 1.0, size)
        check_range(where, "dv", self.dv, 0.0, 1.0, size)
        check_range(where, "vth", self.vth, 0.0, None, size)
        check_range(where, "bias", self.bias, None, None, size)
        check_range(where, "v_reset", self.v_reset, None, None, size)
        check_str(where, "reset", self.reset, ("zero", "subtract"))
        check_int(where, "refractory", self.refractory, 0, 2**31 - 1, unit=" steps")
        if self.refractory and self.reset != "zero":
            raise ParameterError(where, "refractory", "is only defined with reset='zero'.",
                                 "set reset='zero' or refractory=0.")


@register_model
@dataclass(frozen=True, eq=False)
class IF(LIF):
    """Integrate-and-fire neuron: an :class:`LIF` with no leak and no current memory.

    ``v[t] = v[t-1] + a_in[t] + bias``; spike if ``v > vth``; reset by subtraction
    (``v -= vth``, the reset used by rate-coded ANN-to-SNN conversion) or to ``v_reset``.
    """

    kind: ClassVar[str] = "if"
    state: ClassVar[tuple[str, ...]] = ("u", "v")
    du: float = 1.0
    dv: float = 0.0
    reset: str = "subtract"

    def check(self, where: str, size: int) -> None:
        super().check(where, size)
        if np.any(np.asarray(self.du) != 1.0) or np.any(np.asarray(self.dv) != 0.0):
            raise ParameterError(where, "du/dv", "an IF neuron has du=1 and dv=0.",
                                 "use LIF for leaky neurons.")


@register_model
@dataclass(frozen=True, eq=False)
class LoihiLIF(NeuronModel):
    """Loihi 2 fixed-point LIF, bit-exact with Lava 0.10's ``PyLifModelBitAcc``.

    All values are integers; ``>>`` rounds toward minus infinity and
    ``trunc0(x) = sign(x) * (|x| >> 12)``.  With ``a_in`` the (already ``weight_exp``-
    shifted) synaptic input::

        bias = bias_mant << bias_exp   (bias_exp >= 0)   or  bias_mant >> -bias_exp
        u1 = trunc0(u * (4096 - (du + 1))) + (a_in << 6)
        u  = u1 - 2**24 if u1 > 2**23, u1 + 2**24 if u1 <= -2**23, else u1   (24-bit wrap)
        v1 = trunc0(v * (4096 - dv)) + u + bias
        v  = clip(v1, -(2**23 - 1), 2**23 - 1)
        s  = v > (vth << 6);   v[s] = 0      (u is not reset; s is sent as 0/1)

    ``du``/``dv`` are 12-bit decay constants (0..4095), ``vth`` the threshold mantissa.
    Lava keeps the input, u and v in int32 arrays: sums beyond 32 bits wrap modulo 2**32
    (reproduced), and under very large inputs the single 24-bit correction lets u exceed
    24 bits.
    """

    kind: ClassVar[str] = "loihi_lif"
    fixed_point: ClassVar[bool] = True
    state: ClassVar[tuple[str, ...]] = ("u", "v")
    state_bytes: ClassVar[int] = 6  # 24-bit u and v

    du: int = 0
    dv: int = 0
    vth: int = 10
    bias_mant: int = 0
    bias_exp: int = 0

    def check(self, where: str, size: int) -> None:
        for name in ("du", "dv"):
            v = getattr(self, name)
            check_range(where, name, v, 0, 4095, size, integer=True)
            if np.ndim(v) != 0:
                raise ParameterError(where, name, "must be a scalar (Lava's LIF has one decay per process).")
        check_range(where, "vth", self.vth, 0, 2**17 - 1, size, integer=True)
        if np.ndim(self.vth) != 0:
            raise ParameterError(where, "vth", "must be a scalar (Lava's LIF has one threshold per process).")
        check_range(where, "bias_mant", self.bias_mant, -(2**12), 2**12 - 1, size, integer=True)
        check_range(where, "bias_exp", self.bias_exp, -8, 7, size, integer=True)
