"""spikeattn.registry: decorator, built-in modules, entry points of an out-of-tree plug-in,
refusal of a duplicate name."""
from __future__ import annotations

import sys

import pytest

from spikeattn.errors import SpikeattnError
from spikeattn.registry import DuplicateNameError, Registry, UnknownNameError


def _plugin(tmp_path, group: str, name: str, value: str, module_src: str):
    """An installed out-of-tree distribution: a module plus a dist-info with one entry point."""
    (tmp_path / "myplugin_mod.py").write_text(module_src)
    info = tmp_path / "myplugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: myplugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{name} = {value}\n")
    sys.path.insert(0, str(tmp_path))


def test_decorator_lookup_and_unknown_name_lists_the_choices():
    reg = Registry("widget")

    @reg.register("a")
    def a():
        return 1

    assert reg["a"] is a and "a" in reg and list(reg) == ["a"] and len(reg) == 1
    with pytest.raises(UnknownNameError, match=r"unknown widget 'b'\. Registered: a\.") as exc:
        reg["b"]
    assert isinstance(exc.value, SpikeattnError) and isinstance(exc.value, KeyError)
    assert reg.get("b") is None             # Mapping.get works through KeyError


def test_a_second_object_under_one_name_is_refused_naming_both():
    reg = Registry("engine")
    reg.register("x", int)
    reg.register("x", int)                  # the same object again: harmless (re-import)
    with pytest.raises(DuplicateNameError, match=r"two engines named 'x': builtins.int and builtins.float"):
        reg.register("x", float)
    reg.register("x", float, replace=True)
    assert reg["x"] is float


def test_builtin_modules_load_on_first_lookup(tmp_path, monkeypatch):
    (tmp_path / "reg_builtin_mod.py").write_text(
        "from spikeattn.registry import Registry\nREG = Registry('thing', builtin=['reg_builtin_member'])\n")
    (tmp_path / "reg_builtin_member.py").write_text(
        "from reg_builtin_mod import REG\n@REG.register('t1')\nclass T1: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import reg_builtin_mod
    assert "reg_builtin_member" not in sys.modules
    assert reg_builtin_mod.REG.names() == ["t1"]


@pytest.mark.parametrize("value", ["myplugin_mod:Thing", "myplugin_mod"])
def test_an_out_of_tree_plugin_registers_through_its_entry_point(tmp_path, monkeypatch, value):
    """An object entry point is registered under the entry point's name; a module entry
    point registers through its own decorator when imported."""
    group = f"spikeattn.test_{tmp_path.name.replace('-', '_')}"
    src = ("import spikeattn.registry as r\nREG = None\nclass Thing: pass\n"
           "import sys\nreg = sys.modules['__reg_under_test__']\n"
           "if reg is not None and ':' not in " + repr(value) + ":\n    reg.register('plug', Thing)\n")
    reg = Registry("engine", group=group)
    sys.modules["__reg_under_test__"] = reg
    monkeypatch.setattr(sys, "path", list(sys.path))
    sys.modules.pop("myplugin_mod", None)
    try:
        _plugin(tmp_path, group, "plug", value, src)
        assert reg.names() == ["plug"]
        assert reg["plug"].__name__ == "Thing"
    finally:
        sys.modules.pop("__reg_under_test__", None)
        sys.modules.pop("myplugin_mod", None)


def test_instances_clash_unless_equal():
    """Objects without a defining name (e.g. two chip models) are the same only when equal."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Chip:
        joules: float

    reg = Registry("chip")
    reg.register("c", Chip(1.0))
    reg.register("c", Chip(1.0))            # re-created equal (a module imported twice)
    with pytest.raises(DuplicateNameError, match="two chips named 'c'"):
        reg.register("c", Chip(2.0))
    with pytest.raises(DuplicateNameError):
        reg.register("c", Chip)             # a class where an instance was
