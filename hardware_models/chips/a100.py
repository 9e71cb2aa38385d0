"""NVIDIA A100 SXM4 80 GB (datasheet figures) - for the dense baseline (``hardware_models.gpu``).

Energy per FLOP is the dynamic energy ``(TDP - idle) / peak``, defined once here (see
:mod:`hardware_models.chips.h100`)."""
from ..constants import exact, ranged
from ..model import HardwareModel
from ..registry import register
from .h100 import HOROWITZ, IDLE

DS = "NVIDIA A100 Tensor Core GPU datasheet (SXM4 80 GB), 2021"

CONSTANTS = {
    "peak_flops_fp16": exact(312e12, "FLOP/s", f"{DS}: FP16/BF16 tensor dense 312 TFLOP/s", "S"),
    "peak_flops_tf32": exact(156e12, "FLOP/s", f"{DS}: TF32 tensor dense 156 TFLOP/s", "S"),
    "peak_flops_fp32": exact(19.5e12, "FLOP/s", f"{DS}: FP32 19.5 TFLOP/s", "S"),
    "peak_flops_int8": exact(624e12, "OP/s", f"{DS}: INT8 tensor dense 624 TOPS", "S"),
    "e_flop_int8": ranged(340.0 / 624e12, 310.0 / 624e12, 360.0 / 624e12, "J/op",
                          "dynamic (TDP - idle) / peak INT8 dense (same power range as e_flop_fp16)", "D"),
    "mem_bandwidth": exact(2.04e12, "B/s", f"{DS}: HBM2e 2.04 TB/s (80 GB SXM)", "S"),
    "l2_bytes": exact(40 * 2 ** 20, "B", "NVIDIA A100 architecture whitepaper (2020): 40 MB L2 cache", "S"),
    "p_tdp": exact(400.0, "W", f"{DS}: max TDP 400 W", "S"),
    "p_idle": ranged(60.0, 40.0, 90.0, "W", IDLE, "S"),
    "e_flop_fp16": ranged(340.0 / 312e12, 310.0 / 312e12, 360.0 / 312e12, "J/FLOP",
                          "dynamic (TDP - idle) / peak FP16 dense = (400 - 60) W / 312 TFLOP/s = 1.09 pJ "
                          "(310-360 W over the idle range; optimistic: at peak)", "D"),
    "e_flop_fp32": ranged(340.0 / 19.5e12, 310.0 / 19.5e12, 360.0 / 19.5e12, "J/FLOP",
                          "dynamic (TDP - idle) / peak FP32 = 340 W / 19.5 TFLOP/s = 17.4 pJ", "D"),
    "e_dram_byte": exact(3.9e-12 * 8, "J/B", "HBM2 3.9 pJ/bit (O'Connor et al., MICRO 2017, as widely cited) x 8",
                         "S"),
    "e_l2_byte": ranged(2.5e-12, 1.25e-12, 12.5e-12, "J/B", f"{HOROWITZ} / 8 B (value 32 KB, range 8 KB - 1 MB); "
                        "the GPU's own L2 energy is not published", "D"),
}

MODEL = HardwareModel(
    name="a100", title="NVIDIA A100 SXM", kind="gpu", constants=CONSTANTS, operating_mode="unthrottled",
    host_io="Host (CPU, PCIe) transfers and framework overheads beyond kernel launches are not modelled.",
    notes=("GPU model: costs the dense workload (hardware_models.gpu.cost_dense), not event counts.",
           "Per-FLOP energies at peak are optimistic bounds: small-batch attention runs far below peak.",
           "Idle power has no datasheet figure: the range is an estimate."),
    sources=(DS, HOROWITZ))

register(MODEL)
