"""Exception hierarchy of spikeattn.

Every error that a user can cause by passing bad input is a :class:`SpikeattnError`
subclass whose message names the offending field (node, edge, parameter, file) and says
how to fix it.  Engines and hardware models raise these instead of letting a traceback
from deep inside numpy, scipy or networkx escape.
"""
from __future__ import annotations


class SpikeattnError(Exception):
    """Base class of every error raised deliberately by spikeattn."""


class ValidationError(SpikeattnError, ValueError):
    """An IR object (population, projection, source, circuit) is malformed.

    ``where`` names the node or edge (e.g. ``"population 'q'"``), ``field`` the parameter.
    """

    def __init__(self, where: str, field: str | None, problem: str, fix: str | None = None):
        self.where, self.field, self.problem, self.fix = where, field, problem, fix
        msg = f"{where}" + (f", field '{field}'" if field else "") + f": {problem}"
        if fix:
            msg += f" Fix: {fix}"
        super().__init__(msg)


class ShapeMismatchError(ValidationError):
    """Array shapes of two connected IR elements disagree."""


class ParameterError(ValidationError):
    """A parameter is out of its allowed range or has the wrong type."""


class UnknownModelError(ValidationError):
    """A neuron model, encoder or node kind is not registered."""


class LoopError(ValidationError):
    """A cycle of zero-delay projections: the circuit has no well-defined update order."""


class InputError(SpikeattnError, ValueError):
    """Inputs given to :func:`spikeattn.simulate` do not fit the circuit's sources."""


class UnsupportedFeatureError(SpikeattnError):
    """An engine cannot run a node of the circuit; the message names engines that can."""


class FileFormatError(SpikeattnError):
    """A saved circuit or result file is corrupt, incomplete or from a newer format version."""


class MissingExtraError(SpikeattnError, ImportError):
    """An optional dependency (torch, brian2, lava, sanafe) is not installed."""

    def __init__(self, package: str, extra: str, purpose: str, hint: str | None = None):
        self.package, self.extra = package, extra
        msg = (f"{purpose} needs the optional package '{package}', which is not installed. "
               f"Install it with: pip install 'spikeattn[{extra}]'")
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


class EngineError(SpikeattnError, RuntimeError):
    """An engine failed to run a circuit it claims to support (environment problem)."""


class MemoryLimitError(InputError):
    """A run would need more memory than is available (or than 1 TiB); the message states
    the bytes needed.  Raised up front by :func:`spikeattn.simulate`, before allocating."""


class FileWriteError(SpikeattnError, OSError):
    """Writing a file failed (target is a folder, parent is a file, disk full, no
    permission); the message names the path.  Nothing is left behind."""


class FixedPointOverflowError(SpikeattnError, OverflowError):
    """A fixed-point value wrapped or saturated, or float state became inf/NaN, with
    ``on_overflow="raise"``; the message names the population, the step and the variable."""


class SpikeattnWarning(UserWarning):
    """Base class of spikeattn's warnings (e.g. fixed-point overflow with ``on_overflow="warn"``)."""


def require(module: str, extra: str, purpose: str, hint: str | None = None):
    """Import an optional dependency lazily, or raise :class:`MissingExtraError`."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtraError(module.split(".")[0], extra, purpose, hint) from exc

