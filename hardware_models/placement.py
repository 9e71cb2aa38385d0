"""Placement of a circuit's populations onto the cores of a neuromorphic chip.

1. **Slicing.**  Each population is cut into equal contiguous slices, as few as possible, so
   that every slice alone fits one core: neurons <= ``limits.neurons``, incoming synapses x
   ``bytes_per_synapse`` <= ``limits.synaptic_memory_bytes``, distinct pre-synaptic neurons
   (input axons) <= ``limits.fan_in``.  A single neuron that breaks a limit cannot be placed:
   :class:`PlacementError` names the limit and the neuron.
2. **Partitioning.**  Slices are nodes of an undirected graph whose edge weights are the
   expected spike messages between them (spikes of the pre-slice's neurons that have at least
   one synapse into the post-slice).  The slice set is bisected recursively with networkx's
   Kernighan-Lin (minimising the cut weight) until every part fits one core; then parts joined
   by the heaviest traffic are merged while the merged part still fits (fewer cores, fewer
   crossings).  Cores are numbered in bisection order, which keeps related parts adjacent.
   A graph of more than ``partitioners.KL_MAX_SLICES`` slices is bisected by METIS instead
   (multilevel, ``pymetis``: the optional ``placement`` extra) when it is installed; the
   partitioner that ran is ``Placement.partitioner`` (:mod:`hardware_models.partitioners`).
3. **Mesh.**  Core ``k`` lies on chip ``k // cores_per_chip``, tile ``local // cores_per_tile``;
   tiles fill the chip's (width x height) mesh in a serpentine; chips sit side by side in x.
   Hops between cores are the Manhattan distance of their tiles (0 within a tile).
4. **Traffic.**  A spike of neuron i of projection p's pre is sent once to every core holding
   a post-neuron it has a synapse to (one message per destination core).  Messages to the
   sender's own core are intra-core; the others are inter-core and travel the hops between
   tiles.  Spikes per neuron come from a SimResult's spike trains when given, otherwise each
   element's spike total is spread evenly over its neurons.  Input sources are injected at the
   mesh origin (tile (0, 0) of chip 0): all their messages are inter-core.
5. **Fan-out.**  The distinct destination cores of each core's neurons must be <=
   ``limits.fan_out``; checked after partitioning.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .errors import PlacementError
from .model import CoreLimits, HardwareModel
from .partition import make_slices
from .partitioners import partition_slices
from .placement_types import Placement, Traffic  # noqa: F401 (re-export: hardware_models.placement.Placement)
from .registry import get
from .structured import place_structured
from .workload import as_view


def place(circuit, chip, result=None, *, limits: CoreLimits | None = None, max_chips: int | None = None,
          seed: int = 0, exact: bool | None = None, partitioner: str | None = "auto") -> Placement:
    """Map ``circuit``'s populations onto ``chip``'s cores (see the module docstring).

    ``chip``: registry name or HardwareModel with ``limits``; ``result``: optional SimResult
    (its spike trains weight the partition and the traffic) or EventCounts / counts dict
    (element spike totals); ``limits``: override the chip's core limits (e.g. for studies);
    ``max_chips``: raise PlacementError if more chips would be needed.

    A structured circuit is placed from its shapes (:mod:`hardware_models.structured`, never
    expanded): exactly as its expansion would be when small (``exact=None``: at most
    ``EXACT_MAX_SLICES`` slices and ``EXACT_MAX_SYNAPSES`` synapses; True / False force
    either way), else as an :class:`~hardware_models.structured.AggregatePlacement`.

    ``partitioner``: ``"auto"`` (Kernighan-Lin up to ``KL_MAX_SLICES`` slices, METIS above when
    pymetis is installed), ``"metis"`` or ``"kernighan-lin"``
    (:mod:`hardware_models.partitioners`); the one that ran is ``Placement.partitioner``.
    """
    hw = chip if isinstance(chip, HardwareModel) else get(chip)
    lim = limits or hw.limits
    if lim is None:
        raise PlacementError("core limits", hw.name, f"'{hw.name}' is a {hw.kind} model without per-core "
                             "limits.", "place onto a neuromorphic chip (loihi, loihi2, truenorth, spinnaker1/2).")
    circuit.validate()
    spikes_per_neuron = None
    view = None
    if result is not None and hasattr(result, "spikes") and hasattr(result, "counts"):
        spikes_per_neuron = {n: (np.asarray(a) != 0).sum(axis=(0, 1)).astype(float) for n, a in result.spikes.items()}
        view = result.counts
    elif result is not None:
        view = as_view(result)

    def spikes(name: str, size: int) -> np.ndarray:
        if spikes_per_neuron is not None and name in spikes_per_neuron:
            return spikes_per_neuron[name]
        if view is not None:
            v = as_view(view)
            if name in v.elements:
                return np.full(size, v.elements[name].totals.get("spikes", 0) / size)
        return np.ones(size)

    if circuit.structured:              # placed from the shapes, never expanded (hardware_models.structured)
        pl = place_structured(circuit, hw, lim, spikes, spikes_per_neuron, seed=seed, exact=exact,
                              partitioner=partitioner)
        return _finish(pl, circuit, lim, max_chips)
    slices = make_slices(circuit, lim)
    parts, used = partition_slices(circuit, slices, spikes, lim, seed, partitioner)
    core_of_slice = [0] * len(slices)
    for k, part in enumerate(parts):
        for i in part:
            core_of_slice[i] = k
    pl = Placement(circuit, hw, lim, slices, core_of_slice, spikes_per_neuron)
    pl.partitioner = used
    return _finish(pl, circuit, lim, max_chips)


def _finish(pl, circuit, lim: CoreLimits, max_chips: int | None):
    if max_chips is not None and pl.chips_used > max_chips:
        raise PlacementError("cores per chip", f"circuit '{circuit.name}'", f"needs {pl.cores_used} cores = "
                             f"{pl.chips_used} chips of {lim.cores_per_chip} cores, more than max_chips="
                             f"{max_chips}.", "allow more chips or shrink the circuit.")
    if getattr(pl, "exact", True):
        _check_fan_out(pl, pl.circuit, lim)
    elif lim.fan_out is not None and pl.fan_out_estimate() > lim.fan_out:
        raise PlacementError("fan-out (destination cores) per core", "a sampled core",
                             f"its neurons reach {pl.fan_out_estimate()} cores > {lim.fan_out}.",
                             "use a chip with larger cores or reduce the projection's spread.")
    return pl


def _check_fan_out(pl: Placement, circuit, lim: CoreLimits) -> None:
    if lim.fan_out is None:
        return
    k_n = max(pl.cores_used, 1)
    src_all, dst_all = [], []
    for p in circuit.projections.values():
        if p.pre not in pl.neuron_core:
            continue
        d = pl.dest(p)
        src_all.append(pl.neuron_core[p.pre][d.row])
        dst_all.append(np.asarray(d.col, np.int64))
    if not src_all:
        return
    src, dst = np.concatenate(src_all), np.concatenate(dst_all)
    pairs = np.unique(src * k_n + dst)
    n_dest = np.bincount(pairs // k_n, minlength=k_n)
    over = np.flatnonzero(n_dest > lim.fan_out)
    if over.size:
        firsts, first_at = np.unique(src, return_index=True)   # report the core met first, as a dict would
        k = int(min(over, key=lambda c: first_at[np.searchsorted(firsts, c)]))
        pops = sorted({s.pop for s, c in zip(pl.slices, pl.core_of_slice) if c == k})
        raise PlacementError("fan-out (destination cores) per core", f"core {k} holding {pops}",
                             f"its neurons reach {int(n_dest[k])} cores > {lim.fan_out}.",
                             "use a chip with larger cores or reduce the projection's spread.")


def with_limits(chip, **overrides) -> CoreLimits:
    """The chip's core limits with some fields replaced (e.g. ``neurons=4`` for a study)."""
    hw = chip if isinstance(chip, HardwareModel) else get(chip)
    return replace(hw.limits, **overrides)
