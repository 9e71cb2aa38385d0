"""NVIDIA Jetson AGX Orin 64GB edge GPU - for the dense baseline.

NVIDIA publishes module-level figures (sparse INT8 TOPS, power modes, memory bandwidth),
not dense FP16 tensor throughput or idle power; each figure below says how it is obtained.
Dense FP16 peak: the GPU's 170 sparse INT8 TOPS (the module's 275 include the DLAs) / 2
(dense) / 2 (FP16 runs at half the INT8 rate on Ampere tensor cores) = 42.5 TFLOP/s, which
equals 64 tensor cores x 512 FLOP/clock x 1.3 GHz; the low end (21 TFLOP/s) assumes the
lower power modes halve the GPU clock.  Energy per FLOP is the dynamic ``(power - idle) /
peak`` of consistent power modes, defined once here.  (Orin Nano, the baseline of Abreu et al.
2025, is a smaller module and is not folded into these ranges.)
"""
from ..constants import ranged
from ..model import HardwareModel
from ..registry import register
from .h100 import HOROWITZ

DS = "NVIDIA Jetson AGX Orin Series data sheet (DS-10662-001) and technical brief, 2022 [S]"

CONSTANTS = {
    "peak_flops_int8": ranged(85e12, 42.5e12, 85e12, "OP/s", f"{DS}: GPU 170 sparse INT8 TOPS / 2 for dense; low: "
                              "lower power modes at half the GPU clock (assumption)", "D"),
    "peak_flops_fp16": ranged(42.5e12, 21.25e12, 42.5e12, "FLOP/s", f"not published as such: {DS} GPU 170 sparse "
                              "INT8 TOPS / 2 (dense) / 2 (FP16) = 64 tensor cores x 512 FLOP/clk x 1.3 GHz; low: "
                              "half the clock in lower power modes (assumption)", "D"),
    "peak_flops_fp32": ranged(5.3e12, 2.65e12, 5.3e12, "FLOP/s", f"{DS}: 2,048 CUDA cores x 2 FLOP x 1.3 GHz; low: "
                              "half the clock", "D"),
    "mem_bandwidth": ranged(204.8e9, 204.8e9, 204.8e9, "B/s", f"{DS}: LPDDR5 204.8 GB/s", "S"),
    "l2_bytes": ranged(4 * 2 ** 20, 4 * 2 ** 20, 4 * 2 ** 20, "B", f"{DS}: 4 MB GPU L2 cache", "S"),
    "p_tdp": ranged(60.0, 15.0, 60.0, "W", f"{DS}: power modes 15-60 W (MAXN 60 W)", "S"),
    "p_idle": ranged(5.0, 2.0, 10.0, "W", "unknown (no data-sheet figure); wide estimate of module idle power", "S"),
    "e_flop_fp16": ranged(55.0 / 42.5e12, 10.0 / 21.25e12, 58.0 / 42.5e12, "J/FLOP",
                          "dynamic (power - idle) / peak FP16 dense of one power mode: (60 - 5) W / 42.5 TFLOP/s "
                          "= 1.29 pJ; low (15 - 5) W / 21.25 (15 W mode, half clock), high (60 - 2) / 42.5", "D"),
    "e_flop_fp32": ranged(55.0 / 5.3e12, 10.0 / 2.65e12, 58.0 / 5.3e12, "J/FLOP",
                          "dynamic (power - idle) / peak FP32, the same power modes as e_flop_fp16", "D"),
    "e_flop_int8": ranged(55.0 / 85e12, 10.0 / 42.5e12, 58.0 / 85e12, "J/op",
                          "dynamic (power - idle) / peak INT8 dense, the same power modes as e_flop_fp16", "D"),
    "e_dram_byte": ranged(4e-12 * 8, 4e-12 * 8, 20e-12 * 8, "J/B", "LPDDR5 energy per bit is not published by "
                          "NVIDIA: 4-20 pJ/bit is an estimate", "S"),
    "e_l2_byte": ranged(2.5e-12, 1.25e-12, 12.5e-12, "J/B", f"{HOROWITZ} / 8 B (value 32 KB, range 8 KB - 1 MB)",
                        "D"),
}

MODEL = HardwareModel(
    name="jetson_orin", title="NVIDIA Jetson AGX Orin 64GB edge GPU", kind="gpu", constants=CONSTANTS,
    operating_mode="unthrottled",
    host_io="The module's ARM CPU and its framework overheads beyond kernel launches are not modelled.",
    notes=("Dense FP16 tensor throughput, idle power and DRAM energy per bit are not published: the ranges are "
           "estimates, tagged as such.",
           "GPU model: costs the dense workload (hardware_models.gpu.cost_dense), not event counts."),
    sources=(DS, HOROWITZ))

register(MODEL)
