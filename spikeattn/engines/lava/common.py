"""What the two Lava engines share: the CPU simulator engine (:mod:`.engine`) and the
Loihi 2 chip engine (:mod:`.hardware`).

Whether lava-nc imports here and its version, the features Lava 0.10 cannot lower (with the
reasons), the per-circuit refusals that follow from them (:meth:`LavaEngineBase.missing_features`)
and the hint on Intel's unpublished lava-loihi.  Both engines build on this module; neither
imports the other for it (the CPU engine hands ``hardware=True`` runs to the chip engine).
"""
from __future__ import annotations

import importlib.util

import numpy as np

from ...ir import Circuit
from ..base import Engine
from .lowering import MAX_FIXED_DELAY

UNSUPPORTED = {
    "model:own_dynamics": "Lava runs each model kind through its own process (Lava's LIF, or spikeattn's "
                          "process of that kind), which would silently replace the model's own Dynamics; the "
                          "numpy and torch engines run it",
    "model:ternary_if": "Lava 0.10 has no signed-spike IF process with reset by subtraction (the numpy and compiled engines run it)",
    "model:multi_threshold_if": "Lava 0.10 has no multi-threshold IF process (the numpy and compiled engines run it)",
    # count messages into fixed-point populations are Lava's graded Dense ("projection:count" is
    # supported); in float circuits they are refused under this key (missing_features)
    "projection:count_float": "Lava's Dense sends binary or graded messages; count bursts are not lowered (the numpy and compiled engines run them)",
    "float:order_exact": "Lava's floating_pt Dense computes W @ s with BLAS and its ports add several "
                         "projections in connection order, so float sums that round can differ by one ulp "
                         "and flip a spike at an exact threshold tie (fixed point is bit-exact)",
    "lif:refractory": "Lava 0.10's LIF has no refractory period (LIFRefractory is float-only and "
                      "differs from our definition)",
    "lif:reset_subtract": "Lava 0.10's LIF resets v to 0; it has no reset by subtraction",
    "lif:per_neuron_params": "Lava 0.10's LIF has one du, dv and vth per process",
    "projection:delay0": "Lava's Dense/Sparse always delay a spike by one step",
    "lif:v_reset": "Lava 0.10's LIF resets v to 0; v_reset must be 0",
    "projection:fixed_delay_over_64": f"Loihi 2 synaptic delays are 6 bits: DelayDense/DelaySparse "
                                      f"accept delays up to {MAX_FIXED_DELAY} steps in fixed point",
}


def lava_importable() -> bool:
    """Whether lava-nc can be imported by this interpreter (without importing it)."""
    return importlib.util.find_spec("lava") is not None and importlib.util.find_spec("lava.magma") is not None


def lava_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("lava-nc")
    except PackageNotFoundError:  # pragma: no cover - lava from a source checkout
        return "unknown"


HW_HINT = ("Loihi2HwCfg needs Intel's lava-loihi package (the Loihi 2 compiler and runtime), which is "
           "not published on PyPI: it is distributed to members of Intel's Neuromorphic Research "
           "Community (INRC) together with access to Loihi 2 systems. Without it, run the bit-accurate "
           "CPU simulation (hardware=False, the default), which is bit-exact with the chip's arithmetic.")


class LavaEngineBase(Engine):
    """The refusals both Lava engines make (:data:`UNSUPPORTED` and the per-circuit checks)."""

    unsupported = UNSUPPORTED

    @classmethod
    def missing_features(cls, circuit: Circuit) -> list[tuple[str, str]]:
        missing = super().missing_features(circuit)
        for n, p in circuit.populations.items():
            if not p.model.fixed_point and np.any(np.asarray(getattr(p.model, "v_reset", 0)) != 0):
                missing.append((f"population '{n}'", "lif:v_reset"))
        if circuit.fixed_point:
            for n, p in circuit.projections.items():
                if p.delay > MAX_FIXED_DELAY:
                    missing.append((f"projection '{n}'", "projection:fixed_delay_over_64"))
        else:       # count bursts lower to Lava's graded fixed-point Dense only
            missing += [(f"projection '{n}'", "projection:count_float") for n, p in circuit.projections.items()
                        if p.message == "count"]
        return missing
