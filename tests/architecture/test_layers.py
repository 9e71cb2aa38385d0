"""The one-way data path, checked on the source: no import cycles, no import from a lower
layer into a higher one, no module taking another module's ``_private`` names.  The
layers are declared in ``import_graph.LAYERS`` (see docs/ARCHITECTURE.md)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import import_graph as graph  # noqa: E402

MODS = graph.modules()
FOUND = graph.imports(MODS)


def test_the_graph_reader_sees_the_imports_it_must():
    """Guards the checks below against an empty graph: known edges, one of them inside a
    function body, are found, and a known layer order holds."""
    edges = {(i.source, i.target) for i in FOUND}
    assert ("spikeattn", "spikeattn.simulate") in edges
    assert ("hardware_models.estimator", "spikeattn.counts") in edges or \
           any(s.startswith("hardware_models") and t.startswith("spikeattn") for s, t in edges)
    assert len(MODS) > 150 and len(FOUND) > 500
    assert graph.rank("spikeattn.ir.circuit") < graph.rank("spikeattn.engines.numpy.engine") \
        < graph.rank("spikeattn.convert.api") < graph.rank("hardware_models.estimator") \
        < graph.rank("scenarios.results") < graph.rank("spikeattn.cli")


def test_no_import_cycles():
    groups = graph.cycles(FOUND)
    assert not groups, "import cycles (counting imports inside functions):\n" + "\n".join(
        "  " + " <-> ".join(g) for g in groups)


def test_no_import_runs_back_up_the_layers():
    up = graph.upward(FOUND)
    assert not up, "imports from a lower layer into a higher one:\n" + graph.describe(up, MODS)


def test_no_private_names_taken_from_another_module():
    """Stricter than the issue's target (across packages): no module takes another module's
    ``_private`` name, so a private name can change without reading any other file."""
    priv = graph.private_imports(FOUND, MODS, across="module")
    assert not priv, "_private names imported from another module (make them public):\n" + \
        graph.describe(priv, MODS)
