"""Slicing populations into core-sized pieces and partitioning them onto cores.

Helpers of :func:`hardware_models.placement.place` (see its module docstring for the method):
``make_slices`` cuts populations under the per-core limits, ``slice_graph`` weighs slice pairs by
expected spike messages, ``bisect`` (recursive Kernighan-Lin) and ``merge`` (greedy) form cores.

Slicing is written once (:func:`slice_population`) against a *counter*: an object that gives,
for a partition of a population into contiguous ranges (``edges``), the synapses and the
distinct input axons of every range, and optionally the axon ids themselves.
:class:`FlatCounter` reads flat weight matrices; :mod:`hardware_models.structured` derives
the same numbers from the shapes of structured projections.  Every count is vectorised over
the ranges (one pass over the stored synapses per candidate slicing), so slicing a
10M-synapse circuit takes about a second.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import scipy.sparse as sp

from .errors import PlacementError
from .model import CoreLimits


@dataclass
class Slice:
    """Neurons ``start:stop`` of population ``pop``."""

    pop: str
    start: int
    stop: int
    synapse_bytes: float = 0.0
    axons: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # global pre-neuron ids
    n_axons: int | None = None      # distinct input axons (set where ``axons`` is not kept)
    synapses: int = 0               # synaptic-memory entries (stored synapses) of the slice

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def label(self) -> str:
        return f"{self.pop}[{self.start}:{self.stop}]"

    @property
    def axon_count(self) -> int:
        return len(self.axons) if self.n_axons is None else int(self.n_axons)


def dest_cores(weights, post_core: np.ndarray, n_cores: int) -> sp.coo_matrix:
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


def ranges_of(edges: np.ndarray, n: int) -> np.ndarray:
    """Range id of each of ``n`` positions under the partition ``edges`` (contiguous, increasing)."""
    return np.repeat(np.arange(len(edges) - 1, dtype=np.int64), np.diff(edges))[:n]


def first_in_run(keys_major: np.ndarray, keys_minor: np.ndarray) -> np.ndarray:
    """Mask of the entries that start a run of equal ``(major, minor)`` pairs (inputs sorted by
    major, and by minor within each major)."""
    new = np.ones(len(keys_major), bool)
    if len(new) > 1:
        new[1:] = (keys_major[1:] != keys_major[:-1]) | (keys_minor[1:] != keys_minor[:-1])
    return new


class FlatCounter:
    """Synapses and input axons of ranges of a population, from its incoming flat projections
    (stored entries of ``csr_matrix(weights)``, as the cost model always counted them)."""

    def __init__(self, size: int, mats: list[tuple[str, int, sp.csr_matrix]]):
        self.size = size
        self.rowptr = np.zeros(size + 1, np.int64)
        by_pre: dict[str, tuple[int, list]] = {}
        for pre, off, m in mats:
            self.rowptr += m.indptr.astype(np.int64)
            by_pre.setdefault(pre, (off, []))[1].append(m)
        self.groups = []            # per pre node: global offset, column of each entry, row of each entry
        for off, ms in by_pre.values():
            u = ms[0] if len(ms) == 1 else sum((x != 0).astype(np.int8) for x in ms[1:]) + (ms[0] != 0)
            csc = sp.csc_matrix(u)
            csc.sort_indices()
            col = np.repeat(np.arange(csc.shape[1], dtype=np.int64), np.diff(csc.indptr))
            self.groups.append((off, col, csc.indices.astype(np.int64)))

    def synapses(self, edges: np.ndarray) -> np.ndarray:
        return self.rowptr[edges[1:]] - self.rowptr[edges[:-1]]

    def _firsts(self, edges):
        for off, col, row in self.groups:
            sid = ranges_of(edges, self.size)[row]
            new = first_in_run(col, sid)
            yield off, col[new], sid[new]

    def axon_counts(self, edges: np.ndarray) -> np.ndarray:
        out = np.zeros(len(edges) - 1, np.int64)
        for _, _, sid in self._firsts(edges):
            out += np.bincount(sid, minlength=len(out))
        return out

    def axon_lists(self, edges: np.ndarray) -> list[np.ndarray]:
        parts = [(sid, off + col) for off, col, sid in self._firsts(edges)]
        return split_by_range(parts, len(edges) - 1)


def split_by_range(parts: list[tuple[np.ndarray, np.ndarray]], n: int) -> list[np.ndarray]:
    """Per range, the sorted ids of ``parts`` (pairs of range-id and id arrays, pairs unique)."""
    if not parts:
        return [np.zeros(0, np.int64) for _ in range(n)]
    sid = np.concatenate([p[0] for p in parts])
    gid = np.concatenate([p[1] for p in parts]).astype(np.int64)
    order = np.lexsort((gid, sid))
    gid = gid[order]
    cuts = np.cumsum(np.bincount(sid, minlength=n))[:-1]
    return np.split(gid, cuts)


def slice_ranges(name: str, size: int, state_bytes: int, counter, lim: CoreLimits):
    """Cut population ``name`` into equal contiguous slices, as few as possible, each fitting one
    core alone (neurons, synaptic memory, fan-in); the slice count doubles until they fit.
    Returns ``(edges, synapses, memory_bytes, axons)`` per slice (``axons`` None without a fan-in
    limit).  A single neuron that breaks a limit raises :class:`PlacementError` (attributes
    ``need`` and ``limit`` hold the numbers)."""
    n = 1 if lim.neurons is None else math.ceil(size / lim.neurons)
    while True:
        edges = np.unique(np.linspace(0, size, n + 1).round().astype(np.int64))
        sizes = np.diff(edges)
        syn = np.asarray(counter.synapses(edges), np.int64)
        state = sizes * state_bytes if lim.state_in_core_memory else np.zeros(len(sizes), np.int64)
        mem = syn * float(lim.bytes_per_synapse) + state
        ax = np.asarray(counter.axon_counts(edges), np.int64) if lim.fan_in is not None else None
        fail = np.zeros(len(sizes), np.int8)           # 1 neurons, 2 memory, 3 fan-in (first that fails)
        if lim.fan_in is not None:
            fail[ax > lim.fan_in] = 3
        if lim.synaptic_memory_bytes is not None:
            fail[mem > lim.synaptic_memory_bytes] = 2
        if lim.neurons is not None:
            fail[sizes > lim.neurons] = 1
        if not fail.any():
            return edges, syn, mem, ax
        if n >= size:
            i = int(np.flatnonzero(fail)[0])
            why, need, limit, detail = {
                1: ("neurons per core", sizes[i], lim.neurons, f"{sizes[i]} > {lim.neurons}"),
                2: ("synaptic memory per core", mem[i], lim.synaptic_memory_bytes,
                    f"{mem[i]:.0f} B of synapses (and state) > {lim.synaptic_memory_bytes} B"),
                3: ("fan-in (input axons) per core", None if ax is None else ax[i], lim.fan_in,
                    f"{None if ax is None else ax[i]} input axons > {lim.fan_in}")}[int(fail[i])]
            exc = PlacementError(why, f"population '{name}' neuron {edges[i]}", f"a single neuron needs {detail}.",
                                 "reduce that neuron's fan-in (split the projection through relay neurons) or "
                                 "pick a chip with larger cores.")
            exc.need, exc.limit = float(need), float(limit)
            raise exc
        n = min(size, n * 2)


def slice_population(name: str, size: int, state_bytes: int, counter, lim: CoreLimits,
                     keep_axons: bool = True) -> list[Slice]:
    """:func:`slice_ranges` as :class:`Slice` objects; ``keep_axons``: store each slice's axon ids
    (``counter.axon_lists``, needed to merge slices under a fan-in limit), else their number."""
    edges, syn, mem, ax = slice_ranges(name, size, state_bytes, counter, lim)
    state = np.diff(edges) * state_bytes if lim.state_in_core_memory else np.zeros(len(syn), np.int64)
    lists = counter.axon_lists(edges) if (keep_axons and lim.fan_in is not None) else None
    out = []
    for i in range(len(syn)):
        s = Slice(name, int(edges[i]), int(edges[i + 1]), float(int(syn[i]) * lim.bytes_per_synapse + int(state[i])),
                  synapses=int(syn[i]))
        if lists is not None:
            s.axons = lists[i]
        elif ax is not None:
            s.n_axons = int(ax[i])
        out.append(s)
    return out


def make_slices(circuit, lim: CoreLimits) -> list[Slice]:
    offsets = _axon_ids(circuit)
    incoming: dict[str, list] = {}
    for p in circuit.projections.values():
        incoming.setdefault(p.post, []).append(p)
    slices = []
    for name, pop in circuit.populations.items():
        mats = [(p.pre, offsets[p.pre], sp.csr_matrix(p.weights)) for p in incoming.get(name, [])]
        slices += slice_population(name, pop.size, pop.model.state_bytes, FlatCounter(pop.size, mats), lim)
    return slices


# ---------------------------------------------------------------------- partitioning
def pre_slice_pairs(weights, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (pre neuron, post range) pairs of a projection whose post neuron j lies in range
    ``owner[j]`` (``owner`` non-decreasing: contiguous ranges in order), pre-major."""
    csc = sp.csc_matrix(sp.csr_matrix(weights) != 0)
    csc.sort_indices()
    col = np.repeat(np.arange(csc.shape[1], dtype=np.int64), np.diff(csc.indptr))
    sid = owner[csc.indices]
    new = first_in_run(col, sid)
    return col[new], sid[new]


def add_pair_weights(g: nx.Graph, a_ids: np.ndarray, b_ids: np.ndarray, w: np.ndarray, n: int) -> None:
    """Add ``w`` (per pair) to the edges ``a_ids[k] -- b_ids[k]`` of ``g`` (self pairs dropped),
    summed per slice pair and added in (low, high) order."""
    keep = a_ids != b_ids
    lo, hi = np.minimum(a_ids, b_ids)[keep], np.maximum(a_ids, b_ids)[keep]
    if not lo.size:
        return
    key = lo.astype(np.int64) * n + hi
    pairs, inv = np.unique(key, return_inverse=True)
    tot = np.bincount(inv.ravel(), weights=w[keep], minlength=len(pairs))
    for k, x in zip(pairs.tolist(), tot.tolist()):
        a, b = divmod(k, n)
        old = g.get_edge_data(a, b, {"weight": 0.0})["weight"]
        g.add_edge(a, b, weight=old + float(x))


def slice_graph(circuit, slices: list[Slice], spikes) -> nx.Graph:
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
        pre_n, post_j = pre_slice_pairs(p.weights, owner)
        pre_owner = np.zeros(circuit.node(p.pre).size, np.int64)
        for i in by_pop[p.pre]:
            pre_owner[slices[i].start:slices[i].stop] = i
        w = spikes(p.pre, circuit.node(p.pre).size)[pre_n]
        add_pair_weights(g, pre_owner[pre_n], np.asarray(post_ids)[post_j], w, len(slices))
    return g


def _has_axons(slices, part) -> bool:
    return all(slices[i].n_axons is None for i in part)


def fits(part, slices, lim: CoreLimits) -> bool:
    if lim.neurons is not None and sum(slices[i].size for i in part) > lim.neurons:
        return False
    if lim.synaptic_memory_bytes is not None and \
            sum(slices[i].synapse_bytes for i in part) > lim.synaptic_memory_bytes:
        return False
    if lim.fan_in is not None and len(part) > 1:
        if not _has_axons(slices, part):   # only counts kept: the sum bounds the union from above
            return sum(slices[i].axon_count for i in part) <= lim.fan_in
        if len(np.unique(np.concatenate([slices[i].axons for i in part]))) > lim.fan_in:
            return False
    return True


def bisect(part: list[int], g: nx.Graph, slices, lim, seed: int, out: list[list[int]]) -> None:
    if fits(part, slices, lim) or len(part) == 1:
        out.append(part)
        return
    a, b = nx.algorithms.community.kernighan_lin_bisection(_subgraph(g, part), weight="weight", seed=seed)
    for half in (sorted(a), sorted(b)):
        bisect(half, g, slices, lim, seed, out)


def _subgraph(g: nx.Graph, part: list[int]) -> nx.Graph:
    """``g.subgraph(part)`` as a plain graph whose node and neighbour iteration orders are the
    view's (networkx's filter views iterate the node set when it is under half the graph, the
    graph's order otherwise), so Kernighan-Lin gives the same bisection, without the views'
    per-access filtering (most of its time on a few hundred slices)."""
    keep = set(n for n in part if n in g._node)
    order = [n for n in keep if n in g._node] if 2 * len(keep) < len(g._node) else [n for n in g._node if n in keep]
    h = nx.Graph()
    h._node = {u: g._node[u] for u in order}
    h._adj = {u: {v: d for v, d in g._adj[u].items() if v in keep} for u in order}
    return h


class _Part:
    __slots__ = ("uid", "anchor", "items", "neurons", "memory", "axons", "alive")

    def __init__(self, uid, anchor, items, neurons, memory, axons):
        self.uid, self.anchor, self.items = uid, anchor, items
        self.neurons, self.memory, self.axons, self.alive = neurons, memory, axons, True


def merge(parts: list[list[int]], g: nx.Graph, slices, lim) -> list[list[int]]:
    """Greedy: merge the two parts joined by the most traffic while the union fits.

    Each round takes the pair of parts with the largest traffic between them (ties: the pair
    whose first edge comes first in ``g.edges()``) whose union fits; it stops when no pair
    fits.  Every limit is monotone (a union only grows), so a pair whose union did not fit
    never fits after either part grows: such pairs are dropped for good.  Pair traffic is kept
    in a heap and updated only for the merged part (each pair's sum is recomputed over its
    edges in edge order, so the floating-point sums and the choices are those of summing
    every edge every round)."""
    rank_w: dict[tuple[int, int], list] = {}        # (part uid, part uid) -> [(edge rank, weight), ...]
    part_of = {}
    live: dict[int, _Part] = {}
    for k, p in enumerate(parts):
        items = list(p)
        ax = None
        if lim.fan_in is not None and _has_axons(slices, items):
            ax = (slices[items[0]].axons if len(items) == 1 else        # a slice's ids: sorted, distinct
                  np.unique(np.concatenate([slices[i].axons for i in items])) if items else np.zeros(0, np.int64))
        part = _Part(k, k, items, sum(slices[i].size for i in items), sum(slices[i].synapse_bytes for i in items),
                     ax)
        live[k] = part
        for i in items:
            part_of[i] = k
    for r, (a, b, d) in enumerate(g.edges(data=True)):
        pa, pb = part_of[a], part_of[b]
        if pa != pb:
            rank_w.setdefault((min(pa, pb), max(pa, pb)), []).append((r, d.get("weight", 0.0)))
    nbrs: dict[int, set[int]] = {k: set() for k in live}
    heap = []
    for (pa, pb), lst in rank_w.items():
        nbrs[pa].add(pb)
        nbrs[pb].add(pa)
        heap.append((-sum(w for _, w in lst), lst[0][0], pa, pb))
    heapq.heapify(heap)
    infeasible: dict[int, set[int]] = {}
    next_uid = len(parts)
    while heap and len(live) > 1:
        _, _, pa, pb = heapq.heappop(heap)
        if pa not in live or pb not in live or pb in infeasible.get(pa, ()):
            continue
        A, B = live[pa], live[pb]
        lo, hi = (A, B) if A.anchor < B.anchor else (B, A)
        union = _union_fits(lo, hi, slices, lim)
        if union is None:
            infeasible.setdefault(pa, set()).add(pb)
            infeasible.setdefault(pb, set()).add(pa)
            continue
        uid = next_uid
        next_uid += 1
        new = _Part(uid, lo.anchor, lo.items + hi.items, lo.neurons + hi.neurons, lo.memory + hi.memory,
                    union if isinstance(union, np.ndarray) else None)
        del live[pa], live[pb]
        live[uid] = new
        bad = infeasible.pop(pa, set()) | infeasible.pop(pb, set())
        infeasible[uid] = bad
        for other in bad:
            infeasible.setdefault(other, set()).add(uid)
        nb = (nbrs.pop(pa) | nbrs.pop(pb)) - {pa, pb}
        nbrs[uid] = set()
        for r in nb:
            if r not in live:
                continue
            lists = [rank_w.pop((min(x, r), max(x, r)), []) for x in (pa, pb)]
            lst = list(heapq.merge(*lists))
            rank_w[(min(uid, r), max(uid, r))] = lst
            nbrs[r].discard(pa)
            nbrs[r].discard(pb)
            nbrs[r].add(uid)
            nbrs[uid].add(r)
            if r not in bad:
                heapq.heappush(heap, (-sum(w for _, w in lst), lst[0][0], min(uid, r), max(uid, r)))
        rank_w.pop((min(pa, pb), max(pa, pb)), None)
    return [p.items for p in sorted(live.values(), key=lambda p: p.anchor)]


def _union_fits(a: _Part, b: _Part, slices, lim):
    """The union's axon ids (or True when not tracked) if ``a + b`` fits one core, else None."""
    if lim.neurons is not None and a.neurons + b.neurons > lim.neurons:
        return None
    if lim.synaptic_memory_bytes is not None and a.memory + b.memory > lim.synaptic_memory_bytes:
        return None
    if lim.fan_in is None:
        return True
    if a.axons is None or b.axons is None:
        return True if fits(a.items + b.items, slices, lim) else None
    if len(a.axons) + len(b.axons) - shared_count(a.axons, b.axons) > lim.fan_in:
        return None                     # decided from the union's size: the union is built only to keep
    return np.union1d(a.axons, b.axons)


def shared_count(x: np.ndarray, y: np.ndarray) -> int:
    """Ids in both sorted arrays of distinct ids ``x`` and ``y`` (``len(union) = len(x) + len(y) -
    shared``), by binary search of the shorter in the longer: no sort, no union built."""
    if len(x) > len(y):
        x, y = y, x
    if not len(x):
        return 0
    i = np.searchsorted(y, x)
    i[i == len(y)] = 0
    return int(np.count_nonzero(y[i] == x))
