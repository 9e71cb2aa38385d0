"""Chips as data: every constant cited and tagged; figures equal the reference's numbers."""
import json

import pytest

import hardware_models as hm
from hardware_models.constants import TAGS

EXPECTED = ["loihi", "loihi2", "truenorth", "spinnaker1", "spinnaker2", "asic45nm", "a100", "h100",
            "jetson_orin", "cpu", "literature", "eyeriss"]  # eyeriss: issue 9 (ANN accelerator baseline)


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
    # literal numbers from the papers / files named (SANA-FE 2.2.9 loihi.yaml, Davies et al. 2018
    # Table 2, Merolla et al. 2014, KerasSpiking model_energy.py, NVIDIA datasheets)
    lo = hm.get("loihi")
    # issue 9: SANA-FE's silicon-calibrated figures are the central values, Davies' the bounds
    assert lo.c("e_ac") == pytest.approx(35.5e-12) and lo.c("e_ac", "low") == pytest.approx(23.6e-12)
    assert lo.c("e_neuron_active") == pytest.approx(72.8e-12) and lo.c("e_neuron_active", "high") == pytest.approx(81e-12)
    assert lo.c("e_neuron_idle") == pytest.approx(51.2e-12) and lo.c("e_neuron_idle", "high") == pytest.approx(52e-12)
    assert lo.c("e_route_local", "high") == pytest.approx(1.7e-12)
    assert lo.c("e_hop", "low") == pytest.approx(3.0e-12) and lo.c("e_hop", "high") == pytest.approx(4.2e-12)
    assert lo.c("t_ac") == pytest.approx(3.8e-9) and lo.c("t_receive") == pytest.approx(16e-9)
    assert lo.c("t_spike_out") == pytest.approx(30e-9) and lo.c("t_message") == pytest.approx(5.1e-9)
    assert lo.c("t_barrier_1") == pytest.approx(0.6e-6) and lo.c("t_barrier_max") == pytest.approx(1.8e-6)
    assert lo.c("t_barrier_1", "low") == pytest.approx(113e-9) and lo.c("t_barrier_max", "low") == pytest.approx(465e-9)
    assert (lo.c("t_barrier_multichip", "low"), lo.c("t_barrier_multichip", "high")) == pytest.approx((14e-6, 16e-6))
    assert lo.c("p_static_chip") == pytest.approx(3.34 / 32, rel=0.01)
    assert lo.limits.cores_per_chip == 128 and lo.limits.neurons == 1024
    assert lo.limits.synaptic_memory_bytes == 128 * 1024 and lo.limits.fan_in == lo.limits.fan_out == 4096
    tn = hm.get("truenorth")
    assert tn.c("e_all_in") == pytest.approx(26e-12) and not tn.all_in
    assert tn.c("p_static_chip", "high") == pytest.approx(63e-3)        # the whole chip on Merolla's video benchmark
    assert tn.limits.cores_per_chip == 4096
    assert hm.get("spinnaker1").c("e_ac") == pytest.approx(13.3e-9)
    assert hm.get("spinnaker1").c("e_neuron_active") == pytest.approx(26e-9)
    assert hm.get("spinnaker2").c("e_ac") == pytest.approx(450e-12)
    assert hm.get("spinnaker2").c("e_neuron_active") == pytest.approx(2.19e-9)
    assert "28 nm" in hm.get("spinnaker2").title
    assert hm.get("literature").c("e_mac") == pytest.approx(4.6e-12)
    assert hm.get("literature").c("e_ac") == pytest.approx(0.9e-12)
    assert hm.get("a100").c("peak_flops_fp16") == 312e12 and hm.get("a100").c("p_tdp") == 400
    assert hm.get("h100").c("peak_flops_fp16") == 989e12 and hm.get("h100").c("p_tdp") == 700
    assert hm.get("h100").c("mem_bandwidth") == 3.35e12 and hm.get("a100").c("mem_bandwidth") == 2.04e12
    # issue 9: energy per FLOP is defined once, as the dynamic (TDP - idle) / peak
    assert hm.get("h100").c("e_flop_fp16") == pytest.approx((700 - 70) / 989e12, rel=1e-9)
    assert hm.get("a100").c("e_flop_fp16") == pytest.approx((400 - 60) / 312e12, rel=1e-9)


@pytest.mark.parametrize("name", EXPECTED)
def test_every_model_states_its_accounting(name):
    """Issue 9: every model says what static power it charges (or why none), its operating
    mode and its host / IO overheads; every neuromorphic chip charges static power."""
    m = hm.get(name)
    acc = m.accounting()
    assert acc["operating_mode"] in ("unthrottled", "fixed-step", "n/a") and acc["host_io"]
    assert (acc["static_power"] is None) != (acc["static_not_modelled_because"] is None)
    if m.kind in ("neuromorphic", "gpu"):
        sp = acc["static_power"]
        assert sp is not None and 0 <= sp["low_w"] <= sp["value_w"] <= sp["high_w"] and len(sp["source"]) > 10
    if acc["operating_mode"] == "fixed-step":
        assert acc["t_step_s"] > 0


def test_jetson_figures_are_consistent():
    j = hm.get("jetson_orin")
    # 64 tensor cores x 512 FLOP/clk x 1.3 GHz = 42.6 TFLOP/s; GPU 170 sparse INT8 TOPS / 4 = 42.5
    assert j.c("peak_flops_fp16") == pytest.approx(64 * 512 * 1.3e9, rel=0.01)
    assert j.c("e_flop_fp16", "low") > 0                 # the low bound keeps a compute energy


def test_no_constant_cites_a_file_outside_the_repository():
    for name in EXPECTED:
        m = hm.get(name)
        text = json.dumps(m.to_dict())
        assert "energy_constants.md" not in text and "anchors.md" not in text, name


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
        registry.CHIPS.unregister("literature_int8")
