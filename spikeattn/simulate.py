"""The one entry point: ``simulate(circuit, inputs, steps, engine=...)``."""
from __future__ import annotations

from typing import Mapping

from .encoding import encode_inputs
from .errors import InputError
from .ir import Circuit
from .result import SimResult
from .engines.base import engine_class


def simulate(circuit: Circuit, inputs: Mapping[str, object] | None = None, steps: int = 100,
             engine: str = "numpy", batch: int | None = None, seed: int = 0, progress: bool = False,
             **options) -> SimResult:
    """Run ``circuit`` for ``steps`` steps on ``engine`` and return a :class:`SimResult`.

    ``inputs`` maps source names to data for their encoder (see
    :class:`spikeattn.ir.SpikeSource`); ``batch`` repeats 1-D data over that many samples
    (otherwise the batch comes from the data); ``seed`` drives the Poisson encoders.
    ``options`` go to the engine (e.g. ``mode="fixed_pt"`` for Lava, ``device=
    "cpp_standalone"`` for Brian2, ``fused=True`` to let the numpy engine run a circuit's
    registered fused fast path, which gives identical spikes and counts).
    """
    if not isinstance(circuit, Circuit):
        raise InputError(f"simulate() needs a Circuit, got {type(circuit).__name__}.")
    if not isinstance(steps, int) or steps < 1:
        raise InputError(f"steps is {steps!r}; must be an int >= 1.")
    if batch is not None and (not isinstance(batch, int) or batch < 1):
        raise InputError(f"batch is {batch!r}; must be an int >= 1 or None.")
    if not isinstance(seed, int) or seed < 0:
        raise InputError(f"seed is {seed!r}; must be an int >= 0.")
    circuit.validate()
    eng = engine_class(engine)(**options)
    eng.check(circuit)
    encoded, b = encode_inputs(circuit, inputs, steps, batch, seed)
    return eng.run(circuit, encoded, steps, b, seed, progress=progress)
