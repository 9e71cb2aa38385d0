"""The spiking-transformer literature's formula as a named model.

``E = E_MAC * MACs + E_AC * ACs`` with E_MAC = 4.6 pJ (FP32 mult 3.7 + add 0.9) and
E_AC = 0.9 pJ (FP32 add) from Horowitz 45 nm, as in Spikformer, Spike-driven Transformer and
SpikeZIP-TF.  It leaves out memory traffic, routing, neuron updates and static power.
"""
from ..constants import exact
from ..model import HardwareModel
from ..registry import register

H = "Horowitz ISSCC 2014 45 nm FP32, as used by Spikformer / Spike-driven Transformer / SpikeZIP-TF"

CONSTANTS = {
    "e_mac": exact(4.6e-12, "J/op", f"{H}: E_MAC = 3.7 + 0.9 = 4.6 pJ", "S"),
    "e_ac": exact(0.9e-12, "J/op", f"{H}: E_AC = 0.9 pJ", "S"),
}

MODEL = HardwareModel(
    name="literature", title="Literature formula E_MAC*MACs + E_AC*ACs (4.6 / 0.9 pJ)", kind="literature",
    constants=CONSTANTS,
    notes=("The field's usual formula: leaves out memory traffic, routing, neuron updates, static power "
           "(and, in papers, attention matmuls and softmax/LayerNorm).",),
    sources=(H,))

register(MODEL)
