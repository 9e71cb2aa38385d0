"""HardwareModel: one chip (or formula) described as data.

A model is a name, a kind, a dict of :class:`~hardware_models.constants.Constant` keyed by
the standard keys below, per-core limits (neuromorphic chips), and notes.  The cost model
(:mod:`hardware_models.cost`) reads only these keys, so a chip module is pure data.

Standard constant keys (all optional; a missing key means "not published / not modelled"
and the cost model says so in the report's notes):

Energy per event [J]
    ``e_ac`` accumulate synaptic op (binary spike x synapse); ``e_mac`` multiply-accumulate
    synaptic op (graded spike x synapse); ``e_neuron_active`` / ``e_neuron_idle`` neuron
    update with / without work (a chip without ``e_neuron_idle`` is event-driven and skips
    idle neurons); ``e_spike_out`` per emitted spike (spike generation); ``e_message``
    per spike message sent to one destination core; ``e_route_local`` delivery of a message
    within a tile; ``e_hop`` per mesh hop between tiles; ``e_all_in`` per synaptic event,
    everything included (TrueNorth); ``e_weight_byte`` / ``e_state_byte`` explicit memory
    access per byte (chips whose per-op figures exclude memory).
Power [W]
    ``p_static_chip`` static (leakage + clock) power per chip, paid for the modelled run time.
Time [s]
    ``t_ac`` / ``t_neuron_active`` / ``t_neuron_idle`` / ``t_spike_out`` per-core time per
    event; ``t_message`` per message sent and ``t_receive`` per message received (charged
    to the sending / receiving core); ``t_hop`` per mesh hop; ``t_barrier_multichip`` the
    barrier of a multi-chip system (replaces the on-chip barrier when more than one chip is used); ``t_barrier_1`` and ``t_barrier_max`` barrier
    synchronisation for one tile and for ``limits.tiles_per_chip`` tiles (interpolated
    linearly in tiles used); ``t_step`` a fixed time step for chips that run in real time
    (TrueNorth's 1 kHz tick, SpiNNaker's timer tick).
GPU / CPU (for the dense baseline, costed by ``hardware_models.gpu``)
    ``peak_flops_fp16``, ``peak_flops_fp32``, ``peak_flops_int8`` [FLOP/s],
    ``mem_bandwidth`` [B/s], ``p_tdp`` and ``p_idle`` [W], ``e_flop_fp16`` / ``e_flop_fp32``
    [J/FLOP] (defined once, in each GPU module, as dynamic energy (TDP - idle) / peak),
    ``e_dram_byte`` [J/B], ``l2_bytes`` [B] and ``e_l2_byte`` [J/B] (intermediates that fit
    in L2 are charged there, not in DRAM).

Accounting (every model states it, :meth:`HardwareModel.accounting`): ``operating_mode`` is
``"unthrottled"`` (a step ends when its work and barrier end), ``"fixed-step"`` (a wall-clock
tick per step, ``t_step``: static power is paid for the whole tick) or ``"n/a"`` (no timing
model); ``host_io`` states what host / IO overheads are (not) modelled.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from spikeattn.errors import ParameterError

from .constants import Constant

KINDS = ("neuromorphic", "asic", "gpu", "cpu", "literature", "ann")
MODES = ("unthrottled", "fixed-step", "n/a")


@dataclass(frozen=True)
class CoreLimits:
    """Per-core resources of a neuromorphic chip; ``None`` means unknown / not limiting.

    ``neurons``: neurons (compartments) per core; ``synaptic_memory_bytes``: synaptic
    memory per core; ``bytes_per_synapse``: storage of one synapse (assumption, see the
    chip's notes); ``fan_in``: distinct input axons (pre-synaptic neurons) per core;
    ``fan_out``: destination cores reachable from one core (core-to-core edges);
    ``cores_per_tile`` and ``tile_mesh`` (width, height): the chip's 2-D mesh of tiles;
    ``max_cores_per_chip`` caps the cores where the mesh has unused slots;
    ``state_in_core_memory``: neuron state shares the core's memory with the synapses
    (software cores such as SpiNNaker 2's PEs), so a slice needs ``synapses x
    bytes_per_synapse + neurons x state_bytes`` of it.

    ``weight_sharing``: a core stores a weight used by several of its synapses once (a shared
    ``(n_out, n_in)`` matrix applied to every token, a convolution kernel applied at every
    position): a structured ``shared`` projection then needs, per core, the non-zeros of the
    rows of ``W`` the core holds, once however many tokens' copies it holds, and a ``conv`` the
    kernels of its output channels.  Without it every synapse has its own entry (``G x
    nnz(W)`` for G tokens).  ``weight_sharing_source`` states the evidence.  Structured
    placement only (:mod:`hardware_models.structured`); flat circuits have no shared weights.
    """

    neurons: int | None
    synaptic_memory_bytes: int | None
    bytes_per_synapse: float
    fan_in: int | None
    fan_out: int | None
    cores_per_tile: int
    tile_mesh: tuple[int, int]
    source: str = ""
    max_cores_per_chip: int | None = None
    state_in_core_memory: bool = False
    weight_sharing: bool = False
    weight_sharing_source: str = ""

    @property
    def tiles_per_chip(self) -> int:
        return self.tile_mesh[0] * self.tile_mesh[1]

    @property
    def cores_per_chip(self) -> int:
        full = self.tiles_per_chip * self.cores_per_tile
        return min(full, self.max_cores_per_chip) if self.max_cores_per_chip else full

    def to_dict(self) -> dict:
        return {"neurons": self.neurons, "synaptic_memory_bytes": self.synaptic_memory_bytes,
                "bytes_per_synapse": self.bytes_per_synapse, "fan_in": self.fan_in,
                "fan_out": self.fan_out, "cores_per_tile": self.cores_per_tile,
                "tile_mesh": list(self.tile_mesh), "cores_per_chip": self.cores_per_chip,
                "state_in_core_memory": self.state_in_core_memory,
                "weight_sharing": self.weight_sharing, "weight_sharing_source": self.weight_sharing_source,
                "source": self.source}


@dataclass(frozen=True)
class MemoryLevel:
    """One level of an explicit memory hierarchy: data that fits in ``capacity_bytes``
    (``None`` = unbounded, e.g. DRAM) is read at ``energy_per_byte`` [J/B]."""

    name: str
    capacity_bytes: int | None
    energy_per_byte: Constant


@dataclass(frozen=True)
class HardwareModel:
    """A chip or formula as data.

    ``all_in``: the per-event figure ``e_all_in`` already includes memory, routing, neuron
    updates and static power (TrueNorth): nothing is added on top.  ``memory_in_ops``: the
    per-op energies include the SRAM accesses of the op (Loihi's per-op figures come from
    whole-core simulations), so memory traffic is reported as included, not added.
    ``memory_levels``: explicit hierarchy (smallest first) for chips whose op energies
    exclude memory (the 45 nm ASIC): weights and state are each stored in the smallest level
    that holds them and every byte read/written costs that level's energy.
    """

    name: str
    title: str
    kind: str
    constants: dict[str, Constant]
    limits: CoreLimits | None = None
    all_in: bool = False
    memory_in_ops: bool = False
    memory_levels: tuple[MemoryLevel, ...] = ()
    notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = field(default=())
    operating_mode: str = "n/a"
    included_in_ops: tuple[str, ...] = ()   # terms inside the per-event figure ("neuron_updates", "routing")
    host_io: str = "Host / IO overheads are not modelled."

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ParameterError(f"hardware model '{self.name}'", "kind", f"is {self.kind!r}.",
                                 f"use one of {list(KINDS)}.")
        if self.kind == "neuromorphic" and not self.all_in and "e_ac" not in self.constants:
            raise ParameterError(f"hardware model '{self.name}'", "constants", "has no 'e_ac' (energy per "
                                 "synaptic op).", "add it, or mark the model all_in with 'e_all_in'.")
        if self.operating_mode not in MODES:
            raise ParameterError(f"hardware model '{self.name}'", "operating_mode", f"is {self.operating_mode!r}.",
                                 f"use one of {list(MODES)}.")
        if self.all_in and "e_all_in" not in self.constants:
            raise ParameterError(f"hardware model '{self.name}'", "constants", "is all_in but has no 'e_all_in'.")

    def has(self, key: str) -> bool:
        return key in self.constants

    def c(self, key: str, which: str = "value") -> float:
        """Constant ``key`` at ``which`` end of its range (``value``/``low``/``high``)."""
        return self.constants[key].pick(which)

    def accounting(self) -> dict:
        """What the model charges besides per-event energy: static power (value, range, source,
        or ``None`` with the reason), operating mode and host / IO overheads."""
        key = "p_idle" if self.kind == "gpu" else "p_static_chip"   # "ann": p_static_chip too
        c = self.constants.get(key)
        static = ({"key": key, "value_w": c.value, "low_w": c.low, "high_w": c.high, "source": c.source}
                  if c is not None else None)
        why = None
        if c is None:
            why = ("included in the all-in per-event figure" if self.all_in else
                   "no timing model, so no run time to charge static power over" if self.kind in ("asic", "cpu")
                   else "left out by the literature formula" if self.kind == "literature"
                   else "not published in the cited sources")
        return {"static_power": static, "static_not_modelled_because": why, "operating_mode": self.operating_mode,
                "t_step_s": self.c("t_step") if self.has("t_step") else None, "host_io": self.host_io}

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "kind": self.kind, "all_in": self.all_in,
                "accounting": self.accounting(),
                "memory_in_ops": self.memory_in_ops,
                "memory_levels": [{"name": m.name, "capacity_bytes": m.capacity_bytes,
                                   "energy_per_byte": m.energy_per_byte.to_dict()} for m in self.memory_levels],
                "constants": {k: v.to_dict() for k, v in self.constants.items()},
                "limits": self.limits.to_dict() if self.limits else None,
                "notes": list(self.notes), "sources": list(self.sources)}
