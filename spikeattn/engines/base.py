"""Engine interface and registry.

An engine lowers a :class:`~spikeattn.ir.Circuit` and runs it on already-encoded inputs
(``source -> (steps, batch, size)``), returning a :class:`~spikeattn.SimResult`.  Engines
declare the feature keys they support (see :mod:`spikeattn.engines.features`) and, for
the ones they do not, why.

Engines are registered by name in :data:`ENGINES`, a :class:`spikeattn.registry.Registry`
(kind ``"engine"``, entry-point group ``spikeattn.engines``), the one registry pattern of
the project:

- the built-in engines are registered here as lazy ``"module:Class"`` paths
  (:class:`LazyEngine`), imported by :func:`engine_class` on first use, so the core never
  imports brian2, lava, numba or torch;
- :func:`register_engine` (``register_engine("name", EngineClass)``, a ``"module:Class"``
  path, or ``@register_engine("name")`` on a class) adds one at run time;
- an out-of-tree package adds one without a line changed here, with an entry point::

      [project.entry-points."spikeattn.engines"]
      myengine = "my_package.engine:MyEngine"

  (read on the first iteration of :data:`ENGINES` or lookup of an unknown name).

A second, different engine under a registered name is refused
(:class:`~spikeattn.registry.DuplicateNameError` naming both).  A registered engine gets the
conformance suite (``tests/conformance``) in each of its ``configurations``; an out-of-tree
engine runs it too (see ``tests/conformance/README.md``).
"""
from __future__ import annotations

import importlib
from typing import ClassVar

import numpy as np

from ..errors import ParameterError, SpikeattnError, UnsupportedFeatureError
from ..ir import Circuit
from ..registry import Registry
from ..result import SimResult
from .features import required_features

_MISSING = object()


class LazyEngine:
    """An engine class named by its ``"module:Class"`` path, imported on first use."""

    def __init__(self, path: str):
        mod, sep, cls = path.partition(":")
        if not sep or not mod or not cls:
            raise SpikeattnError(f"engine path {path!r}: expected 'module:Class'.")
        self.path = path
        #: the class's ``module.qualname``, so that the path and the class it names count as
        #: one engine (registering both under one name is no duplicate)
        self.registry_origin = f"{mod}.{cls}"

    def load(self) -> type:
        mod, _, attr = self.path.partition(":")
        obj = importlib.import_module(mod)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj

    def __repr__(self) -> str:
        return f"LazyEngine({self.path!r})"


class EngineRegistry(Registry):
    """:class:`~spikeattn.registry.Registry` of engines, usable as the name -> target mapping
    :data:`ENGINES` always was: ``name in ENGINES``, iteration in registration order,
    ``ENGINES.pop(name)`` (tests removing an engine they registered).

    An entry point naming an object (``"pkg.module:EngineClass"``) is registered as a
    :class:`LazyEngine`, so a plug-in is imported only when it is used, as the built-in
    engines are; one naming a module is imported (its :func:`register_engine` calls register)."""

    def register_entry_point(self, ep) -> None:
        """An object entry point is registered as a :class:`LazyEngine` (imported on first
        use); a module entry point is imported (its :func:`register_engine` calls register).
        An engine and the ``"module:Class"`` path naming it are one engine (their
        ``registry_origin``), so registering both under one name is no duplicate."""
        if ":" in ep.value:
            self.register(ep.name, LazyEngine(ep.value.split("[")[0].strip()))
        else:
            ep.load()

    def pop(self, name: str, default=_MISSING):
        if name in self._items:
            return self._items.pop(name)
        if default is _MISSING:
            raise KeyError(name)
        return default


ENGINES: EngineRegistry = EngineRegistry("engine", group="spikeattn.engines")
for _name, _path in (("numpy", "spikeattn.engines.numpy.engine:NumpyEngine"),
                     ("brian2", "spikeattn.engines.brian2.engine:Brian2Engine"),
                     ("lava", "spikeattn.engines.lava.engine:LavaEngine"),
                     ("compiled", "spikeattn.engines.compiled.engine:CompiledEngine"),
                     ("torch", "spikeattn.engines.torch.engine:TorchEngine")):
    ENGINES.register(_name, LazyEngine(_path))
del _name, _path


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


def register_engine(name: str, target: str | type = _MISSING):
    """Register an engine class, or a ``"module:Class"`` path imported on first use, under
    ``name``; without ``target``, a class decorator doing so.  A different engine already
    registered under ``name`` is refused (:class:`~spikeattn.registry.DuplicateNameError`)."""
    if target is _MISSING:
        def deco(cls):
            register_engine(name, cls)
            return cls
        return deco
    ENGINES.register(name, LazyEngine(target) if isinstance(target, str) else target)
    return target


def engine_class(name: str) -> type[Engine]:
    if name not in ENGINES:
        raise SpikeattnError(f"unknown engine '{name}'; choose one of {sorted(ENGINES)}.")
    target = ENGINES[name]
    if isinstance(target, LazyEngine):
        target = target.load()
    return target


def engine_supports(name: str, circuit: Circuit) -> bool:
    """Whether engine ``name`` can run ``circuit`` in this interpreter (installed and claiming
    every feature the circuit uses)."""
    try:
        cls = engine_class(name)
        return not cls.unavailable() and not cls.missing_features(circuit)
    except ImportError:
        return False
