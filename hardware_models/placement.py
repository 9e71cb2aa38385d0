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

import math
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from .errors import PlacementError
from .model import CoreLimits, HardwareModel
from .partition import Slice, bisect, dest_cores, make_slices, merge, slice_graph
from .registry import get


@dataclass
class Traffic:
    """Spike messages after placement: totals over steps and samples."""

    intra_core_messages: float
    inter_core_messages: float
    hops: float
    inter_chip_messages: float
    host_messages: float

    def to_dict(self) -> dict:
        return {k: float(v) for k, v in self.__dict__.items()}


class Placement:
    """Result of :func:`place`: slices, their cores and the chip's mesh geometry."""

    def __init__(self, circuit, chip: HardwareModel, limits: CoreLimits, slices: list[Slice],
                 core_of_slice: list[int], spikes_per_neuron: dict[str, np.ndarray] | None = None):
        self.circuit, self.chip, self.limits = circuit, chip, limits
        self.slices, self.core_of_slice = slices, core_of_slice
        self.cores_used = max(core_of_slice) + 1 if core_of_slice else 0
        self.chips_used = max(1, math.ceil(self.cores_used / limits.cores_per_chip))
        self.spikes_per_neuron = spikes_per_neuron
        self._dest_cache: dict = {}
        self.neuron_core = {n: np.zeros(p.size, np.int64) for n, p in circuit.populations.items()}
        for s, k in zip(slices, core_of_slice):
            self.neuron_core[s.pop][s.start:s.stop] = k
        ks = np.arange(max(self.cores_used, 1))
        self._xy = np.stack(self.core_xy(ks), axis=1)
        tiles = {(int(k) // limits.cores_per_chip, int(k) % limits.cores_per_chip // limits.cores_per_tile)
                 for k in ks}
        per_chip = {}
        for chip_i, _ in tiles:
            per_chip[chip_i] = per_chip.get(chip_i, 0) + 1
        self.tiles_used = max(per_chip.values()) if per_chip else 1
        xy = self._xy[:max(self.cores_used, 1)]
        span = xy.max(axis=0) - xy.min(axis=0)
        self.mesh_diameter = int(span.sum())  # longest route between used cores, in hops

    @property
    def neuron_cores(self) -> dict[str, np.ndarray]:
        """Core per neuron of every node (for SANA-FE's mapping): populations as placed; each neuron
        of an input source (injected from the host in this model) is put on the core most of its
        own synapses reach, so a large source is split across cores (a simulator with a cap on
        input units per core spreads the excess: :func:`hardware_models.sanafe_engine.fit_inputs`)."""
        out = {n: a.copy() for n, a in self.neuron_core.items()}
        k = max(self.cores_used, 1)
        for n, src in self.circuit.sources.items():
            hits = np.zeros((src.size, k))             # per source neuron: destination cores it reaches
            for p in self.circuit.projections.values():
                if p.pre == n:
                    d = self.dest(p)
                    np.add.at(hits, (d.row, d.col), 1.0)
            out[n] = hits.argmax(axis=1).astype(np.int64)
        return out

    # ------------------------------------------------------------------ synapses
    def dest(self, p) -> sp.coo_matrix:
        """Distinct (pre neuron, destination core) pairs of projection ``p`` (computed once)."""
        if p.name not in self._dest_cache:
            self._dest_cache[p.name] = dest_cores(p.weights, self.neuron_core[p.post], self.cores_used)
        return self._dest_cache[p.name]

    def synapses_in(self, p, start: int, stop: int) -> int:
        """Synapses of ``p`` onto post neurons ``start:stop``."""
        ptr = self._indptr(p)
        return int(ptr[stop] - ptr[start])

    def synapse_total(self, p) -> int:
        return int(self._indptr(p)[-1])

    def _indptr(self, p):
        key = ("indptr", p.name)
        if key not in self._dest_cache:
            self._dest_cache[key] = sp.csr_matrix(p.weights).indptr
        return self._dest_cache[key]

    # ------------------------------------------------------------------ geometry
    def core_xy(self, k):
        """Global (x, y) tile coordinates of core(s) ``k``."""
        lim = self.limits
        k = np.asarray(k)
        chip, local = k // lim.cores_per_chip, k % lim.cores_per_chip
        tile = local // lim.cores_per_tile
        w = lim.tile_mesh[0]
        y = tile // w
        x = np.where(y % 2 == 0, tile % w, w - 1 - tile % w)
        return x + chip * w, y

    def hops(self, a, b):
        """Mesh hops between cores ``a`` and ``b`` (Manhattan distance of their tiles)."""
        return np.abs(self._xy[a] - self._xy[b]).sum(axis=-1)

    # ------------------------------------------------------------------ traffic
    def _spikes(self, name: str, size: int, view) -> np.ndarray:
        if self.spikes_per_neuron is not None and name in self.spikes_per_neuron:
            return np.asarray(self.spikes_per_neuron[name], float)
        if view is None or name not in view.elements:
            return np.ones(size)
        return np.full(size, view.elements[name].totals.get("spikes", 0) / size)

    def traffic(self, view=None) -> Traffic:
        """Messages and hops from the counts (``CountsView``/EventCounts/dict) or stored spikes."""
        from .workload import as_view
        view = as_view(view) if view is not None else None
        intra = inter = hops = chips = host = 0.0
        for p in self.circuit.projections.values():
            pre = self.circuit.node(p.pre)
            s = self._spikes(p.pre, pre.size, view)
            dest = self.dest(p)                          # (pre, cores) coo
            w = s[dest.row]
            if p.pre in self.neuron_core:
                src = self.neuron_core[p.pre][dest.row]
                same = src == dest.col
                intra += w[same].sum()
                inter += w[~same].sum()
                hops += (w * self.hops(src, dest.col)).sum()
                chips += w[src // self.limits.cores_per_chip != dest.col // self.limits.cores_per_chip].sum()
            else:  # input source, injected at the mesh origin
                inter += w.sum()
                host += w.sum()
                hops += (w * np.abs(self._xy[dest.col]).sum(axis=-1)).sum()
                chips += w[dest.col // self.limits.cores_per_chip != 0].sum()
        return Traffic(intra, inter, hops, chips, host)

    def core_loads(self, view) -> list[dict]:
        """Work per core (totals): synaptic ops by synapse share, neuron updates and spikes by
        neuron share of each slice; messages sent (``msgs_out``) and received (``msgs_in``) per
        core, one per spike and destination core (as :meth:`traffic`)."""
        from .workload import as_view
        view = as_view(view)
        k_n = self.cores_used
        msgs_in, msgs_out = np.zeros(k_n), np.zeros(k_n)
        for p in self.circuit.projections.values():      # one message per (spike, destination core)
            pre = self.circuit.node(p.pre)
            dest = self.dest(p)
            w = self._spikes(p.pre, pre.size, view)[dest.row]
            msgs_in += np.bincount(dest.col, weights=w, minlength=k_n)[:k_n]
            if p.pre in self.neuron_core:                 # input sources are sent by the host
                msgs_out += np.bincount(self.neuron_core[p.pre][dest.row], weights=w, minlength=k_n)[:k_n]
        loads = [dict(acs=0.0, macs=0.0, active=0.0, idle=0.0, spikes=0.0, msgs_out=float(msgs_out[k]),
                      msgs_in=float(msgs_in[k])) for k in range(k_n)]
        incoming: dict[str, list] = {}
        for p in self.circuit.projections.values():
            incoming.setdefault(p.post, []).append(p)
        for s, k in zip(self.slices, self.core_of_slice):
            pop = self.circuit.node(s.pop)
            f = s.size / pop.size
            el = view.elements.get(s.pop)
            if el is not None:
                loads[k]["active"] += el.totals.get("neuron_updates_active", 0) * f
                loads[k]["idle"] += el.totals.get("neuron_updates_idle", 0) * f
                loads[k]["spikes"] += el.totals.get("spikes", 0) * f
            for p in incoming.get(s.pop, []):
                pe = view.elements.get(p.name)
                share = self.synapses_in(p, s.start, s.stop) / max(self.synapse_total(p), 1)
                if pe is not None:
                    loads[k]["acs"] += pe.totals.get("synaptic_acs", 0) * share
                    loads[k]["macs"] += pe.totals.get("synaptic_macs", 0) * share
        return loads

    def summary(self) -> dict:
        per_core_neurons = np.zeros(self.cores_used, np.int64)
        for s, k in zip(self.slices, self.core_of_slice):
            per_core_neurons[k] += s.size
        assign: dict[str, list] = {}
        for s, k in zip(self.slices, self.core_of_slice):
            assign.setdefault(s.pop, []).append([int(s.start), int(s.stop), int(k)])
        return {"chip": self.chip.name, "cores_used": int(self.cores_used), "chips_used": int(self.chips_used),
                "tiles_used": int(self.tiles_used), "mesh_diameter_hops": self.mesh_diameter,
                "slices": len(self.slices),
                "max_neurons_per_core": int(per_core_neurons.max()) if self.cores_used else 0,
                "limits": self.limits.to_dict(), "assignment": assign}


def place(circuit, chip, result=None, *, limits: CoreLimits | None = None, max_chips: int | None = None,
          seed: int = 0, exact: bool | None = None) -> Placement:
    """Map ``circuit``'s populations onto ``chip``'s cores (see the module docstring).

    ``chip``: registry name or HardwareModel with ``limits``; ``result``: optional SimResult
    (its spike trains weight the partition and the traffic) or EventCounts / counts dict
    (element spike totals); ``limits``: override the chip's core limits (e.g. for studies);
    ``max_chips``: raise PlacementError if more chips would be needed.

    A structured circuit is placed from its shapes (:mod:`hardware_models.structured`, never
    expanded): exactly as its expansion would be when small (``exact=None``: at most
    ``EXACT_MAX_SLICES`` slices and ``EXACT_MAX_SYNAPSES`` synapses; True / False force
    either way), else as an :class:`~hardware_models.structured.AggregatePlacement`.
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
        from .workload import as_view
        view = as_view(result)

    def spikes(name: str, size: int) -> np.ndarray:
        if spikes_per_neuron is not None and name in spikes_per_neuron:
            return spikes_per_neuron[name]
        if view is not None:
            from .workload import as_view
            v = as_view(view)
            if name in v.elements:
                return np.full(size, v.elements[name].totals.get("spikes", 0) / size)
        return np.ones(size)

    if circuit.structured:              # placed from the shapes, never expanded (hardware_models.structured)
        from .structured import place_structured
        pl = place_structured(circuit, hw, lim, spikes, spikes_per_neuron, seed=seed, exact=exact)
        return _finish(pl, circuit, lim, max_chips)
    slices = make_slices(circuit, lim)
    g = slice_graph(circuit, slices, spikes)
    parts: list[list[int]] = []
    bisect(list(range(len(slices))), g, slices, lim, seed, parts)
    parts = merge(parts, g, slices, lim)
    core_of_slice = [0] * len(slices)
    for k, part in enumerate(parts):
        for i in part:
            core_of_slice[i] = k
    pl = Placement(circuit, hw, lim, slices, core_of_slice, spikes_per_neuron)
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
