"""spikeattn.convert.registry: op converters through the one registry pattern
(:class:`spikeattn.registry.Registry`): built-in converters load on first lookup, a second
converter for an op is refused unless ``replace=True``."""
from __future__ import annotations

import pytest

from spikeattn.convert import registry, register_op, supported_ops
from spikeattn.registry import DuplicateNameError, Registry


def test_the_op_converters_are_a_registry_with_builtins_loaded_on_lookup():
    assert isinstance(registry.OPS, Registry) and registry.OPS.group == "spikeattn.ops"
    from spikeattn.convert.ops.linear import linear_op
    assert registry.lookup("aten.linear.default") is linear_op
    ops = supported_ops()
    assert "aten.linear.default" in ops and "aten.embedding.default" in ops and ops == sorted(ops)
    assert "spikeattn.token_select.default" in ops
    assert registry.lookup("aten.no_such_op.default") is None


def test_a_second_converter_for_one_op_is_refused_unless_replace():
    from spikeattn.convert.ops.linear import linear_op

    def my_linear(ctx, node, *args):
        return None

    with pytest.raises(DuplicateNameError, match=r"aten\.linear\.default.*linear_op.*my_linear"):
        register_op("aten.linear.default")(my_linear)
    assert registry.lookup("aten.linear.default") is linear_op
    try:
        assert register_op("aten.linear.default", replace=True)(my_linear) is my_linear
        assert registry.lookup("aten.linear.default") is my_linear
    finally:
        registry.OPS.register("aten.linear.default", linear_op, replace=True)
    assert registry.lookup("aten.linear.default") is linear_op


def test_a_new_op_registers_by_name_and_by_torch_overload():
    torch = pytest.importorskip("torch")

    def conv(ctx, node, *args):
        return None

    try:
        register_op("aten.my_test_op.default", torch.ops.aten.sinc.default)(conv)
        assert registry.lookup("aten.my_test_op.default") is conv
        assert registry.lookup(torch.ops.aten.sinc.default) is conv
        assert {"aten.my_test_op.default", "aten.sinc.default"} <= set(supported_ops())
        register_op("aten.my_test_op.default")(conv)            # the same converter again: harmless
    finally:
        registry.OPS.unregister("aten.my_test_op.default")
        registry.OPS.unregister("aten.sinc.default")
