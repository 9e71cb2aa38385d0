"""SpiNNaker 2 (22 nm FDSOI ARM Cortex-M4F PEs with accelerators).

Per-op energies as used by KerasSpiking's ``model_energy.py`` (Höppner et al. 2019): 450 pJ
per synaptic op, 2.19 nJ per neuron update; clock-driven neuron updates.  Routing and static
power are not in these figures and are left out.
"""
from ..constants import exact
from ..model import CoreLimits, HardwareModel

KS = "KerasSpiking model_energy.py, device 'spinnaker2' (Höppner et al. 2019)"

CONSTANTS = {
    "e_ac": exact(450e-12, "J/op", f"{KS}: 450 pJ per synaptic op", "P"),
    "e_mac": exact(450e-12, "J/op", f"{KS}: 450 pJ per synaptic op (graded op assumed equal)", "P"),
    "e_neuron_active": exact(2.19e-9, "J/update", f"{KS}: 2.19 nJ per neuron update", "P"),
    "e_neuron_idle": exact(2.19e-9, "J/update", f"{KS}: 2.19 nJ (clock-driven: every neuron every tick)", "P"),
    "t_step": exact(1e-3, "s/step", "assumption: real-time operation at a 1 ms tick, as SpiNNaker 1", "D"),
}

LIMITS = CoreLimits(neurons=None, synaptic_memory_bytes=128 * 1024, bytes_per_synapse=4.0, fan_in=None,
                    fan_out=None, cores_per_tile=4, tile_mesh=(8, 5), max_cores_per_chip=152,
                    state_in_core_memory=True,
                    source="Mayr et al. 2019 / Höppner et al. 2021 [S]: 152 processing elements (38 quad-PEs) per "
                           "chip with 128 KB SRAM each, shared by synapses and neuron state; neurons per PE not published as a "
                           "limit (memory bound); "
                           "quad-PE layout approximated as an 8x5 mesh [assumption]")

MODEL = HardwareModel(
    name="spinnaker2", title="SpiNNaker 2 (22 nm FDSOI, 2021)", kind="neuromorphic", constants=CONSTANTS,
    limits=LIMITS, memory_in_ops=True,
    notes=("Routing energy and static power are not in the cited per-op figures: the total is a lower bound.",
           "Synaptic memory per PE is the 128 KB local SRAM (4 B per synapse assumed); synapses can also live "
           "in DRAM, not modelled.",
           "Latency assumes real-time operation at a 1 ms tick per step (assumption)."),
    sources=(KS, "Mayr et al. 2019; Höppner et al. 2021"))
