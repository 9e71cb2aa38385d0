"""SpiNNaker 1 (ARM968 many-core, 130 nm): software neurons on general-purpose cores.

Per-op energies as used by KerasSpiking's ``model_energy.py`` (after Höppner et al.):
13.3 nJ per synaptic op and 26 nJ per neuron update.  Neurons are updated on every timer
tick (clock-driven), idle or not.  Routing and static power are not published in these
sources and are left out (stated in the report).
"""
from ..constants import exact
from ..model import CoreLimits, HardwareModel

KS = "KerasSpiking model_energy.py (nengo/keras-spiking), device 'spinnaker'"

CONSTANTS = {
    "e_ac": exact(13.3e-9, "J/op", f"{KS}: 13.3 nJ per synaptic op", "P"),
    "e_mac": exact(13.3e-9, "J/op", f"{KS}: 13.3 nJ per synaptic op (software: a graded op is assumed "
                   "to cost the same)", "P"),
    "e_neuron_active": exact(26e-9, "J/update", f"{KS}: 26 nJ per neuron update", "P"),
    "e_neuron_idle": exact(26e-9, "J/update", f"{KS}: 26 nJ per neuron update (clock-driven: every neuron "
                           "every tick)", "P"),
    "t_step": exact(1e-3, "s/step", "SpiNNaker runs in biological real time with a 1 ms timer tick by "
                    "default (Furber et al. 2014, Proc. IEEE) [S]", "S"),
}

LIMITS = CoreLimits(neurons=256, synaptic_memory_bytes=8 * 1024 * 1024, bytes_per_synapse=4.0, fan_in=None,
                    fan_out=None, cores_per_tile=16, tile_mesh=(1, 1),
                    source="Furber et al. 2014 [S]: 18 ARM cores per chip (16 for applications), 128 MB SDRAM "
                           "per chip; 256 neurons per core is sPyNNaker's usual LIF default [S, unverified]; "
                           "synaptic rows in SDRAM: 8 MiB per core = 128 MB / 16 [D]; 4 B per synaptic word")

MODEL = HardwareModel(
    name="spinnaker1", title="SpiNNaker 1 (130 nm ARM968, 2011)", kind="neuromorphic", constants=CONSTANTS,
    limits=LIMITS, memory_in_ops=True,
    notes=("Routing (packet router) energy and static power are not in the cited per-op figures and are "
           "left out: the total is a lower bound.",
           "Per-op figures come from KerasSpiking's table (primary code), not from a chip measurement here.",
           "Latency assumes real-time operation at a 1 ms tick per step."),
    sources=(KS, "Furber et al. 2014, Proc. IEEE"))
