"""One registry pattern for every pluggable kind: engines, chips, scenarios, op converters,
neuron dynamics.

A :class:`Registry` maps a name to an object.  It is filled three ways, in this order, on
first use:

1. a decorator, ``@REG.register("name")`` (or ``REG.register("name", obj)``), called when
   the defining module is imported;
2. the built-in modules listed when the registry is made (imported on first lookup, so the
   registry's own module never imports its members: no import cycle);
3. the entry points of ``group`` (``[project.entry-points."spikeattn.engines"]`` in a
   plug-in's pyproject.toml): an engine, chip or scenario kept outside this repository
   registers itself without a line changed here.  An entry point naming a module is
   imported (its decorators register); one naming an object is registered under the entry
   point's name.

A second, different object under a registered name is refused with a
:class:`DuplicateNameError` naming both sources (``replace=True`` overrides on purpose).
An unknown name raises :class:`UnknownNameError` listing the registered names.
"""
from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator, Mapping
from typing import Any

from .errors import SpikeattnError

_MISSING = object()


class UnknownNameError(SpikeattnError, KeyError):
    """A name looked up in a registry is not registered; the message lists those that are."""

    def __str__(self) -> str:          # KeyError would quote the whole message
        return str(self.args[0])


class DuplicateNameError(SpikeattnError, ValueError):
    """Two different objects were registered under one name."""


def _same(old, new) -> bool:
    """Whether ``new`` is ``old`` again (a module imported twice re-creates its objects): the
    same defining ``module.qualname`` for classes, functions and objects that name their
    ``registry_origin``; equal values for other objects (two different chip models under one
    name are a clash, one model re-created equal is not)."""
    if old is new:
        return True
    named = [inspect.isclass(o) or inspect.isroutine(o) or isinstance(getattr(o, "registry_origin", None), str)
             for o in (old, new)]
    if all(named):
        return _origin(old) == _origin(new)
    if any(named):
        return False
    try:
        return bool(old == new)
    except Exception:  # noqa: BLE001 - an object whose == fails is not the same
        return False


def _origin(obj) -> str:
    """Where ``obj`` was defined: ``module.qualname`` of a class or function; an instance may
    say so itself with a ``registry_origin`` attribute (e.g. a spec wrapping a function)."""
    if isinstance(getattr(obj, "registry_origin", None), str):
        return obj.registry_origin
    mod = getattr(obj, "__module__", None) or type(obj).__module__
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{mod}.{name}"


class Registry(Mapping):
    """Name -> object registry of one ``kind`` (e.g. ``"engine"``).

    Parameters
    ----------
    kind : str
        What the names are, for messages ("engine", "chip", "scenario").
    group : str, optional
        Entry-point group read on first use (e.g. ``"spikeattn.engines"``).
    builtin : sequence of str
        Fully qualified modules imported on first use; each registers its members.
    """

    def __init__(self, kind: str, group: str | None = None, builtin: tuple[str, ...] | list[str] = ()):
        self.kind, self.group, self.builtin = kind, group, tuple(builtin)
        self._items: dict[str, Any] = {}
        self._loaded = False
        self._loading = False

    # -- filling ---------------------------------------------------------------------
    def register(self, name: str, obj: Any = _MISSING, *, replace: bool = False):
        """Register ``obj`` under ``name``; without ``obj``, a decorator doing so."""
        if obj is _MISSING:
            def deco(o):
                self.register(name, o, replace=replace)
                return o
            return deco
        if not isinstance(name, str) or not name:
            raise DuplicateNameError(f"{self.kind} name {name!r}: must be a non-empty string.")
        old = self._items.get(name, _MISSING)
        if old is not _MISSING and not replace and not _same(old, obj):
            raise DuplicateNameError(
                f"two {self.kind}s named '{name}': {_origin(old)} and {_origin(obj)}. Fix: rename one "
                f"(names are global across plug-ins), or pass replace=True to override on purpose.")
        self._items[name] = obj
        return obj

    def load(self) -> "Registry":
        """Import the built-in modules and the entry points (once)."""
        if self._loaded or self._loading:
            return self
        self._loading = True
        try:
            for mod in self.builtin:
                importlib.import_module(mod)
            for ep in self._entry_points():
                self.register_entry_point(ep)
            self._loaded = True
        finally:
            self._loading = False
        return self

    def register_entry_point(self, ep) -> None:
        """Register one entry point: a module is imported (its decorators register), an
        object is registered under the entry point's name.  Subclasses may register lazily."""
        obj = ep.load()
        if not inspect.ismodule(obj) and self._items.get(ep.name) is not obj:
            self.register(ep.name, obj)

    def _entry_points(self) -> list:
        if not self.group:
            return []
        from importlib.metadata import entry_points
        try:
            return sorted(entry_points(group=self.group), key=lambda e: e.name)
        except Exception:  # pragma: no cover - broken installed metadata
            return []

    # -- lookup ----------------------------------------------------------------------
    def __getitem__(self, name: str):
        if name not in self._items:
            self.load()
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(
                f"unknown {self.kind} '{name}'. Registered: {', '.join(sorted(self._items)) or 'none'}.") from None

    def __contains__(self, name) -> bool:
        if name not in self._items:
            self.load()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        self.load()
        return iter(list(self._items))

    def __len__(self) -> int:
        self.load()
        return len(self._items)

    def names(self) -> list[str]:
        return sorted(self)

    def unregister(self, name: str) -> None:
        """Remove ``name`` (tests and interactive sessions)."""
        self._items.pop(name, None)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._items)} registered)"

