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
from dataclasses import dataclass, field, replace

import networkx as nx
import numpy as np
import scipy.sparse as sp

from .errors import PlacementError
from .model import CoreLimits, HardwareModel
from .registry import get


@dataclass
class Slice:
    """Neurons ``start:stop`` of population ``pop``."""

    pop: str
    start: int
    stop: int
    synapse_bytes: float = 0.0
    axons: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # global pre-neuron ids

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def label(self) -> str:
        return f"{self.pop}[{self.start}:{self.stop}]"


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
            dest = _dest_cores(p.weights, self.neuron_core[p.post], self.cores_used)  # (pre, cores) coo
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
        neuron share of each slice."""
        from .workload import as_view
        view = as_view(view)
        loads = [dict(acs=0.0, macs=0.0, active=0.0, idle=0.0, spikes=0.0) for _ in range(self.cores_used)]
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
                w = sp.csr_matrix(p.weights)
                nnz = max(w.nnz, 1)
                share = w[s.start:s.stop].nnz / nnz
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
                "tiles_used": int(self.tiles_used), "slices": len(self.slices),
                "max_neurons_per_core": int(per_core_neurons.max()) if self.cores_used else 0,
                "limits": self.limits.to_dict(), "assignment": assign}


def _dest_cores(weights, post_core: np.ndarray, n_cores: int) -> sp.coo_matrix:
    """Boolean (pre, cores) matrix: pre-neuron i has a synapse onto a neuron on core k."""
    b = (sp.csr_matrix(weights) != 0).astype(np.int64).T.tocsr()  # (pre, post)
    a = sp.csr_matrix((np.ones(len(post_core), np.int64), (np.arange(len(post_core)), post_core)),
                      shape=(len(post_core), max(n_cores, 1)))
    d = (b @ a).tocoo()
    d.data[:] = 1
    return d


# ---------------------------------------------------------------------- slicing
def _axon_ids(circuit) -> dict[str, int]:
    """Offset of each node's neurons in one global pre-neuron numbering."""
    off, out = 0, {}
    for n, obj in circuit.nodes().items():
        out[n] = off
        off += obj.size
    return out


def _make_slices(circuit, lim: CoreLimits) -> list[Slice]:
    offsets = _axon_ids(circuit)
    incoming: dict[str, list] = {}
    for p in circuit.projections.values():
        incoming.setdefault(p.post, []).append(p)
    slices = []
    for name, pop in circuit.populations.items():
        mats = [(offsets[p.pre], sp.csr_matrix(p.weights)) for p in incoming.get(name, [])]

        def build(a: int, b: int) -> Slice:
            syn = sum(m[a:b].nnz for _, m in mats)
            ax = [off + np.flatnonzero(m[a:b].getnnz(axis=0)) for off, m in mats]
            axons = np.unique(np.concatenate(ax)) if ax else np.zeros(0, np.int64)
            return Slice(name, int(a), int(b), syn * lim.bytes_per_synapse, axons)

        def ok(s: Slice) -> str | None:
            if lim.neurons is not None and s.size > lim.neurons:
                return "neurons per core"
            if lim.synaptic_memory_bytes is not None and s.synapse_bytes > lim.synaptic_memory_bytes:
                return "synaptic memory per core"
            if lim.fan_in is not None and len(s.axons) > lim.fan_in:
                return "fan-in (input axons) per core"
            return None

        n = 1 if lim.neurons is None else math.ceil(pop.size / lim.neurons)
        while True:
            edges = np.linspace(0, pop.size, n + 1).round().astype(int)
            cand = [build(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]
            bad = [(s, ok(s)) for s in cand if ok(s)]
            if not bad:
                slices += cand
                break
            if n >= pop.size:
                s, why = bad[0]
                detail = {"synaptic memory per core": f"{s.synapse_bytes:.0f} B of synapses > "
                                                      f"{lim.synaptic_memory_bytes} B",
                          "fan-in (input axons) per core": f"{len(s.axons)} input axons > {lim.fan_in}",
                          "neurons per core": f"{s.size} > {lim.neurons}"}[why]
                raise PlacementError(why, f"population '{name}' neuron {s.start}", f"a single neuron needs "
                                     f"{detail}.", "reduce that neuron's fan-in (split the projection through "
                                     "relay neurons) or pick a chip with larger cores.")
            n = min(pop.size, n * 2)
    return slices


# ---------------------------------------------------------------------- partitioning
def _slice_graph(circuit, slices: list[Slice], spikes) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(len(slices)))
    by_pop: dict[str, list[int]] = {}
    for i, s in enumerate(slices):
        by_pop.setdefault(s.pop, []).append(i)
    for p in circuit.projections.values():
        if p.pre not in by_pop:
            continue
        post_ids = by_pop[p.post]
        owner = np.zeros(circuit.node(p.post).size, np.int64)
        for j, i in enumerate(post_ids):
            owner[slices[i].start:slices[i].stop] = j
        d = _dest_cores(p.weights, owner, len(post_ids))  # (pre, post slices)
        pre_owner = np.zeros(circuit.node(p.pre).size, np.int64)
        for i in by_pop[p.pre]:
            pre_owner[slices[i].start:slices[i].stop] = i
        w = spikes(p.pre, circuit.node(p.pre).size)[d.row]
        a_ids, b_ids = pre_owner[d.row], np.asarray(post_ids)[d.col]
        keep = a_ids != b_ids
        lo, hi = np.minimum(a_ids, b_ids)[keep], np.maximum(a_ids, b_ids)[keep]
        if lo.size:
            pairs, inv = np.unique(np.stack([lo, hi], 1), axis=0, return_inverse=True)
            tot = np.bincount(inv.ravel(), weights=w[keep], minlength=len(pairs))
            for (a, b), x in zip(pairs, tot):
                old = g.get_edge_data(int(a), int(b), {"weight": 0.0})["weight"]
                g.add_edge(int(a), int(b), weight=old + float(x))
    return g


def _fits(part, slices, lim: CoreLimits) -> bool:
    if lim.neurons is not None and sum(slices[i].size for i in part) > lim.neurons:
        return False
    if lim.synaptic_memory_bytes is not None and \
            sum(slices[i].synapse_bytes for i in part) > lim.synaptic_memory_bytes:
        return False
    if lim.fan_in is not None and len(part) > 1:
        if len(np.unique(np.concatenate([slices[i].axons for i in part]))) > lim.fan_in:
            return False
    return True


def _bisect(part: list[int], g: nx.Graph, slices, lim, seed: int, out: list[list[int]]) -> None:
    if _fits(part, slices, lim) or len(part) == 1:
        out.append(part)
        return
    a, b = nx.algorithms.community.kernighan_lin_bisection(g.subgraph(part), weight="weight", seed=seed)
    for half in (sorted(a), sorted(b)):
        _bisect(half, g, slices, lim, seed, out)


def _merge(parts: list[list[int]], g: nx.Graph, slices, lim) -> list[list[int]]:
    """Greedy: merge the two parts joined by the most traffic while the union fits."""
    parts = [list(p) for p in parts]
    while len(parts) > 1:
        where = {i: k for k, p in enumerate(parts) for i in p}
        between: dict[tuple[int, int], float] = {}
        for a, b, d in g.edges(data=True):
            ka, kb = sorted((where[a], where[b]))
            if ka != kb:
                between[(ka, kb)] = between.get((ka, kb), 0.0) + d.get("weight", 0.0)
        for (ka, kb), _ in sorted(between.items(), key=lambda kv: -kv[1]):
            if _fits(parts[ka] + parts[kb], slices, lim):
                parts[ka] = parts[ka] + parts[kb]
                del parts[kb]
                break
        else:
            return parts
    return parts


def place(circuit, chip, result=None, *, limits: CoreLimits | None = None, max_chips: int | None = None,
          seed: int = 0) -> Placement:
    """Map ``circuit``'s populations onto ``chip``'s cores (see the module docstring).

    ``chip``: registry name or HardwareModel with ``limits``; ``result``: optional SimResult
    (its spike trains weight the partition and the traffic) or EventCounts / counts dict
    (element spike totals); ``limits``: override the chip's core limits (e.g. for studies);
    ``max_chips``: raise PlacementError if more chips would be needed.
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

    slices = _make_slices(circuit, lim)
    g = _slice_graph(circuit, slices, spikes)
    parts: list[list[int]] = []
    _bisect(list(range(len(slices))), g, slices, lim, seed, parts)
    parts = _merge(parts, g, slices, lim)
    core_of_slice = [0] * len(slices)
    for k, part in enumerate(parts):
        for i in part:
            core_of_slice[i] = k
    pl = Placement(circuit, hw, lim, slices, core_of_slice, spikes_per_neuron)
    if max_chips is not None and pl.chips_used > max_chips:
        raise PlacementError("cores per chip", f"circuit '{circuit.name}'", f"needs {pl.cores_used} cores = "
                             f"{pl.chips_used} chips of {lim.cores_per_chip} cores, more than max_chips="
                             f"{max_chips}.", "allow more chips or shrink the circuit.")
    _check_fan_out(pl, circuit, lim)
    return pl


def _check_fan_out(pl: Placement, circuit, lim: CoreLimits) -> None:
    if lim.fan_out is None:
        return
    dests: dict[int, set] = {}
    for p in circuit.projections.values():
        if p.pre not in pl.neuron_core:
            continue
        d = _dest_cores(p.weights, pl.neuron_core[p.post], pl.cores_used)
        src = pl.neuron_core[p.pre][d.row]
        for a, b in zip(src, d.col):
            dests.setdefault(int(a), set()).add(int(b))
    for k, ds in dests.items():
        if len(ds) > lim.fan_out:
            pops = sorted({s.pop for s, c in zip(pl.slices, pl.core_of_slice) if c == k})
            raise PlacementError("fan-out (destination cores) per core", f"core {k} holding {pops}",
                                 f"its neurons reach {len(ds)} cores > {lim.fan_out}.",
                                 "use a chip with larger cores or reduce the projection's spread.")


def with_limits(chip, **overrides) -> CoreLimits:
    """The chip's core limits with some fields replaced (e.g. ``neurons=4`` for a study)."""
    hw = chip if isinstance(chip, HardwareModel) else get(chip)
    return replace(hw.limits, **overrides)
