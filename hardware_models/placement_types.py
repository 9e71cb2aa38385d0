"""What a placement is: :class:`Placement`, a flat circuit's slices on the cores of a chip
(with the mesh geometry, the spike traffic and the work per core), and :class:`Traffic`, the
spike messages after placement (shared with :class:`hardware_models.structured.AggregatePlacement`).

:func:`hardware_models.placement.place` builds them (the method is described there);
``hardware_models.placement`` re-exports both names.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .model import CoreLimits, HardwareModel
from .partition import Slice, dest_cores
from .workload import as_view


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
        self.partitioner = "kernighan-lin"   # set by place(): the partitioner that formed the cores
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
                "limits": self.limits.to_dict(), "assignment": assign, "partitioner": self.partitioner}
