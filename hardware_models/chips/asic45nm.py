"""A generic event-driven digital ASIC in 45 nm, 0.9 V, from Horowitz (ISSCC 2014) op energies.

Assumptions (stated): a synaptic accumulate is one INT32 add (0.1 pJ; range INT8 add 0.03 -
FP32 add 0.9 pJ); a graded synaptic op is an INT8 multiply + INT32 add (0.3 pJ; range INT8
MAC 0.23 - FP32 MAC 4.6 pJ); a neuron update is one INT32 multiply + two INT32 adds (3.3 pJ;
range INT8 MAC 0.23 - FP32 MAC + add 5.5 pJ); event-driven (idle neurons are skipped).
Memory is explicit: weights and neuron state each live in the smallest SRAM that holds them
(8 KB: 10 pJ, 32 KB: 20 pJ, 1 MB: 100 pJ per 64-bit read) or in DRAM (1.3-2.6 nJ per 64 bit),
and every byte counted in ``weight_bytes_read`` / ``state_bytes_read`` / ``state_bytes_written``
costs 1/8 of the 64-bit access.  One core: no routing.  Static power and timing are unknown.
"""
from ..constants import exact, ranged
from ..model import HardwareModel, MemoryLevel
from ..registry import register

H = "Horowitz, ISSCC 2014, 'Computing's energy problem (and what we can do about it)' (45 nm, 0.9 V)"

CONSTANTS = {
    "e_ac": ranged(0.1e-12, 0.03e-12, 0.9e-12, "J/op", f"{H}: INT32 add 0.1 pJ; range INT8 add 0.03 - FP32 "
                   "add 0.9 pJ", "S"),
    "e_mac": ranged(0.3e-12, 0.23e-12, 4.6e-12, "J/op", f"{H}: INT8 mult 0.2 + INT32 add 0.1 pJ; range INT8 "
                    "MAC 0.23 - FP32 MAC 4.6 pJ", "D"),
    "e_neuron_active": ranged(3.3e-12, 0.23e-12, 5.5e-12, "J/update", f"{H}: INT32 mult 3.1 + 2 INT32 adds; "
                              "range INT8 MAC 0.23 - FP32 MAC 4.6 + FP32 add 0.9 pJ", "D"),
}


def _per_byte(pj_per_64bit_lo: float, pj_per_64bit_hi: float | None = None, value: float | None = None,
              what: str = ""):
    hi = pj_per_64bit_hi if pj_per_64bit_hi is not None else pj_per_64bit_lo
    val = value if value is not None else pj_per_64bit_lo
    return ranged(val * 1e-12 / 8, pj_per_64bit_lo * 1e-12 / 8, hi * 1e-12 / 8, "J/B",
                  f"{H}: {what} per 64-bit read / 8 bytes", "D")


MEMORY = (
    MemoryLevel("sram_8kb", 8 * 1024, _per_byte(10, what="SRAM 8 KB 10 pJ")),
    MemoryLevel("sram_32kb", 32 * 1024, _per_byte(20, what="SRAM 32 KB 20 pJ")),
    MemoryLevel("sram_1mb", 1024 * 1024, _per_byte(100, what="SRAM 1 MB 100 pJ")),
    MemoryLevel("dram", None, _per_byte(1300, 2600, 1300, what="DRAM 1300-2600 pJ")),
)

MODEL = HardwareModel(
    name="asic45nm", title="Generic event-driven ASIC, 45 nm (Horowitz op energies)", kind="asic",
    constants=CONSTANTS, memory_levels=MEMORY,
    notes=("Op energies are Horowitz's 45 nm arithmetic; the op-to-arithmetic mapping is an assumption "
           "(see the ranges).",
           "Memory: weights and state each in the smallest level that holds all of them; writes cost as reads.",
           "Single core: no spike routing. Static power and timing are unknown: latency and static energy "
           "are not modelled."),
    sources=(H,))

register(MODEL)
