"""Chips through the one registry pattern (spikeattn.registry.Registry): a second, different
chip under a registered name is refused; a chip registered from outside the package is found."""
from dataclasses import replace

import pytest

import hardware_models as hm
from hardware_models import registry
from hardware_models.chips import CHIP_MODULES
from spikeattn.registry import DuplicateNameError


def test_the_chips_are_a_spikeattn_registry_listing_the_builtin_modules_once():
    assert registry.CHIPS.kind == "chip" and registry.CHIPS.group == "spikeattn.hardware"
    assert registry.CHIPS.builtin == tuple(f"hardware_models.chips.{m}" for m in CHIP_MODULES)
    assert hm.names() == list(CHIP_MODULES)          # each module is named after its chip, listed in order


def test_a_second_chip_under_a_registered_name_is_refused():
    loihi = hm.get("loihi")
    other = replace(hm.get("truenorth"), name="loihi")
    with pytest.raises(DuplicateNameError, match="'loihi' is already registered"):
        hm.register(other)
    with pytest.raises(hm.UnknownHardwareError):          # the error register raised before
        hm.register(other)
    assert hm.get("loihi") is loihi


def test_a_chip_registered_from_outside_the_package_is_found():
    mine = replace(hm.get("h100"), name="my_gpu", title="an out-of-tree GPU")
    try:
        assert hm.register(mine) is mine
        assert hm.get("my_gpu") is mine and hm.get("My-GPU") is mine
        assert "my_gpu" in hm.names() and "my_gpu" in hm.names("gpu") and "my_gpu" not in hm.names("neuromorphic")
        assert hm.names()[:len(CHIP_MODULES)] == list(CHIP_MODULES)   # the built-ins keep their order
        fixed = replace(mine, title="measured")
        assert hm.register(fixed, replace=True) is fixed and hm.get("my_gpu") is fixed
    finally:
        registry.CHIPS.unregister("my_gpu")
    with pytest.raises(hm.UnknownHardwareError, match="unknown hardware 'my_gpu'"):
        hm.get("my_gpu")
