"""Which neuron models the compiled engine can run: kernels keyed by the EXACT Dynamics class.

The compiled loop (:mod:`.loop`) has one numba step kernel per model behaviour
(:mod:`.kernels`).  A population is run only if ``type(dynamics_for(pop.model))`` is a key
of :data:`KERNELS` — exactly, never through ``isinstance`` — so a model subclass that
registers its own :class:`~spikeattn.dynamics.Dynamics` (another step) is refused up front,
naming the model and the engines that can run it, instead of running the parent's step.

This module imports no numba: the engine can check a circuit (and refuse it) without it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ...dynamics import (GradedReLUDynamics, LIFDynamics, LoihiGradedReLUDynamics, LoihiLIFDynamics,
                         LoihiMultiThresholdIFDynamics, MultiThresholdIFDynamics, TernaryIFDynamics, dynamics_for)

# kernel codes, dispatched on by the loop (kernels.py uses the same numbers)
K_LIF = 1
K_GRADED_RELU = 2
K_LOIHI_LIF = 3
K_TERNARY_IF = 4
K_MULTI_THRESHOLD_IF = 5
K_LOIHI_MULTI_THRESHOLD_IF = 6
K_LOIHI_GRADED_RELU = 7

# rows of the per-neuron parameter tables (float FP, int IP)
F_KU, F_KV, F_VTH, F_VRESET, F_BIAS = 0, 1, 2, 3, 4
N_FROWS = 5
I_DU, I_DV, I_VTH, I_BIAS = 0, 1, 2, 3
N_IROWS = 4


@dataclass(frozen=True)
class KernelSpec:
    """How one Dynamics class maps onto the compiled loop.

    ``code``: kernel code; ``fixed_point``: int64 arithmetic; ``state_slots``: state
    variable -> state array (0 = U, 1 = V; ``ref`` is internal); ``float_rows`` /
    ``int_rows``: ``Dynamics.params`` name -> parameter-table row; ``scalars``: params that
    must be one value per population (passed to the kernel as scalars); ``flags``: the
    diagnostics the kernel counts (:mod:`spikeattn.engines.overflow` names), in the order of
    its diagnostics columns.
    """

    code: int
    fixed_point: bool
    state_slots: dict
    float_rows: dict = field(default_factory=dict)
    int_rows: dict = field(default_factory=dict)
    scalars: tuple = ()
    flags: tuple = ()


KERNELS: dict[type, KernelSpec] = {
    LIFDynamics: KernelSpec(K_LIF, False, {"u": 0, "v": 1},
                            float_rows={"ku": F_KU, "kv": F_KV, "vth": F_VTH, "v_reset": F_VRESET,
                                        "bias": F_BIAS},
                            scalars=("subtract", "refractory"), flags=("nonfinite:u", "nonfinite:v")),
    GradedReLUDynamics: KernelSpec(K_GRADED_RELU, False, {"v": 1}, float_rows={"vth": F_VTH},
                                   flags=("nonfinite:v",)),
    LoihiLIFDynamics: KernelSpec(K_LOIHI_LIF, True, {"u": 0, "v": 1},
                                 int_rows={"du": I_DU, "dv": I_DV, "vth": I_VTH, "bias": I_BIAS},
                                 flags=("overflow:a_in", "overflow:u", "overflow:v", "saturation:v")),
    TernaryIFDynamics: KernelSpec(K_TERNARY_IF, False, {"v": 1}, float_rows={"vth": F_VTH, "bias": F_BIAS},
                                  flags=("nonfinite:v",)),
    MultiThresholdIFDynamics: KernelSpec(K_MULTI_THRESHOLD_IF, False, {"v": 1},
                                         float_rows={"vth": F_VTH, "bias": F_BIAS}, scalars=("levels", "signed"),
                                         flags=("nonfinite:v",)),
    LoihiMultiThresholdIFDynamics: KernelSpec(K_LOIHI_MULTI_THRESHOLD_IF, True, {"v": 1},
                                              int_rows={"vth": I_VTH, "bias": I_BIAS}, scalars=("levels", "signed"),
                                              flags=("overflow:a_in", "overflow:v", "saturation:v")),
    LoihiGradedReLUDynamics: KernelSpec(K_LOIHI_GRADED_RELU, True, {"v": 1}, int_rows={"vth": I_VTH},
                                        flags=("overflow:a_in", "saturation:v")),
}
N_FLAGS = 4


def kernel_for(model) -> KernelSpec | None:
    """The kernel of ``model``'s Dynamics class (exact match), or None."""
    try:
        dyn = dynamics_for(model)
    except Exception:
        return None
    return KERNELS.get(type(dyn))


def models_without_kernel(circuit) -> list[tuple[str, object]]:
    """``(population name, model)`` for every population the compiled loop cannot step."""
    return [(n, p.model) for n, p in circuit.populations.items() if kernel_for(p.model) is None]
