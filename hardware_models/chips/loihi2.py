"""Intel Loihi 2 (Intel 4, 2021): no per-operation energies are published.

Assumption (stated, not measured): every Loihi 1 per-op energy (SANA-FE's calibrated
values, Davies 2018 as bounds; see :mod:`hardware_models.chips.loihi`) (synaptic op, neuron update,
spike out, message, routing) and the static power are scaled by a factor of 0.5, range
0.25-1.0 (1.0 = no improvement over Loihi 1; 0.25 = a generous process-scaling gain from
14 nm to Intel 4).  Per-event times and barrier synchronisation are scaled by 0.5, range
0.1-1.0 (0.1 from Intel's "up to 10x faster processing" claim for Loihi 2 [S]).  Graded
spikes (Loihi 2 carries up to 24-bit payloads) cost 1-2x a binary synaptic op (assumption).
"""
from ..constants import ranged
from ..model import CoreLimits, HardwareModel
from ..registry import register
from . import loihi

LAVA_DL_SHARING = ("not modelled (every synapse stored, so structured layouts give an upper bound on cores): "
                   "lava-dl 0.3.0's release notes (lava-nc/lava-dl, 2022 [P]) use 'Loihi 2's convolutional network "
                   "compression'; no published Loihi 2 format shares a per-token dense matrix, so every token's "
                   "copy of a shared W is counted")
ENERGY_SCALE = ranged(0.5, 0.25, 1.0, "1", "assumption: Loihi 2 per-op energy = Loihi 1 x 0.25-1.0 "
                      "(no Loihi 2 per-op figures are published)", "D")
TIME_SCALE = ranged(0.5, 0.1, 1.0, "1", "assumption: Loihi 2 per-op time = Loihi 1 x 0.1-1.0 (Intel: "
                    "'up to 10x faster processing' [S])", "D")
GRADED_FACTOR = ranged(1.0, 1.0, 2.0, "1", "assumption: a graded-spike synaptic op costs 1-2 binary ops", "D")

_E = ("e_ac", "e_neuron_active", "e_neuron_idle", "e_spike_out", "e_message", "e_route_local", "e_hop",
      "p_static_chip")
_T = ("t_ac", "t_neuron_active", "t_neuron_idle", "t_spike_out", "t_message", "t_receive", "t_hop", "t_barrier_1",
      "t_barrier_max", "t_barrier_multichip")

CONSTANTS = {k: loihi.CONSTANTS[k].scaled(ENERGY_SCALE, f"Loihi {k} ({loihi.CONSTANTS[k].source}) x Loihi 2 "
                                          "energy scale 0.25-1.0 (assumption)") for k in _E}
CONSTANTS.update({k: loihi.CONSTANTS[k].scaled(TIME_SCALE, f"Loihi {k} ({loihi.CONSTANTS[k].source}) x Loihi 2 "
                                               "time scale 0.1-1.0 (assumption)") for k in _T})
CONSTANTS["serial_fraction"] = loihi.CONSTANTS["serial_fraction"]    # same core pipeline (assumption)
CONSTANTS["e_mac"] = CONSTANTS["e_ac"].scaled(GRADED_FACTOR, "Loihi 2 e_ac x graded factor 1-2 (assumption)")
CONSTANTS["t_mac"] = CONSTANTS["t_ac"].scaled(GRADED_FACTOR, "Loihi 2 t_ac x graded factor 1-2 (assumption)")

LIMITS = CoreLimits(neurons=8192, synaptic_memory_bytes=128 * 1024, bytes_per_synapse=1.0, fan_in=4096,
                    fan_out=4096, cores_per_tile=4, tile_mesh=(8, 4), weight_sharing=False,
                    weight_sharing_source=LAVA_DL_SHARING,
                    source="128 neuromorphic cores [S]; ~8,192 neurons per core [S, unverified]; 128 KB "
                           "synaptic memory per core (the smaller of the unverified 128/192 KB); fan-in/out and "
                           "the 8x4 tile mesh assumed equal to Loihi 1")

MODEL = HardwareModel(
    name="loihi2", title="Intel Loihi 2 (Intel 4, 2021) - scaled from Loihi 1", kind="neuromorphic",
    constants=CONSTANTS, limits=LIMITS, memory_in_ops=True, operating_mode="unthrottled",
    host_io=loihi.MODEL.host_io + " Loihi 2's embedded x86 cores are not modelled.",
    notes=("No per-op energies are published for Loihi 2: every energy is Loihi 1's (SANA-FE calibrated, "
           "Davies 2018 bounds) x 0.5 (range 0.25-1.0), every time x 0.5 (range 0.1-1.0); treat as an estimate.",
           "Graded spikes cost 1-2x a binary synaptic op (assumption).",
           "Neurons per core (8,192) and synaptic memory per core (128 vs 192 KB) are unverified.",
           "Published system results (Orchard 2021, Shrestha 2024, Abreu 2025) are not per-op and are "
           "not used as constants."),
    sources=loihi.MODEL.sources + ("Intel Labs 2021, 'Taking Neuromorphic Computing to the Next Level with Loihi 2', technology brief (128 cores, 1M neurons, 120M synapses) [S]",))

register(MODEL)
