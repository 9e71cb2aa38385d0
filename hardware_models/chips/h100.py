"""NVIDIA H100 SXM5 (datasheet figures) - for the dense baseline (``hardware_models.gpu``).

Energy per FLOP is defined once, here, as the dynamic energy ``(TDP - idle) / peak`` (the
idle power is charged separately for the run time by ``hardware_models.gpu``); its range
pairs the ends of the idle-power and peak ranges that minimise / maximise it.
"""
from ..constants import exact, ranged
from ..model import HardwareModel
from ..registry import register

DS = "NVIDIA H100 Tensor Core GPU datasheet (SXM5), 2023"
IDLE = ("no datasheet figure: range of commonly reported nvidia-smi idle power of SXM boards; an estimate, "
        "replace with an NVML measurement (hardware_models.nvml)")
HOROWITZ = "Horowitz, ISSCC 2014 (45 nm SRAM: 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ per 64-bit read)"

CONSTANTS = {
    "peak_flops_fp16": ranged(989e12, 790e12, 989e12, "FLOP/s", f"{DS}: FP16/BF16 dense 989 TFLOP/s; low: "
                              "about 790 TFLOP/s measured on an 8192^3 bf16 matmul (this project, on an H100)", "S"),
    "peak_flops_fp8": exact(1979e12, "FLOP/s", f"{DS}: FP8 dense 1,979 TFLOP/s", "S"),
    "peak_flops_fp32": exact(67e12, "FLOP/s", f"{DS}: FP32 67 TFLOP/s", "S"),
    "peak_flops_int8": exact(1979e12, "OP/s", f"{DS}: INT8 tensor dense 1,979 TOPS", "S"),
    "e_flop_int8": ranged(630.0 / 1979e12, 580.0 / 1979e12, 650.0 / 1979e12, "J/op",
                          "dynamic (TDP - idle) / peak INT8 dense (same power range as e_flop_fp16)", "D"),
    "mem_bandwidth": exact(3.35e12, "B/s", f"{DS}: HBM3 3.35 TB/s", "S"),
    "l2_bytes": exact(50 * 2 ** 20, "B", f"{DS}: 50 MB L2 cache", "S"),
    "p_tdp": exact(700.0, "W", f"{DS}: max TDP 700 W", "S"),
    "p_idle": ranged(70.0, 50.0, 120.0, "W", IDLE, "S"),
    "e_flop_fp16": ranged(630.0 / 989e12, 580.0 / 989e12, 650.0 / 790e12, "J/FLOP",
                          "dynamic (TDP - idle) / peak FP16 dense = (700 - 70) W / 989 TFLOP/s = 0.637 pJ; low "
                          "(700 - 120) / 989, high (700 - 50) / 790 (optimistic: at peak)", "D"),
    "e_flop_fp32": ranged(630.0 / 67e12, 580.0 / 67e12, 650.0 / 67e12, "J/FLOP",
                          "dynamic (TDP - idle) / peak FP32 = 630 W / 67 TFLOP/s = 9.4 pJ (580-650 W)", "D"),
    "e_dram_byte": exact(3.9e-12 * 8, "J/B", "HBM2 3.9 pJ/bit (O'Connor et al., MICRO 2017, 'Fine-grained DRAM', "
                         "as widely cited; HBM3 figure not published) x 8", "S"),
    "e_l2_byte": ranged(2.5e-12, 1.25e-12, 12.5e-12, "J/B", f"{HOROWITZ} / 8 B: value the 32 KB figure, range "
                        "8 KB - 1 MB; the GPU's own L2 energy is not published", "D"),
}

MODEL = HardwareModel(
    name="h100", title="NVIDIA H100 SXM", kind="gpu", constants=CONSTANTS, operating_mode="unthrottled",
    host_io="Host (CPU, PCIe) transfers and framework overheads beyond kernel launches are not modelled.",
    notes=("GPU model: costs the dense workload (hardware_models.gpu.cost_dense), not event counts.",
           "Per-FLOP energies at peak are optimistic bounds: small-batch attention runs far below peak.",
           "Idle power has no datasheet figure: the range is an estimate."),
    sources=(DS, HOROWITZ))

register(MODEL)
