"""Chips as data: every constant cited and tagged; figures equal the reference's numbers."""
import json

import pytest

import hardware_models as hm
from hardware_models.constants import TAGS

EXPECTED = ["loihi", "loihi2", "truenorth", "spinnaker1", "spinnaker2", "asic45nm", "a100", "h100",
            "jetson_orin", "cpu", "literature"]


def test_registry_has_exactly_the_issue_models():
    assert sorted(hm.names()) == sorted(EXPECTED)
    assert hm.get("Jetson-Orin").name == "jetson_orin"


@pytest.mark.parametrize("name", EXPECTED)
def test_every_constant_has_source_tag_and_ordered_range(name):
    m = hm.get(name)
    assert m.constants, name
    for key, c in m.constants.items():
        assert c.tag in TAGS, (name, key)
        assert len(c.source) > 10, (name, key)
        assert c.low <= c.value <= c.high, (name, key)
        assert c.unit
    json.dumps(m.to_dict())  # JSON-ready


@pytest.mark.parametrize("name", ["loihi", "loihi2", "truenorth", "spinnaker1", "spinnaker2"])
def test_neuromorphic_chips_have_core_limits(name):
    lim = hm.get(name).limits
    assert lim is not None and lim.cores_per_chip > 0 and lim.source


def test_figures_match_energy_constants_reference():
    # numbers copied from shared/reference/energy_constants.md (the independent source)
    lo = hm.get("loihi")
    assert lo.c("e_ac") == pytest.approx(23.6e-12)
    assert lo.c("e_neuron_active") == pytest.approx(81e-12) and lo.c("e_neuron_idle") == pytest.approx(52e-12)
    assert lo.c("e_route_local") == pytest.approx(1.7e-12)
    assert lo.c("e_hop", "low") == pytest.approx(3.0e-12)
    assert lo.c("t_ac") == pytest.approx(3.5e-9)
    assert lo.c("t_barrier_1") == pytest.approx(113e-9) and lo.c("t_barrier_max") == pytest.approx(465e-9)
    assert lo.c("p_static_chip") == pytest.approx(3.34 / 32, rel=0.01)
    assert lo.limits.cores_per_chip == 128 and lo.limits.neurons == 1024
    assert lo.limits.synaptic_memory_bytes == 128 * 1024 and lo.limits.fan_in == lo.limits.fan_out == 4096
    assert hm.get("truenorth").c("e_all_in") == pytest.approx(26e-12) and hm.get("truenorth").all_in
    assert hm.get("truenorth").limits.cores_per_chip == 4096
    assert hm.get("spinnaker1").c("e_ac") == pytest.approx(13.3e-9)
    assert hm.get("spinnaker1").c("e_neuron_active") == pytest.approx(26e-9)
    assert hm.get("spinnaker2").c("e_ac") == pytest.approx(450e-12)
    assert hm.get("spinnaker2").c("e_neuron_active") == pytest.approx(2.19e-9)
    assert hm.get("literature").c("e_mac") == pytest.approx(4.6e-12)
    assert hm.get("literature").c("e_ac") == pytest.approx(0.9e-12)
    assert hm.get("a100").c("peak_flops_fp16") == 312e12 and hm.get("a100").c("p_tdp") == 400
    assert hm.get("h100").c("peak_flops_fp16") == 989e12 and hm.get("h100").c("p_tdp") == 700
    assert hm.get("h100").c("mem_bandwidth") == 3.35e12 and hm.get("a100").c("mem_bandwidth") == 2.04e12
    # derived per-FLOP figures: 0.71 (H100 FP16) and 1.28 (A100 FP16) pJ at TDP and peak
    assert hm.get("h100").c("e_flop_fp16") == pytest.approx(0.71e-12, rel=0.01)
    assert hm.get("a100").c("e_flop_fp16") == pytest.approx(1.28e-12, rel=0.01)


def test_loihi2_states_its_scaling_assumption():
    l1, l2 = hm.get("loihi"), hm.get("loihi2")
    for key in ("e_ac", "e_neuron_active", "e_hop", "p_static_chip"):
        c1, c2 = l1.constants[key], l2.constants[key]
        assert (c2.low, c2.value, c2.high) == pytest.approx((c1.low * 0.25, c1.value * 0.5, c1.high * 1.0))
        assert "assumption" in c2.source and c2.tag == "D"
    assert any("No per-op energies are published" in n for n in l2.notes)


def test_unknown_figures_are_said_to_be_unknown():
    j = hm.get("jetson_orin")
    assert "not published" in j.constants["peak_flops_fp16"].source
    assert "unknown" in j.constants["p_idle"].source
    assert any("static power" in n for n in hm.get("spinnaker1").notes)


def test_register_a_user_model():
    m = hm.get("literature")
    from dataclasses import replace
    mine = replace(m, name="literature_int8", constants={**m.constants})
    from hardware_models import registry
    try:
        hm.register(mine)
        assert hm.get("literature_int8") is mine
        with pytest.raises(hm.UnknownHardwareError, match="already registered"):
            hm.register(mine)
    finally:
        registry._MODELS.pop("literature_int8", None)
