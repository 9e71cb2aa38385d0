"""NVIDIA A100 SXM (datasheet figures) - for the dense baseline (``hardware_models.gpu``)."""
from ..constants import exact, ranged
from ..model import HardwareModel

DS = "NVIDIA A100 datasheet (SXM), via energy_constants.md"

CONSTANTS = {
    "peak_flops_fp16": exact(312e12, "FLOP/s", f"{DS}: FP16/BF16 tensor dense 312 TFLOP/s", "S"),
    "peak_flops_tf32": exact(156e12, "FLOP/s", f"{DS}: TF32 tensor dense 156 TFLOP/s", "S"),
    "peak_flops_fp32": exact(19.5e12, "FLOP/s", f"{DS}: FP32 19.5 TFLOP/s", "S"),
    "mem_bandwidth": exact(2.04e12, "B/s", f"{DS}: HBM2e 2.04 TB/s (80 GB SXM)", "S"),
    "p_tdp": exact(400.0, "W", f"{DS}: TDP 400 W", "S"),
    "p_idle": ranged(60.0, 40.0, 90.0, "W", "no datasheet figure: range of commonly reported nvidia-smi idle "
                     "power of SXM boards; an estimate, replace with a measurement", "S"),
    "e_flop_fp16": exact(400.0 / 312e12, "J/FLOP", "TDP / peak FP16 dense = 400 W / 312 TFLOP/s = 1.28 pJ "
                         "(optimistic: at peak)", "D"),
    "e_flop_fp32": exact(400.0 / 19.5e12, "J/FLOP", "TDP / peak FP32 = 400 W / 19.5 TFLOP/s = 20.5 pJ", "D"),
    "e_dram_byte": exact(3.9e-12 * 8, "J/B", "HBM2 3.9 pJ/bit (widely cited; primary value unverified) x 8", "S"),
}

MODEL = HardwareModel(
    name="a100", title="NVIDIA A100 SXM", kind="gpu", constants=CONSTANTS,
    notes=("GPU model: costs the dense workload (hardware_models.gpu.cost_dense), not event counts.",
           "Per-FLOP energies at TDP and peak are optimistic bounds: small-batch attention runs far below peak.",
           "Idle power has no datasheet figure: the range is an estimate."),
    sources=(DS,))
