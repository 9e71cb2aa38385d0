"""IBM TrueNorth (28 nm, 2014; Merolla et al., Science 345:668, 2014), accounted as every chip is:
dynamic energy per synaptic event plus static power over the run time.

Merolla et al. report 26 pJ per synaptic event *all-in*: the chip's whole power (about 72 mW
at 0.775 V, 20 Hz mean rate, 128 active synapses per neuron, 1M neurons, real time) divided
by its synaptic event rate, and 63 mW on a 400x240, 30 fps video benchmark.  The split of
that power into leakage and active power is not in the cited sources, so it is a stated
assumption with published bounds::

    p_static = f * 72 mW,   e_event = (1 - f) * 26 pJ,   f = 0.5, range 0 - 63/72

(the static power cannot exceed the 63 mW measured on a working benchmark).  At the
calibration point the two terms add back to 26 pJ per event (tested in
``tests/hardware/test_anchors.py``).  Operating mode: fixed step, a 1 kHz global tick (real
time), so static power is paid for 1 ms per step.  The old all-in figure is kept as
``e_all_in`` for reference; it is not used by the cost model (``all_in=False``).
"""
from ..constants import exact, ranged
from ..model import CoreLimits, HardwareModel
from ..registry import register

MEROLLA = "Merolla et al. 2014, Science 345(6197):668"
F_STATIC = (0.5, 0.0, 63 / 72)            # assumed static share of the 72 mW calibration power

CONSTANTS = {
    "e_ac": ranged(26e-12 * (1 - F_STATIC[0]), 26e-12 * (1 - F_STATIC[2]), 26e-12, "J/synaptic event",
                   f"{MEROLLA}: 26 pJ per synaptic event all-in, times (1 - f), f = static share of the power "
                   "(assumption 0.5, range 0 - 63/72; the split is not published in the cited sources)", "D"),
    "p_static_chip": ranged(72e-3 * F_STATIC[0], 0.0, 63e-3, "W/chip",
                            f"{MEROLLA}: f x 72 mW (0.775 V, 20 Hz, 128 active synapses); high: 63 mW, the whole "
                            "chip's power on the 400x240 30 fps video benchmark; value f = 0.5 (assumption)", "D"),
    "e_all_in": exact(26e-12, "J/synaptic event", f"{MEROLLA}: 26 pJ per synaptic event, all-in "
                      "(72 mW, 0.775 V, 20 Hz, 128 active synapses); reference only, not costed", "S"),
    "t_step": exact(1e-3, "s/step", f"{MEROLLA}: real-time operation with a 1 kHz global tick", "S"),
}

LIMITS = CoreLimits(neurons=256, synaptic_memory_bytes=256 * 256 // 8, bytes_per_synapse=1 / 8, fan_in=256,
                    fan_out=256, cores_per_tile=1, tile_mesh=(64, 64), weight_sharing=False,
                    weight_sharing_source=f"{MEROLLA} [P]: every core has its own 256x256 binary crossbar; a "
                                          "weight is not shared between cores (within a core, 4 axon types).",
                    source=f"{MEROLLA} [P]: 4,096 cores, 1M neurons, 256M synapses -> 256 neurons, 256 axons and a "
                           "256x256 binary crossbar per core; a neuron targets one axon of one core")

MODEL = HardwareModel(
    name="truenorth", title="IBM TrueNorth (28 nm, 2014)", kind="neuromorphic", constants=CONSTANTS,
    limits=LIMITS, all_in=False, operating_mode="fixed-step", memory_in_ops=True,
    included_in_ops=("neuron_updates", "routing"),
    host_io="Host / NS1e board IO (USB or Ethernet spike injection) is not modelled.",
    notes=("Dynamic energy per synaptic event = (1 - f) x 26 pJ and static power f x 72 mW, f = 0.5 "
           "(range 0 - 0.875): the leakage / active split of Merolla et al.'s all-in figure is an assumption.",
           "Fixed-step operation: static power is paid for the whole 1 ms tick of every step.",
           "Each TrueNorth neuron targets one core (fan-out 1 per neuron); wider fan-out needs splitter "
           "neurons, which are not modelled. Weights must fit 4 axon types per neuron: not checked.",
           "Per-part figures (2.3 pJ per spike hop, 47 fJ/bit SRAM [S]) are not added: they are inside the "
           "per-event figure."),
    sources=(MEROLLA,))

register(MODEL)
