"""Sensitivity: neuromorphic / GPU energy ratio versus spike rate and time steps T.

Every term of :func:`hardware_models.cost` is linear in the counts, and the counts split into
spike-driven ones (spikes, synaptic ops, messages, weight reads: they scale with the spike
rate r and with T) and step-driven ones (neuron updates, state traffic, barrier time: they
scale with T only).  So the neuromorphic energy of a workload with rate r at T steps is, in
this model, exactly

    E_snn(r, T) = (T / T0) * (A + (r / r0) * B)

where r0, T0 are the measured rate and steps, A = E_snn with every spike-driven count set to
zero and B = E_snn(r0, T0) - A (two evaluations of the cost model).  Static energy is
proportional to the modelled run time, which has a spike-driven part (per-op time) and a
step-driven part (barrier synchronisation), and splits the same way.  Active neuron updates
are kept step-driven (a simplification: fewer spikes also mean fewer active neurons).

The dense model on a GPU runs once per inference whatever r and T, so its energy E_gpu is
one number per batch, and the crossover rate where the SNN stops winning is

    r*(T) = r0 * ((T0 / T) * E_gpu - A) / B        (no crossover if A * T / T0 >= E_gpu).

Literature marks for comparison: Dampfhoffer et al. 2023 (IF-SNNs compete only at 0.15-1.38
spikes per synapse per inference) and Yan et al. 2024 (spike rate below about 5.7 % at
T = 5 once data movement is counted).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from .cost import cost
from .errors import CountsFormatError
from .registry import get
from .workload import CountsView, as_view

DAMPFHOFFER_SPS = (0.15, 1.38)   # spikes per synapse per inference where IF-SNNs compete
YAN_RATE_T5 = (0.057, 5)         # spike rate threshold at T = 5

LITERATURE_NOTES = (
    "Dampfhoffer et al., IEEE TETCI 2023: with data reuse and sparsity counted, IF-SNNs compete with "
    "ANN accelerators only at about 0.15-1.38 spikes per synapse per inference.",
    "Yan et al. 2024: at T = 5 an SNN needs a spike rate below about 5.7 % to beat an equivalent "
    "quantised ANN once data movement and network-on-chip costs are counted.",
)


@dataclass
class Sensitivity:
    """Linear model of one chip's energy in (rate, T) against a fixed GPU energy.

    Units: energies in J (whole batch), rates in spikes per neuron per step.
    ``a_j``/``b_j`` and the bounds ``*_low``/``*_high`` come from the cost model's ranges.
    """

    hardware: str
    gpu: str
    gpu_j: float
    rate0: float
    steps0: int
    a_j: float
    b_j: float
    a_low: float
    b_low: float
    a_high: float
    b_high: float
    synops0: float
    synapses: int
    batch: int
    notes: list[str] = field(default_factory=list)

    def energy(self, rate, steps, which: str = "value"):
        a, b = {"value": (self.a_j, self.b_j), "low": (self.a_low, self.b_low),
                "high": (self.a_high, self.b_high)}[which]
        rate, steps = np.asarray(rate, float), np.asarray(steps, float)
        return steps / self.steps0 * (a + rate / self.rate0 * b)

    def ratio(self, rate, steps, which: str = "value"):
        """E_snn / E_gpu (< 1: the neuromorphic chip wins)."""
        return self.energy(rate, steps, which) / self.gpu_j

    def crossover_rate(self, steps, which: str = "value") -> float | None:
        """Spike rate at which the ratio reaches 1 at ``steps`` (None: the SNN never wins)."""
        a, b = {"value": (self.a_j, self.b_j), "low": (self.a_low, self.b_low),
                "high": (self.a_high, self.b_high)}[which]
        head = self.steps0 / steps * self.gpu_j - a
        if head <= 0 or b <= 0:
            return None if head <= 0 else float("inf")
        return float(self.rate0 * head / b)

    def spikes_per_synapse(self, rate, steps) -> float:
        """Synaptic events per synapse per inference at (rate, steps) (Dampfhoffer's measure)."""
        if self.synapses == 0:
            return float("nan")
        return float(self.synops0 * (rate / self.rate0) * (steps / self.steps0) / self.synapses / self.batch)

    def literature_comparison(self) -> list[str]:
        """This model's crossover set beside Yan et al. (rate at T = 5) and Dampfhoffer et al.
        (spikes per synapse per inference)."""
        out = []
        r5 = self.crossover_rate(YAN_RATE_T5[1])
        what = ("no crossover: the step-driven energy alone exceeds the GPU" if r5 is None
                else f"the line would cross at {r5:.3g} > 1 spike/neuron/step, outside the feasible range: the "
                     "chip uses less energy at every possible rate" if r5 > 1
                else f"crossover rate {r5:.3g} spikes/neuron/step")
        out.append(f"{self.hardware} vs {self.gpu} at T = 5: {what}; Yan et al. 2024 report about "
                   f"{YAN_RATE_T5[0]:.3g} for their SNN vs a quantised ANN.")
        r0 = self.crossover_rate(self.steps0)
        if r0 is not None and np.isfinite(r0) and self.synapses:
            sps = self.spikes_per_synapse(r0, self.steps0)
            inside = DAMPFHOFFER_SPS[0] <= sps <= DAMPFHOFFER_SPS[1]
            out.append(f"{self.hardware} at T0 = {self.steps0}: the crossover is {sps:.3g} synaptic events per "
                       f"synapse per inference ({'inside' if inside else 'outside'} Dampfhoffer et al.'s "
                       f"{DAMPFHOFFER_SPS[0]}-{DAMPFHOFFER_SPS[1]}); measured now: "
                       f"{self.spikes_per_synapse(self.rate0, self.steps0):.3g}.")
        return out

    def table(self, steps_list=(1, 2, 4, 5, 8, 16, 32, 64)) -> list[dict]:
        out = []
        for t in steps_list:
            r = self.crossover_rate(t)
            out.append({"steps": int(t), "crossover_rate": r,
                        "crossover_rate_low_energy": self.crossover_rate(t, "low"),
                        "crossover_rate_high_energy": self.crossover_rate(t, "high"),
                        "spikes_per_synapse_at_crossover": None if r in (None, float("inf"))
                        else self.spikes_per_synapse(r, t)})
        return out

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items()}
        d["crossover"] = self.table()
        d["comparison"] = self.literature_comparison()
        d["literature"] = {"dampfhoffer_2023_spikes_per_synapse": list(DAMPFHOFFER_SPS),
                           "yan_2024_rate_at_T5": YAN_RATE_T5[0]}
        return d


def _strip_spike_trains(placement):
    """A copy of the placement that takes spikes from the (scaled) counts, not spike trains."""
    if placement is None or getattr(placement, "spikes_per_neuron", None) is None:
        return placement
    pl = copy.copy(placement)
    pl.spikes_per_neuron = None
    return pl


def sensitivity(counts, hardware, gpu_j: float, gpu: str = "gpu", circuit=None, placement=None) -> Sensitivity:
    """Fit the linear (rate, T) model of ``hardware``'s energy for ``counts`` against ``gpu_j``.

    ``gpu_j``: energy of the dense model on the GPU for the same batch (e.g. from
    ``hardware_models.gpu.cost_dense(...).total_j`` or :func:`gpu_dense_floor_j`).
    """
    view = as_view(counts)
    neurons = view.neurons()
    spikes = view.total("spikes", "population")
    if neurons == 0 or spikes == 0:
        raise CountsFormatError("sensitivity needs a workload with neurons that spike (rate0 > 0); these counts "
                                f"have {neurons} neurons and {spikes} spikes")
    hw = get(hardware)
    if placement is None and circuit is not None and hw.kind == "neuromorphic" and hw.limits and not hw.all_in:
        from .placement import place
        placement = place(circuit, hw, view)
    placement = _strip_spike_trains(placement)
    full = cost(view, hw, placement=placement)
    zero = cost(view.scaled(spike_factor=0.0), hw, placement=placement)
    rate0 = spikes / (neurons * view.steps * view.batch)
    notes = list(LITERATURE_NOTES) + [
        "Active neuron updates are treated as step-driven (they do not fall with the spike rate).",
        f"Rate = population spikes / (neurons x steps x samples); measured rate0 = {rate0:.4g} at T0 = {view.steps}."]
    return Sensitivity(hw.name, gpu, float(gpu_j), rate0, view.steps, zero.total_j, full.total_j - zero.total_j,
                       zero.low_j, full.low_j - zero.low_j, zero.high_j, full.high_j - zero.high_j,
                       float(view.total("synaptic_acs") + view.total("synaptic_macs")), view.synapses(),
                       view.batch, notes)


def sensitivities_from_block(block: dict) -> list[Sensitivity]:
    """The :class:`Sensitivity` objects of an energy block's ``sensitivity`` entries (dicts,
    one per chip; keys that are not fields, e.g. ``comparison``, are left out)."""
    from dataclasses import fields
    keys = [f.name for f in fields(Sensitivity)]
    return [Sensitivity(**{k: d[k] for k in keys if k in d}) for d in block.get("sensitivity", {}).values()]


def gpu_dense_floor_j(view: CountsView, gpu: str = "h100", which: str = "value") -> float:
    """An optimistic GPU energy for the dense equivalent, used when ``hardware_models.gpu`` is absent.

    One dense pass per sample: every existing synapse is one MAC = 2 FLOP at the GPU's
    FP16 energy per FLOP at TDP and peak, plus every weight byte read once per batch from
    DRAM.  Idle power, activations, the attention map and utilisation are left out, so this
    is a floor (it favours the GPU)."""
    v = as_view(view)
    g = get(gpu)
    flops = 2.0 * v.synapses() * v.batch
    return flops * g.c("e_flop_fp16", which) + v.weight_storage_bytes() * g.c("e_dram_byte", which)
