"""NVIDIA H100 SXM (datasheet figures) - for the dense baseline (``hardware_models.gpu``)."""
from ..constants import exact, ranged
from ..model import HardwareModel

DS = "NVIDIA H100 datasheet (SXM), via energy_constants.md"

CONSTANTS = {
    "peak_flops_fp16": ranged(989e12, 790e12, 989e12, "FLOP/s", f"{DS}: FP16/BF16 dense 989 TFLOP/s; low: "
                              "about 790 TFLOP/s measured here on an 8192^3 bf16 matmul", "S"),
    "peak_flops_fp8": exact(1979e12, "FLOP/s", f"{DS}: FP8 dense 1,979 TFLOP/s", "S"),
    "peak_flops_fp32": exact(67e12, "FLOP/s", f"{DS}: FP32 67 TFLOP/s", "S"),
    "mem_bandwidth": exact(3.35e12, "B/s", f"{DS}: HBM3 3.35 TB/s", "S"),
    "p_tdp": exact(700.0, "W", f"{DS}: TDP 700 W", "S"),
    "p_idle": ranged(70.0, 50.0, 120.0, "W", "no datasheet figure: range of commonly reported nvidia-smi idle "
                     "power of SXM boards; an estimate, replace with an NVML measurement", "S"),
    "e_flop_fp16": exact(700.0 / 989e12, "J/FLOP", "TDP / peak FP16 dense = 700 W / 989 TFLOP/s = 0.71 pJ "
                         "(optimistic: at peak)", "D"),
    "e_flop_fp32": exact(700.0 / 67e12, "J/FLOP", "TDP / peak FP32 = 700 W / 67 TFLOP/s = 10.4 pJ", "D"),
    "e_dram_byte": exact(3.9e-12 * 8, "J/B", "HBM2 3.9 pJ/bit (widely cited; primary value unverified; HBM3 "
                         "figure unknown) x 8", "S"),
}

MODEL = HardwareModel(
    name="h100", title="NVIDIA H100 SXM", kind="gpu", constants=CONSTANTS,
    notes=("GPU model: costs the dense workload (hardware_models.gpu.cost_dense), not event counts.",
           "Per-FLOP energies at TDP and peak are optimistic bounds: small-batch attention runs far below peak.",
           "Idle power has no datasheet figure: the range is an estimate."),
    sources=(DS,))
