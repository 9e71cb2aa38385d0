"""Run the conformance suite against chosen engines, an out-of-tree one included.

``pytest tests/conformance --engine NAME`` (repeatable; or ``SPIKEATTN_CONFORMANCE_ENGINES=a,b``)
keeps the cases of those engines only.  A plug-in engine registered through the entry-point
group ``spikeattn.engines`` (or by ``register_engine`` in a module given with ``-p``) is in
``spikeattn.engines.ENGINES``, so the suite runs every case it claims in each of its
``configurations``; see ``README.md`` here.
"""
from __future__ import annotations

import os

import pytest


def pytest_addoption(parser):
    parser.addoption("--engine", action="append", default=[], metavar="NAME",
                     help="run the conformance cases of this registered engine only (repeatable)")


def selected_engines(config) -> set[str]:
    names = list(config.getoption("--engine", default=[]) or [])
    names += [n.strip() for n in os.environ.get("SPIKEATTN_CONFORMANCE_ENGINES", "").split(",") if n.strip()]
    return set(names)


def pytest_collection_modifyitems(config, items):
    chosen = selected_engines(config)
    if not chosen:
        return
    from spikeattn.engines import ENGINES
    unknown = sorted(chosen - set(ENGINES))
    if unknown:
        raise pytest.UsageError(f"--engine {unknown}: not registered; registered engines: {sorted(ENGINES)} "
                                "(a plug-in registers through the entry-point group 'spikeattn.engines')")
    keep, drop = [], []
    for item in items:
        engine = getattr(item, "callspec", None) and item.callspec.params.get("engine")
        (drop if engine is not None and engine not in chosen else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
