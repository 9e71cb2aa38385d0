"""SANA-FE architecture descriptions used by :mod:`hardware_models.sanafe_engine`, and their unit costs.

YAML files in this folder (each says in its header where its figures come from):

``loihi.yaml``              SANA-FE 2.2.9's Loihi (silicon-calibrated), 256 instead of 1024 input units/core
``truenorth.yaml``          SANA-FE's TrueNorth (all costs 0.0 as shipped), 16 x 16 cores, input units added
``truenorth_merolla.yaml``  TrueNorth with Merolla et al.'s 26 pJ per synaptic event, all-in
``loihi2.yaml``             Loihi 1 costs unchanged (no Loihi 2 per-op energies are published), 8,192 neurons/core
``spinnaker2.yaml``         450 pJ per synaptic op, 2.19 nJ per neuron update per step; the rest assumed 0
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from spikeattn.errors import ParameterError, require

ARCH_DIR = Path(__file__).parent


@dataclass(frozen=True)
class ArchSpec:
    """A SANA-FE architecture: where it comes from and the unit names the lowering uses."""

    name: str
    source: str                 # "builtin:loihi" or a YAML file name in sanafe_arch/
    soma: str                   # soma unit for neurons ("leaky_integrate_fire" or "truenorth" model)
    soma_model: str
    input_unit: str             # input soma units, formatted with the index within the core
    neurons_per_core: int
    inputs_per_core: int
    cores: int
    note: str


ARCHS = {
    "loihi": ArchSpec("loihi", "loihi.yaml", "loihi_lif", "leaky_integrate_fire", "loihi_inputs[{i}]",
                      1024, 256, 128, "SANA-FE's loihi.yaml (SPICE-derived costs after Davies et al. 2018, "
                      "calibrated on Loihi silicon), with 256 instead of 1024 zero-cost input units per core."),
    "loihi_builtin": ArchSpec("loihi_builtin", "builtin:loihi", "loihi_lif", "leaky_integrate_fire",
                              "loihi_inputs[{i}]", 1024, 1024, 128, "SANA-FE's bundled loihi.yaml as shipped "
                              "(sanafe.load_loihi()); slow to build (128 x 1024 input units)."),
    "truenorth": ArchSpec("truenorth", "truenorth.yaml", "core_soma", "truenorth", "core_inputs[{i}]",
                          256, 256, 256, "SANA-FE's bundled truenorth.yaml (a 16 x 16 corner of its mesh) plus input units; "
                          "its costs are all 0.0 in SANA-FE 2.2.9, so energy and time come out as 0."),
    "truenorth_merolla": ArchSpec("truenorth_merolla", "truenorth_merolla.yaml", "core_soma", "truenorth",
                                  "core_inputs[{i}]", 256, 256, 256,
                                  "TrueNorth with 26 pJ per synaptic event, all-in (Merolla et al. 2014 [S]); "
                                  "no other cost added on top; latency not modelled."),
    "loihi2": ArchSpec("loihi2", "loihi2.yaml", "loihi_lif", "leaky_integrate_fire", "loihi_inputs[{i}]",
                       8192, 1024, 128, "Loihi 2: no per-op energies are published; SANA-FE's Loihi 1 costs "
                       "unchanged (an upper estimate), 8,192 neurons per core [S, unverified]."),
    "spinnaker2": ArchSpec("spinnaker2", "spinnaker2.yaml", "pe_lif", "leaky_integrate_fire", "pe_inputs[{i}]",
                           1024, 1024, 152, "SpiNNaker 2: 450 pJ per synaptic op and 2.19 nJ per neuron update "
                           "every step (Hoeppner et al. 2019 via KerasSpiking [P code]); routing, latency and "
                           "neurons per PE (1024) are assumptions, not published figures."),
}


def load_arch(arch: str):
    """The SANA-FE ``Architecture`` object for ``arch`` (a key of :data:`ARCHS`)."""
    spec = arch_spec(arch)
    sf = require("sanafe", "sanafe", "Running a circuit on SANA-FE")
    if spec.source == "builtin:loihi":
        return sf.load_loihi()
    return sf.load_arch(str(ARCH_DIR / spec.source))


def arch_spec(arch: str) -> ArchSpec:
    if arch not in ARCHS:
        raise ParameterError("run_sanafe", "arch", f"is {arch!r}.", f"use one of {sorted(ARCHS)}.")
    return ARCHS[arch]


COST_KEYS = ("energy_process_spike", "energy_access_neuron", "energy_update_neuron", "energy_spike_out",
             "energy_message_out", "energy_east_hop", "energy_north_hop", "energy_update")


def arch_costs(arch: str) -> dict[str, float]:
    """Unit energies [J] of the units the lowering uses, read from the architecture YAML.

    The lowering uses the first synapse, dendrite and LIF soma unit of a core (SANA-FE's
    defaults), so the first occurrence of each key is the one that applies."""
    spec = arch_spec(arch)
    if spec.source == "builtin:loihi":
        from importlib.resources import files
        text = files("sanafe.examples").joinpath("loihi.yaml").read_text()
    else:
        text = (ARCH_DIR / spec.source).read_text()
    out = {}
    for key in COST_KEYS:
        m = re.search(rf"^\s*{key}:\s*([-+0-9.eE]+)\s*$", text, re.M)
        out[key] = float(m.group(1)) if m else 0.0
    m = re.search(r"^\s*height:\s*(\d+)\s*$", text, re.M)
    out["mesh_height"] = int(m.group(1)) if m else 1
    m = re.search(r"name:\s*\w+\[0\.\.(\d+)\]\s*\n\s*attributes:\s*\n\s*buffer_position", text)
    out["cores_per_tile"] = int(m.group(1)) + 1 if m else 1
    return out


