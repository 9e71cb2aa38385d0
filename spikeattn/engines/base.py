"""Engine interface and registry.

An engine lowers a :class:`~spikeattn.ir.Circuit` and runs it on already-encoded inputs
(``source -> (steps, batch, size)``), returning a :class:`~spikeattn.SimResult`.  Engines
declare the feature keys they support (see :mod:`spikeattn.engines.features`) and, for
the ones they do not, why.  Engine classes are registered by name and imported lazily, so
the core never imports brian2 or lava.
"""
from __future__ import annotations

import importlib
from typing import ClassVar

import numpy as np

from ..errors import ParameterError, SpikeattnError, UnsupportedFeatureError
from ..ir import Circuit
from ..result import SimResult
from .features import required_features

ENGINES: dict[str, str] = {
    "numpy": "spikeattn.engines.numpy.engine:NumpyEngine",
    "brian2": "spikeattn.engines.brian2.engine:Brian2Engine",
    "lava": "spikeattn.engines.lava.engine:LavaEngine",
    "compiled": "spikeattn.engines.compiled.engine:CompiledEngine",
    "torch": "spikeattn.engines.torch.engine:TorchEngine",
}


class Engine:
    """Base class.  Subclasses set ``name``, ``supported`` (feature keys), ``unsupported``
    (feature key -> reason) and ``options_allowed`` (the keyword options of ``simulate()``
    they accept; any other is refused, naming the allowed ones) and implement :meth:`run`."""

    name: ClassVar[str] = "abstract"
    supported: ClassVar[frozenset[str]] = frozenset()
    unsupported: ClassVar[dict[str, str]] = {}
    options_allowed: ClassVar[frozenset[str]] = frozenset()
    #: Named option sets under which the engine claims its ``supported`` features; the
    #: conformance suite (``tests/conformance``) runs every case in each of them.
    configurations: ClassVar[dict[str, dict]] = {"default": {}}
    #: Whether the engine reports ``SimResult.diagnostics`` (overflow / saturation / non-finite).
    reports_diagnostics: ClassVar[bool] = False
    #: Whether the engine runs structured projections (shared, index, conv, product) as they
    #: are; ``simulate()`` gives every other engine the circuit's expansion (``Circuit.expand``).
    runs_structured: ClassVar[bool] = False
    #: Whether the engine estimates the memory of a run itself, from what it will actually hold
    #: (e.g. only the recorded nodes), and refuses before allocating; ``simulate()`` then skips
    #: its generic estimate (:func:`spikeattn.validation.check_run_memory`), which assumes every
    #: node is recorded.
    estimates_memory: ClassVar[bool] = False

    def __init__(self, **options):
        unknown = sorted(set(options) - set(self.options_allowed))
        if unknown:
            raise ParameterError(f"engine '{self.name}'", unknown[0], "is not an option of this engine.",
                                 f"use one of {sorted(self.options_allowed)}.")
        self.options = options

    @classmethod
    def unavailable(cls) -> str | None:
        """None if the engine can run in this interpreter, else why not (e.g. a missing extra)."""
        return None

    @classmethod
    def missing_features(cls, circuit: Circuit) -> list[tuple[str, str]]:
        return [(el, f) for el, f in required_features(circuit, native=cls.runs_structured)
                if f not in cls.supported]

    def check(self, circuit: Circuit) -> None:
        missing = self.missing_features(circuit)
        if missing:
            el, f = missing[0]
            others = [n for n in ENGINES if n != self.name and engine_supports(n, circuit)]
            reason = self.unsupported.get(f, "not implemented")
            raise UnsupportedFeatureError(
                f"engine '{self.name}' cannot run {el}: it needs '{f}' ({reason}). "
                + (f"Engines that can run this circuit: {others}." if others
                   else "No registered engine supports every feature of this circuit."))

    def run(self, circuit: Circuit, inputs: dict[str, np.ndarray], steps: int, batch: int,
            seed: int, progress: bool = False) -> SimResult:  # pragma: no cover - abstract
        raise NotImplementedError


def register_engine(name: str, target: str | type) -> None:
    """Register an engine class (or ``"module:Class"`` path, imported on first use)."""
    ENGINES[name] = target


def engine_class(name: str) -> type[Engine]:
    if name not in ENGINES:
        raise SpikeattnError(f"unknown engine '{name}'; choose one of {sorted(ENGINES)}.")
    target = ENGINES[name]
    if isinstance(target, str):
        mod, cls = target.split(":")
        target = getattr(importlib.import_module(mod), cls)
    return target


def engine_supports(name: str, circuit: Circuit) -> bool:
    """Whether engine ``name`` can run ``circuit`` in this interpreter (installed and claiming
    every feature the circuit uses)."""
    try:
        cls = engine_class(name)
        return not cls.unavailable() and not cls.missing_features(circuit)
    except ImportError:
        return False
