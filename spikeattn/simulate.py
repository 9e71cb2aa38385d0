"""The one entry point: ``simulate(circuit, inputs, steps, engine=...)``."""
from __future__ import annotations

from typing import Mapping

from .encoding import encode_inputs
from .engines.base import ENGINES, engine_class
from .errors import InputError
from .ir import Circuit
from .result import SimResult
from .validation import check_input_memory, check_int, check_run_memory

ON_OVERFLOW = ("warn", "wrap", "raise")
MAX_STEPS = 2**40


def simulate(circuit: Circuit, inputs: Mapping[str, object] | None = None, steps: int = 100,
             engine: str = "numpy", batch: int | None = None, seed: int = 0, progress: bool = False,
             **options) -> SimResult:
    """Run ``circuit`` for ``steps`` steps on ``engine`` and return a :class:`SimResult`.

    ``inputs`` maps source names to data for their encoder (see
    :class:`spikeattn.ir.SpikeSource`); ``batch`` repeats 1-D data over that many samples
    (otherwise the batch comes from the data); ``seed`` drives the Poisson encoders.
    ``options`` go to the engine (e.g. ``mode="fixed_pt"`` for Lava, ``device=
    "cpp_standalone"`` for Brian2, ``fused=True`` to let the numpy engine run a circuit's
    registered fused fast path, which gives identical spikes and counts, ``on_overflow=
    "warn" | "wrap" | "raise"`` for fixed-point overflow).  An option the engine does not
    declare (``options_allowed``) is refused, naming the ones it takes.

    Every argument is checked first (``steps``, ``batch``, ``seed``: ints, bools refused;
    ``inputs``: a mapping), then ``circuit.validate()``.  A structured circuit (shared, index,
    conv or product projections) runs as it is on an engine that runs them (``"torch"``) and
    as its expansion (:meth:`Circuit.expand`, memory estimated first) on every other engine.
    Then the memory the run needs
    (:func:`spikeattn.validation.estimate_run_bytes`): more than is available, or than
    1 TiB, raises :class:`~spikeattn.errors.MemoryLimitError` stating the bytes, before
    anything is allocated.
    """
    if not isinstance(circuit, Circuit):
        raise InputError(f"simulate() needs a Circuit, got {type(circuit).__name__}.")
    steps = check_int("simulate()", "steps", steps, 1, MAX_STEPS, error=InputError)
    if batch is not None:
        batch = check_int("simulate()", "batch", batch, 1, MAX_STEPS, error=InputError, unit=" (or None)")
    seed = check_int("simulate()", "seed", seed, 0, 2**63 - 1, error=InputError)
    if not isinstance(progress, (bool, int)):
        raise InputError(f"simulate(), field 'progress': is {progress!r}; must be True or False.")
    if inputs is not None and not isinstance(inputs, Mapping):
        raise InputError(f"simulate(), field 'inputs': is a {type(inputs).__name__}; must be a dict mapping source "
                         f"names to data (sources of '{circuit.name}': {sorted(circuit.sources)}).")
    if not isinstance(engine, str):
        raise InputError(f"simulate(), field 'engine': is {engine!r} ({type(engine).__name__}); must be an engine "
                         f"name (str), one of {sorted(ENGINES)}.")
    circuit.validate()
    cls = engine_class(engine)
    _check_options(engine, cls, options)
    if circuit.structured and not cls.runs_structured:
        circuit = circuit.expand()   # memory estimated first: MemoryLimitError instead of the OOM killer
    generic = not cls.estimates_memory    # an engine that estimates its own memory does it in run()
    (check_run_memory if generic else check_input_memory)(circuit, steps, batch or _guess_batch(circuit, inputs))
    eng = cls(**options)
    eng.check(circuit)
    encoded, b = encode_inputs(circuit, inputs, steps, batch, seed)
    if batch is None and b > 1:
        (check_run_memory if generic else check_input_memory)(circuit, steps, b)
    return eng.run(circuit, encoded, steps, b, seed, progress=progress)


def _check_options(engine: str, cls, options: dict) -> None:
    """``on_overflow`` must be one of :data:`ON_OVERFLOW`; every option must be one the
    engine declares in ``options_allowed`` (engines without that attribute are not checked)."""
    if "on_overflow" in options and options["on_overflow"] not in ON_OVERFLOW:
        raise InputError(f"simulate(), field 'on_overflow': is {options['on_overflow']!r}; use one of "
                         f"{list(ON_OVERFLOW)} (default 'warn').")
    allowed = getattr(cls, "options_allowed", None)
    if allowed is None:
        return
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise InputError(f"simulate(): engine '{engine}' does not take the option(s) {unknown}; it takes "
                         f"{sorted(allowed) or 'no options'}. Fix: check the spelling or drop the option.")


def _guess_batch(circuit: Circuit, inputs) -> int:
    """The batch the inputs imply, from their shapes only (nothing is converted)."""
    b = 1
    for name, data in dict(inputs or {}).items():
        src = circuit.sources.get(name) if isinstance(name, str) else None
        shape = getattr(data, "shape", None)
        if src is None or not isinstance(shape, tuple):
            continue
        timed = src.encoder == "spikes" or (src.encoder == "graded" and len(shape) == 3)
        if timed and len(shape) == 3:
            b = max(b, int(shape[1]))
        elif not timed and len(shape) == 2:
            b = max(b, int(shape[0]))
    return b
