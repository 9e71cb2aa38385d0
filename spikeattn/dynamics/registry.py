"""The model-behaviour registry: one :class:`Dynamics` per neuron model type.

IR models (:mod:`spikeattn.ir.neurons`) are descriptions: parameters and equations.  What a
model *does* — its state, its initial state, one time step and the rule for an "active"
update — is defined once here, by a :class:`Dynamics` class registered for the model type.
Every engine (numpy, compiled, Brian2, Lava), the fused runners, the counting of recorded
runs and SANA-FE read it from here; none re-implements it.

Dispatch walks the model's class hierarchy (Nengo's ``Builder`` style): a model subclass
without its own registration behaves as its parent.  A subclass that wants another step
registers its own Dynamics; fast paths (compiled kernels, fused runners) key their kernels
on the exact Dynamics class, so they refuse a model whose behaviour they do not implement.
"""
from __future__ import annotations

from typing import ClassVar, Mapping

import numpy as np

from ..errors import UnsupportedFeatureError
from .xp import is_floating, namespace

DYNAMICS: dict[type, "Dynamics"] = {}


def register_dynamics(model_type: type):
    """Class decorator: ``@register_dynamics(LIF) class LIFDynamics(Dynamics): ...``."""
    def deco(cls):
        cls.model_type = model_type
        DYNAMICS[model_type] = cls()
        return cls
    return deco


def dynamics_for(model) -> "Dynamics":
    """The registered :class:`Dynamics` of ``model`` (an instance or a model type)."""
    klass = model if isinstance(model, type) else type(model)
    for k in klass.__mro__:
        if k in DYNAMICS:
            return DYNAMICS[k]
    raise UnsupportedFeatureError(
        f"no dynamics registered for neuron model '{getattr(klass, 'kind', klass.__name__)}' "
        f"({klass.__name__}); register one with spikeattn.dynamics.register_dynamics({klass.__name__}).")


class Dynamics:
    """Behaviour of one neuron model, as pure functions on arrays.

    ``params(pop)``: per-neuron parameter arrays ``(size,)``; ``init_state(pop, batch)``:
    state arrays ``(batch, size)`` (the model's probe-able variables plus internal ones);
    ``step(params, state, a_in) -> (spikes, new_state)`` (new arrays; ``a_in`` is the summed
    synaptic input of this step, ``(batch, size)``); ``carries(params, state)``: where a
    neuron is *not* resting before an update — it carries a state value into the update
    (after its decays) or has a non-zero bias.  An update is *active* if it carries or the
    neuron received at least one synaptic event for the step (:mod:`spikeattn.counts`).

    ``check(params, state, a_in, new_state)`` (optional) returns diagnostics of one step:
    a dict of ``(batch, size)`` bool arrays, e.g. ``overflow`` and ``saturation`` for fixed
    point, ``nonfinite`` for float state that became inf/NaN.

    ``params`` and ``init_state`` build numpy arrays.  The float models write ``step``,
    ``carries`` and ``check`` against the array namespace of their input
    (:func:`spikeattn.dynamics.xp.namespace`), so the same functions run on numpy arrays and,
    in the torch engine, on torch tensors; the fixed-point models are numpy only.
    """

    model_type: ClassVar[type]
    internal_state: ClassVar[tuple[str, ...]] = ()

    @property
    def fixed_point(self) -> bool:
        return self.model_type.fixed_point

    @property
    def graded_output(self) -> bool:
        return self.model_type.graded_output

    @property
    def dtype(self):
        return np.int64 if self.fixed_point else np.float64

    def state_vars(self, model=None) -> tuple[str, ...]:
        return tuple((model or self.model_type).state) + self.internal_state

    def params(self, pop) -> dict[str, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def init_state(self, pop, batch: int) -> dict[str, np.ndarray]:
        """Initial state ``(batch, size)``: ``pop.initial`` where given, else zero."""
        state = {var: np.broadcast_to(np.asarray(pop.initial.get(var, 0), self.dtype),
                                      (batch, pop.size)).copy() for var in pop.model.state}
        for var in self.internal_state:
            state[var] = np.zeros((batch, pop.size), np.int64)
        return state

    def step(self, params: Mapping, state: Mapping, a_in: np.ndarray):  # pragma: no cover - abstract
        raise NotImplementedError

    def carries(self, params: Mapping, state: Mapping) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def step_carries(self, params: Mapping, state: Mapping, a_in):
        """``(*step(params, state, a_in), carries(params, state))`` in one call; a model
        overrides it to share work between the two (same values)."""
        return (*self.step(params, state, a_in), self.carries(params, state))

    def check(self, params: Mapping, state: Mapping, a_in: np.ndarray, new_state: Mapping) -> dict:
        """Diagnostics of one step (default: ``nonfinite:<var>``, float state that was finite
        before the step and is inf or NaN after it)."""
        xp = namespace(*new_state.values())
        return {f"nonfinite:{var}": xp.isfinite(state[var]) & ~xp.isfinite(new_state[var]) for var in new_state
                if var in state and is_floating(new_state[var])}

    def bias(self, params: Mapping) -> np.ndarray:
        """Per-neuron effective bias ``(size,)`` (what the active rule tests against zero)."""
        return params["bias"]

    def output(self, spikes: np.ndarray) -> np.ndarray:
        """Spikes as recorded: bool for binary models, the values for graded ones."""
        return spikes
