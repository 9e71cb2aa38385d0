"""A desktop CPU simulating the SNN or running the dense model (Degnan 2015 figure).

KerasSpiking's ``model_energy.py`` device 'cpu' (Intel i7-4960X, Degnan et al. 2015):
8.6 nJ per synaptic op and 8.6 nJ per neuron update.  A CPU simulation is clock-driven
(every neuron every step).  Static power and timing are not modelled.
"""
from ..constants import exact
from ..model import HardwareModel
from ..registry import register

KS = "KerasSpiking model_energy.py, device 'cpu' (Degnan et al. 2015, Intel i7-4960X)"

CONSTANTS = {
    "e_ac": exact(8.6e-9, "J/op", f"{KS}: 8.6 nJ per synaptic op", "P"),
    "e_mac": exact(8.6e-9, "J/op", f"{KS}: 8.6 nJ per op", "P"),
    "e_neuron_active": exact(8.6e-9, "J/update", f"{KS}: 8.6 nJ per neuron update", "P"),
    "e_neuron_idle": exact(8.6e-9, "J/update", f"{KS}: 8.6 nJ per neuron update (clock-driven)", "P"),
    "p_tdp": exact(130.0, "W", "Intel i7-4960X TDP 130 W [S]", "S"),
}

MODEL = HardwareModel(
    name="cpu", title="Desktop CPU (Intel i7-4960X class)", kind="cpu", constants=CONSTANTS, memory_in_ops=True,
    notes=("Per-op figures are whole-system averages (memory included) from an older CPU; static power and "
           "timing are not modelled.",),
    sources=(KS,))

register(MODEL)
