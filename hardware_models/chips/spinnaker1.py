"""SpiNNaker 1 (ARM968 many-core, 130 nm): software neurons on general-purpose cores.

Per-op energies as used by KerasSpiking's ``model_energy.py`` (after Höppner et al.):
13.3 nJ per synaptic op and 26 nJ per neuron update.  Neurons are updated on every timer
tick (clock-driven), idle or not.  Routing energy is not in these sources and is left out
(stated in the report).  Static power: a SpiNNaker 1 chip draws about 1 W in operation
(Furber et al. 2014, Proc. IEEE 102(5) [S]); its static share is not published separately and
is assumed 0.5 W, range 0.25-1 W.  Operating mode: fixed step (1 ms timer tick, real time).
"""
from ..constants import exact, ranged
from ..model import CoreLimits, HardwareModel
from ..registry import register

SPYNNAKER_SHARING = ("sPyNNaker's local-only ConvolutionConnector stores one kernel per core, shared by the "
                     "core's neurons (SpiNNakerManchester/sPyNNaker, spynnaker/pyNN/models/neural_projections/"
                     "connectors/convolution_connector.py: 'kernel_weights: the synaptic strengths, shared by neurons "
                     "in the post population', local_only_n_bytes counts the kernel once) [P code]; a shared "
                     "per-token matrix is assumed stored the same way, once per core")
KS = "KerasSpiking model_energy.py (nengo/keras-spiking), device 'spinnaker'"

CONSTANTS = {
    "e_ac": exact(13.3e-9, "J/op", f"{KS}: 13.3 nJ per synaptic op", "P"),
    "e_mac": exact(13.3e-9, "J/op", f"{KS}: 13.3 nJ per synaptic op (software: a graded op is assumed "
                   "to cost the same)", "P"),
    "e_neuron_active": exact(26e-9, "J/update", f"{KS}: 26 nJ per neuron update", "P"),
    "e_neuron_idle": exact(26e-9, "J/update", f"{KS}: 26 nJ per neuron update (clock-driven: every neuron "
                           "every tick)", "P"),
    "p_static_chip": ranged(0.5, 0.25, 1.0, "W/chip", "not published separately: assumption bounded by the "
                            "about 1 W per chip in operation (Furber et al. 2014, Proc. IEEE 102(5)) [S]", "D"),
    "t_step": exact(1e-3, "s/step", "SpiNNaker runs in biological real time with a 1 ms timer tick by "
                    "default (Furber et al. 2014, Proc. IEEE) [S]", "S"),
}

LIMITS = CoreLimits(neurons=256, synaptic_memory_bytes=8 * 1024 * 1024, bytes_per_synapse=4.0, fan_in=None,
                    fan_out=None, cores_per_tile=16, tile_mesh=(1, 1), weight_sharing=True,
                    weight_sharing_source=SPYNNAKER_SHARING,
                    source="Furber et al. 2014 [S]: 18 ARM cores per chip (16 for applications), 128 MB SDRAM "
                           "per chip; 256 neurons per core is sPyNNaker's usual LIF default [S, unverified]; "
                           "synaptic rows in SDRAM: 8 MiB per core = 128 MB / 16 [D]; 4 B per synaptic word")

MODEL = HardwareModel(
    name="spinnaker1", title="SpiNNaker 1 (130 nm ARM968, 2011)", kind="neuromorphic", constants=CONSTANTS,
    limits=LIMITS, memory_in_ops=True, operating_mode="fixed-step",
    host_io="Host (Ethernet) IO is not modelled.",
    notes=("Routing (packet router) energy is not in the cited per-op figures and is left out (lower bound); "
           "static power is an assumption (0.5 W, range 0.25-1 W per chip).",
           "Per-op figures come from KerasSpiking's table (primary code), not from a chip measurement here.",
           "Latency assumes real-time operation at a 1 ms tick per step."),
    sources=(KS, "Furber et al. 2014, Proc. IEEE"))

register(MODEL)
