"""Intel Loihi (14 nm, 2018): SANA-FE's silicon-calibrated figures as central values,
Davies et al. 2018 (pre-silicon, Table 2) as bounds.

Central values come from SANA-FE 2.2.9's Loihi description (``sanafe/examples/loihi.yaml``,
Boyle et al., IEEE TCAD 2025), whose whole-application predictions were checked against
Loihi silicon (energy within 12 %, latency within 25 %).  Davies et al. (IEEE Micro 2018,
Table 2) give pre-silicon per-op estimates at 0.75 V; their 23.6 pJ synaptic op is a
minimum and their 113-465 ns barrier a pre-silicon figure, so they bound the range.
Per-op energies are whole-core figures (they include the core's SRAM accesses): memory is
not added on top.

Latency per step (see :mod:`hardware_models.cost`): busiest core's work (synaptic ops,
neuron access/update, spike out per spike, message out per message sent, receive per
message arriving) + mesh hops + barrier (0.6 us for 1 tile to 1.8 us for 29 tiles; a
multi-chip system pays Frady et al.'s 14-16 us barrier instead).
Operating mode: unthrottled (each step ends when the barrier completes; no wall-clock tick).
Static power: 104 mW per chip (Frady et al. 2020: 3.34 W over 32 chips, x86 cores excluded);
range 29 mW (Blouw et al. 2019's measured idle power) to 169 mW (+ the x86 cores).
"""
from ..constants import exact, ranged
from ..model import CoreLimits, HardwareModel
from ..registry import register

DAVIES = "Davies et al. 2018, IEEE Micro 38(1), Table 2 (pre-silicon, 0.75 V)"
SANAFE = ("SANA-FE 2.2.9 sanafe/examples/loihi.yaml (Boyle et al., IEEE TCAD 2025; calibrated on Loihi "
          "silicon)")
BLOUW = "Blouw et al. 2019, 'Benchmarking keyword spotting efficiency on neuromorphic hardware', NICE 2019 (arXiv:1812.01739)"
NXTF_SHARING = ("not modelled (every synapse stored, so structured layouts give an upper bound on cores): Loihi's "
                "population connectivity lets a core share synapse lists, which Rueckauer et al. 2022 ('NxTF: An "
                "API and Compiler for Deep Spiking Neural Networks on Intel Loihi', ACM JETC; arXiv:2101.04261, "
                "abstract [P]) use to compress convolutions; no published Loihi format shares a per-token dense "
                "matrix, so every token's copy of a shared W is counted")
FRADY = "Frady et al. 2020, 'Neuromorphic nearest-neighbor search using Intel's Pohoiki Springs', NICE 2020"

CONSTANTS = {
    "e_ac": ranged(35.5e-12, 23.6e-12, 35.5e-12, "J/op", f"{SANAFE}: dense synapse 35.5 pJ (sparse 33.6 pJ); "
                   f"low: {DAVIES} 23.6 pJ (a minimum)", "P"),
    "e_neuron_active": ranged(72.8e-12, 72.8e-12, 81e-12, "J/update", f"{SANAFE}: access 51.2 + update 21.6 pJ; "
                              f"high: {DAVIES} 81 pJ active", "P"),
    "e_neuron_idle": ranged(51.2e-12, 51.2e-12, 52e-12, "J/update", f"{SANAFE}: access 51.2 pJ; high: {DAVIES} "
                            "52 pJ inactive", "P"),
    "e_spike_out": ranged(69.3e-12, 0.0, 69.3e-12, "J/spike", f"{SANAFE}: energy_spike_out 69.3 pJ; low 0: "
                          f"{DAVIES} lists no per-spike term (it may be inside the neuron update)", "P"),
    "e_message": ranged(111e-12, 0.0, 111e-12, "J/message", f"{SANAFE}: energy_message_out 111 pJ per message "
                        f"to a core; low 0: not in {DAVIES}", "P"),
    "e_route_local": ranged(0.0, 0.0, 1.7e-12, "J/message", f"{SANAFE}: energy_message_in 0.0; high: {DAVIES} "
                            "spike within a tile 1.7 pJ", "P"),
    "e_hop": ranged(3.6e-12, 3.0e-12, 4.2e-12, "J/hop", f"{SANAFE}: 3.0 pJ E-W, 4.2 pJ N-S (value: mean); "
                    f"{DAVIES}: 3.0 E-W / 4.0 N-S", "P"),
    "p_static_chip": ranged(0.104, 0.029, 0.169, "W/chip", f"{FRADY}: 3.34 W over 32 chips -> 104 mW per chip "
                            "(neuromorphic cores only); high: + about 65 mW per chip for the x86 cores that figure "
                            f"leaves out; low: {BLOUW}, Table 1: Loihi idle 0.029 W", "D"),
    "t_ac": ranged(3.8e-9, 3.1e-9, 4.7e-9, "s/op", f"{SANAFE}: dense synapse 3.8 ns (conv 3.1, sparse 4.7 ns); "
                   f"{DAVIES}: 3.5 ns", "P"),
    "t_neuron_active": exact(9.7e-9, "s/update", f"{SANAFE}: access 6.0 + update 3.7 ns", "P"),
    "t_neuron_idle": exact(6.0e-9, "s/update", f"{SANAFE}: access 6.0 ns", "P"),
    "t_spike_out": exact(30e-9, "s/spike", f"{SANAFE}: latency_spike_out 30 ns per spike", "P"),
    "t_message": exact(5.1e-9, "s/message", f"{SANAFE}: latency_message_out 5.1 ns per message sent", "P"),
    "t_receive": exact(16e-9, "s/message", f"{SANAFE}: latency_message_in 16 ns per message received", "P"),
    "serial_fraction": ranged(0.0, 0.0, 1.0, "1", f"{SANAFE}: the core's synapse front end and soma back end "
                              "run as a pipeline (buffer_position: soma), step time = max of the two (checked by "
                              "running SANA-FE); high: fully serial (no overlap)", "P"),
    "t_hop": ranged(5.3e-9, 4.1e-9, 6.5e-9, "s/hop", f"{SANAFE}: 4.1 ns E-W, 6.5 ns N-S; value: mean", "P"),
    "t_barrier_1": ranged(0.6e-6, 113e-9, 0.6e-6, "s/step", f"{SANAFE}: latency_sync 0.6 us for 1 tile; low: "
                          f"{DAVIES} 113 ns (pre-silicon)", "P"),
    "t_barrier_max": ranged(1.8e-6, 465e-9, 1.8e-6, "s/step", f"{SANAFE}: latency_sync 1.8 us for 29 tiles; low: "
                            f"{DAVIES} 465 ns for 32 tiles (pre-silicon)", "P"),
    "t_barrier_multichip": ranged(15e-6, 14e-6, 16e-6, "s/step", f"{FRADY}: 14-16 us barrier per step across "
                                  "chips", "S"),
}

LIMITS = CoreLimits(neurons=1024, synaptic_memory_bytes=128 * 1024, bytes_per_synapse=1.0, fan_in=4096,
                    fan_out=4096, cores_per_tile=4, tile_mesh=(8, 4), weight_sharing=False,
                    weight_sharing_source=NXTF_SHARING,
                    source=f"{DAVIES}: 128 cores, 1,024 compartments, 128 KB synaptic memory, 4,096 axon lists "
                           f"in / core-to-core edges out per core; 8x4 tiles of 4 cores from {SANAFE}")

MODEL = HardwareModel(
    name="loihi", title="Intel Loihi (14 nm, 2018)", kind="neuromorphic", constants=CONSTANTS, limits=LIMITS,
    memory_in_ops=True, operating_mode="unthrottled",
    host_io="Host (x86 / FPGA) input injection and readout are not modelled; inputs enter at the mesh origin.",
    notes=("Central per-op figures are SANA-FE's silicon-calibrated values; Davies 2018's pre-silicon figures "
           "are the bounds (23.6 pJ synaptic op is a minimum).",
           "Loihi 1 carries binary spikes only: graded (MAC) projections are costed as one synaptic op "
           "each, which understates them.",
           "Synapse storage assumed 1 byte per synapse (8-bit weights, no index/delay overhead): "
           "the synaptic-memory limit is optimistic.",
           "Inter-chip link energy is not published: messages between chips cost mesh hops only."),
    sources=(SANAFE, DAVIES, FRADY, BLOUW))

register(MODEL)
