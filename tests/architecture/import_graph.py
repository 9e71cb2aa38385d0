"""The project's own import graph, read from the source with ``ast`` (nothing is imported).

Every ``import`` and ``from ... import`` statement counts, at module level or inside a
function: an import hidden in a function body still makes the two modules depend on each
other, it only delays the failure.  An edge ``a -> b`` means module ``a`` names module
``b`` (``from pkg import name`` names ``pkg.name`` when that is a module, else ``pkg``).

Layers, lowest first; a module may import its own layer and the layers below it:

====  =====================================================================================
rank  modules
====  =====================================================================================
0     core: ``spikeattn`` IR, dynamics, counts, schema, errors, files (all not listed below)
1     engines: ``spikeattn.engines``, ``spikeattn.simulate``, ``spikeattn.metrics``
2     built on the engines: ``spikeattn`` (the package root re-exports ``simulate``),
      ``spikeattn.circuits``, ``spikeattn.convert``, ``spikeattn.models`` (built-in models,
      datasets, direct training), ``spikeattn.plots``, ``spikeattn.report``
3     ``hardware_models``
4     ``scenarios``
5     command lines: ``spikeattn.cli`` and every ``*.cli`` / ``*_cli`` module
====  =====================================================================================
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("spikeattn", "hardware_models", "scenarios")

LAYERS = {  # module prefix -> rank; the longest matching prefix wins
    "spikeattn": 0,
    "spikeattn.engines": 1, "spikeattn.simulate": 1, "spikeattn.metrics": 1,
    "spikeattn.circuits": 2, "spikeattn.convert": 2, "spikeattn.models": 2, "spikeattn.plots": 2,
    "spikeattn.report": 2,
    "hardware_models": 3,
    "scenarios": 4,
    "spikeattn.cli": 5,
}
ROOT_RANK = 2          # the package root ``spikeattn/__init__`` re-exports ``simulate``


@dataclass
class Import:
    source: str                 # importing module
    target: str                 # imported module
    line: int
    names: list = field(default_factory=list)   # names taken with ``from target import ...``


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _resolve(name: str, mods) -> str | None:
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def imports(mods: dict[str, Path] | None = None) -> list[Import]:
    """Every import of one project module by another."""
    mods = modules() if mods is None else mods
    found = []
    for mod, path in mods.items():
        package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                pairs = [(a.name, []) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
                pairs = [(f"{base}.{a.name}", []) if f"{base}.{a.name}" in mods else (base, [a.name])
                         for a in node.names]
            else:
                continue
            for name, names in pairs:
                target = _resolve(name, mods)
                if target and target != mod:
                    found.append(Import(mod, target, node.lineno, names))
    return found


def rank(mod: str) -> int:
    if mod == "spikeattn":
        return ROOT_RANK
    if mod.endswith(".cli") or mod.endswith("_cli"):
        return LAYERS["spikeattn.cli"]
    best = max((p for p in LAYERS if mod == p or mod.startswith(p + ".")), key=len)
    return LAYERS[best]


def cycles(found: list[Import]) -> list[list[str]]:
    """Strongly connected groups of more than one module (each holds at least one cycle)."""
    import networkx as nx
    graph = nx.DiGraph((i.source, i.target) for i in found)
    return sorted(sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1)


def upward(found: list[Import]) -> list[Import]:
    return [i for i in found if rank(i.target) > rank(i.source)]


def _package(mod: str, mods) -> str:
    return mod if mods[mod].name == "__init__.py" else mod.rpartition(".")[0]


def private_imports(found: list[Import], mods=None, across: str = "package") -> list[Import]:
    """Imports of another module's ``_private`` names; ``across='package'`` keeps those whose
    two modules sit in different packages, ``'module'`` every one."""
    mods = modules() if mods is None else mods
    out = []
    for i in found:
        private = [n for n in i.names if n.startswith("_") and not n.startswith("__")]
        if private and (across == "module" or _package(i.source, mods) != _package(i.target, mods)):
            out.append(Import(i.source, i.target, i.line, private))
    return out


def describe(found: list[Import], mods=None) -> str:
    mods = modules() if mods is None else mods
    return "\n".join(f"  {mods[i.source].relative_to(ROOT)}:{i.line} -> {i.target}"
                     f"{' ' + ', '.join(i.names) if i.names else ''}" for i in found)
