"""An Eyeriss-style ANN accelerator with data reuse (the fair ANN baseline of Dampfhoffer et al.
2023), from published normalised per-access energies.

Chen, Emer and Sze, "Eyeriss: A spatial architecture for energy-efficient dataflow for
convolutional neural networks", ISCA 2016 (Fig. / Table of normalised energy per access, 65 nm):
relative to one 16-bit MAC, a register-file access costs 1x, a PE-array (NoC) transfer 2x, a
global-buffer access 6x and a DRAM access 200x.  The 16-bit MAC itself is taken from Horowitz
(ISSCC 2014, 45 nm): FP16 mult 1.1 + add 0.4 = 1.5 pJ as the unit (range INT16-class 0.5 pJ to
1.5 pJ [D]); a quantised (<= 8-bit) MAC costs the INT8 figure 0.23 pJ (mult 0.2 + add 0.03).
Chip: 168 PEs at 200 MHz, 108 KB global buffer (Chen et al., IEEE JSSC 52(1), 2017).  Static
power is not given separately: 0 W, up to the 278 mW the whole chip drew on AlexNet's
convolutional layers (Chen et al. 2017) as the high end.

The cost of a dense workload is in :func:`hardware_models.baselines.cost_eyeriss`.
"""
from ..constants import exact, ranged
from ..model import HardwareModel
from ..registry import register

CHEN16 = "Chen, Emer, Sze, ISCA 2016 (Eyeriss), normalised energy per access relative to a 16-bit MAC"
CHEN17 = "Chen et al., IEEE JSSC 52(1), 2017 (Eyeriss chip: 168 PEs, 200 MHz, 108 KB buffer, 278 mW on AlexNet conv)"
H = "Horowitz, ISSCC 2014 (45 nm)"

CONSTANTS = {
    "e_mac16": ranged(1.5e-12, 0.5e-12, 1.5e-12, "J/MAC", f"{H}: FP16 mult 1.1 + add 0.4 pJ; low: a 16-bit fixed-"
                      "point MAC (assumption, INT8 MAC 0.23 pJ x about 2)", "D"),
    "e_mac8": exact(0.23e-12, "J/MAC", f"{H}: INT8 mult 0.2 + add 0.03 pJ", "S"),
    "rf_factor": ranged(1.0, 1.0, 2.0, "x MAC", f"{CHEN16}: RF 1x; high: 2x (a PE-array transfer per operand)", "P"),
    "glb_factor": exact(6.0, "x MAC", f"{CHEN16}: global buffer 6x", "P"),
    "dram_factor": exact(200.0, "x MAC", f"{CHEN16}: DRAM 200x", "P"),
    "dram_passes": ranged(1.0, 1.0, 2.0, "1", "assumption: each weight, input and output crosses DRAM once with "
                          "full reuse (value), up to twice with imperfect tiling", "D"),
    "glb_bytes": exact(108 * 1024, "B", f"{CHEN17}: 108 KB global buffer", "P"),
    "macs_per_s": exact(168 * 200e6, "MAC/s", f"{CHEN17}: 168 PEs x 200 MHz", "P"),
    "p_static_chip": ranged(0.0, 0.0, 0.278, "W/chip", f"not published separately; high: the whole chip's 278 mW "
                            f"({CHEN17})", "D"),
}

MODEL = HardwareModel(
    name="eyeriss", title="Eyeriss-style ANN accelerator with data reuse (Chen et al. 2016/2017)", kind="ann",
    constants=CONSTANTS, operating_mode="unthrottled",
    host_io="Host transfers are not modelled; DRAM traffic is.",
    notes=("ANN accelerator: costs the dense workload (hardware_models.baselines.cost_eyeriss), not spike events.",
           "Per-access energies are Chen et al.'s normalised 65 nm figures on a Horowitz 45 nm MAC unit."),
    sources=(CHEN16, CHEN17, H))

register(MODEL)
