"""Intel Loihi (Davies et al., IEEE Micro 2018, Table 2: pre-silicon per-op estimates at 0.75 V).

Central values are Davies' figures; ranges reach to SANA-FE's Loihi description
(``sanafe/examples/loihi.yaml`` in sanafe 2.2.9, Boyle et al. TCAD 2025, calibrated on
silicon), which disagrees with Davies term by term.  Davies' per-op energies are whole-core
figures (they include the core's SRAM accesses), so memory is not added on top.
"""
from ..constants import exact, ranged
from ..model import CoreLimits, HardwareModel

DAVIES = "Davies et al. 2018, IEEE Micro, Table 2"
SANAFE = "SANA-FE 2.2.9 loihi.yaml (Boyle et al. TCAD 2025, silicon-calibrated)"

CONSTANTS = {
    "e_ac": ranged(23.6e-12, 23.6e-12, 35.5e-12, "J/op", f"{DAVIES} (23.6 pJ, a minimum); high: {SANAFE} "
                   "dense synapse 35.5 pJ", "S"),
    "e_neuron_active": ranged(81e-12, 72.8e-12, 81e-12, "J/update", f"{DAVIES} (81 pJ active); low: {SANAFE} "
                              "access 51.2 + update 21.6 pJ", "S"),
    "e_neuron_idle": ranged(52e-12, 51.2e-12, 52e-12, "J/update", f"{DAVIES} (52 pJ inactive); low: {SANAFE} "
                            "access 51.2 pJ", "S"),
    "e_spike_out": ranged(69.3e-12, 0.0, 69.3e-12, "J/spike", f"{SANAFE} energy_spike_out 69.3 pJ; low 0: "
                          "Davies lists no per-spike term (it may be inside the neuron update)", "P"),
    "e_message": ranged(111e-12, 0.0, 111e-12, "J/message", f"{SANAFE} energy_message_out 111 pJ per message "
                        "to a core; low 0: not in Davies' table", "P"),
    "e_route_local": exact(1.7e-12, "J/message", f"{DAVIES} (spike within a tile 1.7 pJ)", "S"),
    "e_hop": ranged(3.5e-12, 3.0e-12, 4.2e-12, "J/hop", f"{DAVIES} (tile hop 3.0 E-W / 4.0 N-S pJ); high: "
                    f"{SANAFE} 4.2 pJ N-S; value: mean of E-W and N-S", "S"),
    "p_static_chip": exact(0.104, "W/chip", "Frady et al. 2020: 3.34 W over 32 chips -> 104 mW per chip", "D"),
    "t_ac": ranged(3.5e-9, 3.1e-9, 4.7e-9, "s/op", f"{DAVIES} (3.5 ns); range: {SANAFE} conv 3.1 / sparse 4.7 ns", "S"),
    "t_neuron_active": exact(9.7e-9, "s/update", f"{SANAFE} access 6.0 + update 3.7 ns", "P"),
    "t_neuron_idle": exact(6.0e-9, "s/update", f"{SANAFE} access 6.0 ns", "P"),
    "t_spike_out": exact(35.1e-9, "s/spike", f"{SANAFE} spike_out 30 ns + message_out 5.1 ns", "P"),
    "t_hop": ranged(5.3e-9, 4.1e-9, 6.5e-9, "s/hop", f"{SANAFE} 4.1 ns E-W, 6.5 ns N-S; value: mean", "P"),
    "t_barrier_1": ranged(113e-9, 113e-9, 600e-9, "s/step", f"{DAVIES} (113 ns for 1 tile); high: {SANAFE} "
                          "latency_sync table 0.6 us for 1 tile", "S"),
    "t_barrier_max": ranged(465e-9, 465e-9, 1.8e-6, "s/step", f"{DAVIES} (465 ns for 32 tiles); high: {SANAFE} "
                            "1.8 us for 29 tiles", "S"),
}

LIMITS = CoreLimits(neurons=1024, synaptic_memory_bytes=128 * 1024, bytes_per_synapse=1.0, fan_in=4096,
                    fan_out=4096, cores_per_tile=4, tile_mesh=(8, 4),
                    source="energy_constants.md [S]: 128 cores, 1,024 compartments, 128 KB synaptic memory, "
                           "4,096 axon lists in / core-to-core edges out per core; 8x4 tiles of 4 cores from "
                           "SANA-FE loihi.yaml")

MODEL = HardwareModel(
    name="loihi", title="Intel Loihi (14 nm, 2018)", kind="neuromorphic", constants=CONSTANTS, limits=LIMITS,
    memory_in_ops=True,
    notes=("Per-op figures are Davies' pre-silicon estimates; synaptic op 23.6 pJ is given as a minimum.",
           "Loihi 1 carries binary spikes only: graded (MAC) projections are costed as one synaptic op "
           "each, which understates them.",
           "Synapse storage assumed 1 byte per synapse (8-bit weights, no index/delay overhead): "
           "the synaptic-memory limit is optimistic.",
           "Inter-chip link energy is not published: messages between chips cost mesh hops only."),
    sources=(DAVIES, SANAFE, "Frady et al. 2020 (static power)"))
