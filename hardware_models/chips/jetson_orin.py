"""NVIDIA Jetson AGX Orin 64GB-class edge GPU - for the dense baseline.

NVIDIA publishes module-level figures (INT8 sparse TOPS of GPU + DLA, a power envelope,
memory bandwidth), not dense FP16 tensor throughput or idle power; the figures below say
how each is obtained.  Orin Nano (the baseline of Abreu et al. 2025) is smaller: 40 sparse
INT8 TOPS, 7-15 W, 68 GB/s [S]; it sets the low ends of the ranges where marked.
"""
from ..constants import ranged
from ..model import HardwareModel

DS = "NVIDIA Jetson AGX Orin / Orin Nano module data sheets [S]"

CONSTANTS = {
    "peak_flops_int8": ranged(137.5e12, 20e12, 137.5e12, "OP/s", f"{DS}: 275 sparse INT8 TOPS (GPU+DLA) / 2 "
                              "for dense; low: Orin Nano 40 / 2", "D"),
    "peak_flops_fp16": ranged(42.5e12, 10e12, 85e12, "FLOP/s", "not published as such: dense INT8 / 2 as a "
                              "guess at FP16 tensor dense (factor-of-2 range either way; low: Orin Nano class)", "D"),
    "peak_flops_fp32": ranged(5.3e12, 1.3e12, 5.3e12, "FLOP/s", "2,048 CUDA cores x 2 FLOP x 1.3 GHz (AGX Orin); "
                              "low: Orin Nano 1,024 cores x 2 x 0.625 GHz", "D"),
    "mem_bandwidth": ranged(204.8e9, 68e9, 204.8e9, "B/s", f"{DS}: LPDDR5 204.8 GB/s (AGX); low: Orin Nano 68 GB/s",
                            "S"),
    "p_tdp": ranged(60.0, 7.0, 60.0, "W", f"{DS}: power modes 15-60 W (AGX); low: Orin Nano 7 W mode", "S"),
    "p_idle": ranged(5.0, 2.0, 10.0, "W", "unknown (no data-sheet figure); wide estimate of module idle power", "S"),
    "e_flop_fp16": ranged(60.0 / 42.5e12, 15.0 / 85e12, 60.0 / 10e12, "J/FLOP", "power / peak FP16 dense from "
                          "the ranges above (optimistic at peak)", "D"),
    "e_dram_byte": ranged(4e-12 * 8, 4e-12 * 8, 20e-12 * 8, "J/B", "LPDDR5 energy per bit is not published by "
                          "NVIDIA: 4-20 pJ/bit is an estimate", "S"),
}

MODEL = HardwareModel(
    name="jetson_orin", title="NVIDIA Jetson AGX Orin 64GB-class edge GPU", kind="gpu", constants=CONSTANTS,
    notes=("Dense FP16 tensor throughput, idle power and DRAM energy per bit are not published: the ranges are "
           "wide estimates, tagged as such.",
           "GPU model: costs the dense workload (hardware_models.gpu.cost_dense), not event counts."),
    sources=(DS,))
