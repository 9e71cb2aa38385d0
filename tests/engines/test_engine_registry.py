"""The engine registry (spikeattn.engines.ENGINES) on the one registry pattern
(spikeattn.registry.Registry): built-ins lazy, register_engine, duplicates refused, and an
out-of-tree engine registered through an entry point of the group ``spikeattn.engines``."""
from __future__ import annotations

import subprocess
import sys

import pytest

from spikeattn.engines import ENGINES, Engine, base, engine_class, register_engine
from spikeattn.engines.numpy.engine import NumpyEngine
from spikeattn.errors import SpikeattnError
from spikeattn.registry import DuplicateNameError, Registry


def test_engines_is_a_registry_with_the_builtin_engines_in_order():
    assert isinstance(ENGINES, Registry)
    assert ENGINES.kind == "engine" and ENGINES.group == "spikeattn.engines"
    assert [n for n in ENGINES if n in ("numpy", "brian2", "lava", "compiled", "torch")] == \
        ["numpy", "brian2", "lava", "compiled", "torch"]
    assert "numpy" in ENGINES and "no-such-engine" not in ENGINES
    assert engine_class("numpy") is NumpyEngine
    with pytest.raises(SpikeattnError, match=r"unknown engine 'no-such-engine'; choose one of \["):
        engine_class("no-such-engine")


def test_listing_the_engines_imports_no_engine():
    code = ("import sys\nfrom spikeattn.engines import ENGINES\n"
            "names = sorted(ENGINES); assert 'torch' in ENGINES and 'lava' in names\n"
            "heavy = [m for m in ('torch', 'brian2', 'numba', 'lava', 'spikeattn.engines.torch.engine',"
            " 'spikeattn.engines.brian2.engine', 'spikeattn.engines.compiled.engine') if m in sys.modules]\n"
            "print(heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_register_engine_class_path_and_decorator_and_duplicates_refused():
    class Mine(Engine):
        name = "mine"

    try:
        register_engine("mine", Mine)
        assert engine_class("mine") is Mine and "mine" in list(ENGINES)
        register_engine("mine", Mine)                       # the same engine again: no duplicate
        with pytest.raises(DuplicateNameError, match=r"two engines named 'mine'"):
            register_engine("mine", "some.module:Other")
        assert ENGINES.pop("mine") is Mine and "mine" not in ENGINES

        @register_engine("mine")
        class Decorated(Engine):
            name = "mine"

        assert engine_class("mine") is Decorated
        ENGINES.pop("mine")
        register_engine("mine", "spikeattn.engines.numpy.engine:NumpyEngine")    # lazy path
        assert engine_class("mine") is NumpyEngine
        register_engine("mine", NumpyEngine)                # the class its path names: no duplicate
    finally:
        ENGINES.pop("mine", None)
    with pytest.raises(DuplicateNameError, match=r"two engines named 'numpy'"):
        register_engine("numpy", Mine)
    assert engine_class("numpy") is NumpyEngine


def test_an_out_of_tree_engine_registers_through_its_entry_point(tmp_path, monkeypatch):
    """A dist-info entry point ``plugnp = plugeng_mod:PlugEngine`` in a group: listing the
    engines names it without importing the plug-in; engine_class imports it."""
    group = f"spikeattn.test_engines_{tmp_path.name.replace('-', '_')}"
    (tmp_path / "plugeng_mod.py").write_text(
        "from spikeattn.engines.numpy.engine import NumpyEngine\n"
        "class PlugEngine(NumpyEngine):\n    name = 'plugnp'\n")
    info = tmp_path / "plugeng-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plugeng\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{group}]\nplugnp = plugeng_mod:PlugEngine\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path)] + sys.path)
    sys.modules.pop("plugeng_mod", None)
    reg = base.EngineRegistry("engine", group=group)
    reg.register("numpy", base.LazyEngine("spikeattn.engines.numpy.engine:NumpyEngine"))
    monkeypatch.setattr(base, "ENGINES", reg)
    try:
        assert list(reg) == ["numpy", "plugnp"]
        assert "plugeng_mod" not in sys.modules           # named, not imported
        cls = engine_class("plugnp")
        assert cls.__name__ == "PlugEngine" and cls.name == "plugnp"
    finally:
        sys.modules.pop("plugeng_mod", None)
