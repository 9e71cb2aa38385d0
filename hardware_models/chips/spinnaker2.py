"""SpiNNaker 2: per-op energies of the 28 nm prototype, chip limits of the 22 nm FDSOI chip.

Per-op energies as used by KerasSpiking's ``model_energy.py`` (device 'spinnaker2'), which
cites Höppner et al. 2019 ("Dynamic power management for neuromorphic many-core systems",
IEEE TCAS-I 66(8)): measured on the 28 nm SpiNNaker 2 prototype, 450 pJ per synaptic op and
2.19 nJ per neuron update; clock-driven neuron updates.  The chip limits (152 PEs, 128 KB
SRAM each) are the 22 nm FDSOI chip's (Höppner et al. 2021, arXiv:2103.08392).  The 22 nm
chip's per-op energies are not in the cited sources.

Static power: not published as a separate figure in the cited sources.  The whole 22 nm
chip runs at about 2-5 W (Open Neuromorphic hardware guide, "SpiNNaker 2", [S]); the static
share is assumed 0.5 W per chip, range 0.1-2 W (up to the low end of that operating power).
Operating mode: fixed step (real time, 1 ms timer tick, as SpiNNaker 1; an assumption).
"""
from ..constants import exact, ranged
from ..model import CoreLimits, HardwareModel
from ..registry import register

KS = ("KerasSpiking model_energy.py, device 'spinnaker2' (nengo/keras-spiking), after Höppner et al. 2019, "
      "IEEE TCAS-I 66(8) (28 nm prototype)")
ON = "Open Neuromorphic hardware guide, 'SpiNNaker 2 - University of Dresden' (about 2-5 W per chip) [S]"

CONSTANTS = {
    "e_ac": exact(450e-12, "J/op", f"{KS}: 450 pJ per synaptic op", "P"),
    "e_mac": exact(450e-12, "J/op", f"{KS}: 450 pJ per synaptic op (graded op assumed equal)", "P"),
    "e_neuron_active": exact(2.19e-9, "J/update", f"{KS}: 2.19 nJ per neuron update", "P"),
    "e_neuron_idle": exact(2.19e-9, "J/update", f"{KS}: 2.19 nJ (clock-driven: every neuron every tick)", "P"),
    "p_static_chip": ranged(0.5, 0.1, 2.0, "W/chip", f"not published separately; assumption bounded by the whole "
                            f"chip's 2-5 W operating power ({ON})", "D"),
    "t_step": exact(1e-3, "s/step", "assumption: real-time operation at a 1 ms tick, as SpiNNaker 1 (Furber et al. "
                    "2014, Proc. IEEE 102(5))", "D"),
}

LIMITS = CoreLimits(neurons=None, synaptic_memory_bytes=128 * 1024, bytes_per_synapse=4.0, fan_in=None,
                    fan_out=None, cores_per_tile=4, tile_mesh=(8, 5), max_cores_per_chip=152,
                    state_in_core_memory=True, weight_sharing=True,
                    weight_sharing_source="assumption: SpiNNaker 2's processing elements are software cores like "
                                          "SpiNNaker 1's, whose sPyNNaker local-only connectors store one kernel "
                                          "per core (hardware_models.chips.spinnaker1); not checked on SpiNNaker "
                                          "2's own software",
                    source="Höppner et al. 2021, arXiv:2103.08392 [S]: 152 processing elements (38 quad-PEs) per "
                           "chip with 128 KB SRAM each, shared by synapses and neuron state; neurons per PE not "
                           "published as a limit (memory bound); quad-PE layout approximated as an 8x5 mesh "
                           "[assumption]")

MODEL = HardwareModel(
    name="spinnaker2", title="SpiNNaker 2 (per-op: 28 nm prototype, 2019; limits: 22 nm chip)", kind="neuromorphic",
    constants=CONSTANTS, limits=LIMITS, memory_in_ops=True, operating_mode="fixed-step",
    host_io="Host (Ethernet) IO and the chip's DRAM are not modelled.",
    notes=("Per-op energies are the 28 nm prototype's (Höppner et al. 2019 via KerasSpiking); the 22 nm chip's "
           "are not published in the cited sources.",
           "Routing (NoC) energy is not in the cited per-op figures: left out (lower bound).",
           "Static power is an assumption (0.5 W, range 0.1-2 W per chip) bounded by the chip's quoted 2-5 W.",
           "Synaptic memory per PE is the 128 KB local SRAM (4 B per synapse assumed); synapses can also live "
           "in DRAM, not modelled.",
           "Latency assumes real-time operation at a 1 ms tick per step (assumption)."),
    sources=(KS, "Höppner et al. 2021, arXiv:2103.08392", ON))

register(MODEL)
