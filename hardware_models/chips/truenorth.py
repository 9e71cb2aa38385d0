"""IBM TrueNorth (Merolla et al., Science 2014): 26 pJ per synaptic event, all-in.

The 26 pJ is the chip's total power (72 mW at 0.775 V, 20 Hz mean rate, 128 active synapses
per neuron) divided by its synaptic event rate: it already contains neuron updates, routing,
memory and static power at that operating point, so nothing is added on top.  At lower
activity the static share per event grows and the all-in figure understates the energy.
"""
from ..constants import exact
from ..model import CoreLimits, HardwareModel

MEROLLA = "Merolla et al. 2014, Science"

CONSTANTS = {
    "e_all_in": exact(26e-12, "J/synaptic event", f"{MEROLLA}: 26 pJ per synaptic event, all-in "
                      "(72 mW, 0.775 V, 20 Hz, 128 active synapses)", "S"),
    "t_step": exact(1e-3, "s/step", f"{MEROLLA}: real-time operation with a 1 kHz global tick", "S"),
}

LIMITS = CoreLimits(neurons=256, synaptic_memory_bytes=256 * 256 // 8, bytes_per_synapse=1 / 8, fan_in=256,
                    fan_out=256, cores_per_tile=1, tile_mesh=(64, 64),
                    source=f"{MEROLLA} [P]: 4,096 cores, 1M neurons, 256M synapses -> 256 neurons, 256 axons and a "
                           "256x256 binary crossbar per core; a neuron targets one axon of one core")

MODEL = HardwareModel(
    name="truenorth", title="IBM TrueNorth (28 nm, 2014)", kind="neuromorphic", constants=CONSTANTS,
    limits=LIMITS, all_in=True,
    notes=("26 pJ per synaptic event is all-in (measured at 20 Hz, 128 active synapses per neuron): memory, "
           "routing, neuron updates and static power are inside it and are not added.",
           "At lower activity than the measurement point the all-in figure understates energy (static power "
           "is spread over fewer events).",
           "Each TrueNorth neuron targets one core (fan-out 1 per neuron); wider fan-out needs splitter "
           "neurons, which are not modelled. Weights must fit 4 axon types per neuron: not checked.",
           "Per-part figures (2.3 pJ per spike hop, 47 fJ/bit SRAM [S]) are not used, to avoid double counting."),
    sources=(MEROLLA,))
