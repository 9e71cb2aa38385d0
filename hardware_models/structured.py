"""Placement and costing of structured circuits without expanding them (issue 16); their resource
report is :func:`hardware_models.resources.resources_structured`.

A structured circuit (shared, index, conv, product projections) is placed as the
neuron-level circuit it stands for, described by :class:`hardware_models.virtual.VirtualCircuit`
(the expansion's nodes and flat projections, in its orders, from the shapes only):

1. **Slicing** is the flat method (:func:`hardware_models.partition.slice_ranges`: equal
   contiguous slices, the count doubling until each slice fits one core), with the synapses,
   synaptic-memory entries and input axons of every slice computed analytically.  A chip
   without weight sharing (``CoreLimits.weight_sharing`` False: Loihi, Loihi 2, TrueNorth)
   stores every group's copy of a shared W; one with it (SpiNNaker 1 and 2) stores, per
   core, the rows of W its neurons use once (the chip data cite the evidence).  A product
   on these chips, which only add, is its gate realisation: ``signs_a L_a size(a)`` line
   neurons, ``C x terms`` gate neurons, ``lines + 3 gates`` synapses (:mod:`spikeattn.ir.expand`).
2. **Cores.**  A circuit of at most ``EXACT_MAX_SLICES`` slices and ``EXACT_MAX_SYNAPSES``
   synapses is partitioned exactly as a flat circuit (Kernighan-Lin or METIS bisection and greedy
   merge on the slice graph, :mod:`hardware_models.partitioners`, built from each projection's synapse pattern generated from
   its parameters): the same placement as :func:`~hardware_models.placement.place` on
   ``circuit.expand()``.  A larger one is packed in order (:class:`AggregatePlacement`):
   each slice its own core, consecutive slices sharing a core while the sum of their
   neurons, memory and axons fits (the axon sum bounds their union from above).  The slices
   are the same either way; the packing uses more cores than the exact partition where small
   slices could share cores: on a converted 9-token, width-32 structured ViT layer, 178
   against 165 cores on Loihi, 68 against 48 on Loihi 2, 22 against 23 on SpiNNaker 2.
3. **Traffic** (aggregate): the messages into each core are exact for spikes spread evenly
   over a population (``mean spikes x distinct axons``); how they split into intra-core,
   hops and chip crossings, and the destination cores per core (fan-out), are measured
   exactly on sampled cores (the first, middle and last core of every population) from
   their neurons' synapses and applied to the rest of the population.
4. **Counts.**  EventCounts of a structured circuit hold its own elements; on a chip that
   only adds, the gate realisation of a product adds line and gate neurons and three flat
   projections whose events the counts do not hold.  :func:`with_realisation` adds them as
   lower bounds from the counts: gate spikes are the product's messages (exact), every other
   event counts each non-zero input level once (``|a| >= 1``), idle updates fill the steps.
"""
from __future__ import annotations

import math

import numpy as np

from .model import CoreLimits, HardwareModel
from .partition import FlatCounter, Slice, first_in_run, slice_ranges
from .partitioners import partition_slices
from .placement_types import Placement, Traffic
from .virtual import VirtualCircuit
from .workload import CountsView, ElementTotals, as_view

EXACT_MAX_SLICES = 2000
EXACT_MAX_SYNAPSES = 5_000_000
UNION_MAX_SYNAPSES = 20_000_000     # same-pre projections into one population: union counted up to this size
PER_CORE_ROWS = 4096                # resource tables list every core up to this many cores


class PopCounter:
    """Synapses, memory entries and input axons of ranges of one virtual population."""

    def __init__(self, size: int, conns: list, sharing: bool):
        self.size, self.conns, self.sharing = size, conns, sharing
        self.by_pre: dict[str, list] = {}
        for c in conns:
            self.by_pre.setdefault(c.pre, []).append(c)
        self.bound = False

    def synapses(self, edges):
        out = np.zeros(len(edges) - 1, np.int64)
        for c in self.conns:
            out += c.stored(edges, self.sharing)
        return out

    def axon_counts(self, edges):
        out = np.zeros(len(edges) - 1, np.int64)
        for pre, cs in self.by_pre.items():
            if len(cs) == 1:
                out += cs[0].axon_counts(edges)
                self.bound |= cs[0].bound
            elif sum(c.total for c in cs) <= UNION_MAX_SYNAPSES:
                out += FlatCounter(self.size, [(pre, 0, c.weights) for c in cs]).axon_counts(edges)
            else:
                self.bound = True
                for c in cs:
                    out += c.axon_counts(edges)
        return out


def _offsets(vc) -> dict[str, int]:
    off, out = 0, {}
    for n, obj in vc.nodes().items():
        out[n] = off
        off += obj.size
    return out


def _incoming(vc) -> dict[str, list]:
    inc: dict[str, list] = {}
    for c in vc.projections.values():
        inc.setdefault(c.post, []).append(c)
    return inc


def slice_virtual(vc, lim: CoreLimits) -> dict:
    """Per population of ``vc``: ``(edges, stored synapses, memory bytes, axons)`` of its slices."""
    inc = _incoming(vc)
    out, bounds = {}, []
    for name, pop in vc.populations.items():
        counter = PopCounter(pop.size, inc.get(name, []), lim.weight_sharing)
        out[name] = slice_ranges(name, pop.size, pop.model.state_bytes, counter, lim)
        if counter.bound:
            bounds.append(name)
    vc.axon_bounds = bounds
    return out


def place_structured(circuit, hw: HardwareModel, lim: CoreLimits, spikes, spikes_per_neuron=None, seed: int = 0,
                     exact: bool | None = None, partitioner: str | None = "auto"):
    """Place structured ``circuit`` (see the module docstring); ``spikes(name, size)`` gives the
    spikes per neuron that weight the slice graph (as in :func:`~hardware_models.placement.place`).
    ``exact``: force the exact partition (True) or the ordered packing (False); ``partitioner``:
    that of the exact partition (:func:`hardware_models.partitioners.partition_slices`)."""
    vc = VirtualCircuit(circuit)
    ranges = slice_virtual(vc, lim)
    n_slices = sum(len(r[0]) - 1 for r in ranges.values())
    if exact is None:
        exact = n_slices <= EXACT_MAX_SLICES and vc.synapses <= EXACT_MAX_SYNAPSES
    if not exact:
        return AggregatePlacement(vc, hw, lim, ranges, spikes_per_neuron)
    inc, offsets = _incoming(vc), _offsets(vc)
    slices = []
    for name, (edges, syn, mem, ax) in ranges.items():
        pop = vc.node(name)
        lists = None
        if lim.fan_in is not None:
            mats = [(c.pre, offsets[c.pre], c.weights) for c in inc.get(name, [])]
            lists = FlatCounter(pop.size, mats).axon_lists(edges)
        state = np.diff(edges) * pop.model.state_bytes if lim.state_in_core_memory else np.zeros(len(syn), np.int64)
        for i in range(len(syn)):
            s = Slice(name, int(edges[i]), int(edges[i + 1]),
                      float(int(syn[i]) * lim.bytes_per_synapse + int(state[i])), synapses=int(syn[i]))
            if lists is not None:
                s.axons = lists[i]
            slices.append(s)
    parts, used = partition_slices(vc, slices, spikes, lim, seed, partitioner)
    core_of_slice = [0] * len(slices)
    for k, part in enumerate(parts):
        for i in part:
            core_of_slice[i] = k
    pl = Placement(vc, hw, lim, slices, core_of_slice, spikes_per_neuron)
    pl.structured, pl.exact, pl.virtual = True, True, vc
    pl.partitioner = used
    return pl


# --------------------------------------------------------------------------- mesh
def mesh_geometry(cores_used: int, lim: CoreLimits):
    """(x, y) of cores ``0 .. cores_used - 1``, tiles used (most on one chip) and the mesh
    diameter (hops across the used cores' bounding box), as :class:`Placement` computes them."""
    k = np.arange(max(cores_used, 1))
    chip, local = k // lim.cores_per_chip, k % lim.cores_per_chip
    tile = local // lim.cores_per_tile
    w = lim.tile_mesh[0]
    y = tile // w
    x = np.where(y % 2 == 0, tile % w, w - 1 - tile % w) + chip * w
    xy = np.stack([x, y], axis=1)
    per_chip = np.bincount(np.unique(chip * lim.tiles_per_chip + tile) // lim.tiles_per_chip)
    span = xy.max(axis=0) - xy.min(axis=0)
    return xy, int(per_chip.max()) if per_chip.size else 1, int(span.sum())


class AggregatePlacement:
    """Placement of a large structured circuit: slices per population as arrays, packed onto
    cores in order (see the module docstring).  Offers what the cost model reads from a
    :class:`~hardware_models.placement.Placement`: ``cores_used``, ``chips_used``,
    ``tiles_used``, ``mesh_diameter``, ``traffic``, ``core_loads`` (the distinct per-core
    loads), ``summary``."""

    exact = False
    structured = True

    def __init__(self, vc, chip: HardwareModel, lim: CoreLimits, ranges: dict, spikes_per_neuron=None):
        self.circuit = self.virtual = vc
        self.chip, self.limits = chip, lim
        self.spikes_per_neuron = spikes_per_neuron
        self.pops = {}
        self.pack(ranges)
        self.cores_used = int(self._n_cores)
        self.chips_used = max(1, math.ceil(self.cores_used / lim.cores_per_chip))
        self._xy, self.tiles_used, self.mesh_diameter = mesh_geometry(self.cores_used, lim)
        self._samples = None
        self._conn_stats = None
        self._axons_per_core: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------ packing
    def pack(self, ranges: dict) -> None:
        lim = self.limits
        names = list(ranges)
        sizes = [np.diff(ranges[n][0]) for n in names]
        cat = lambda xs: np.concatenate(xs) if xs else np.zeros(0)  # noqa: E731
        size, mem = cat(sizes).astype(np.int64), cat([ranges[n][2] for n in names]).astype(float)
        ax = cat([ranges[n][3] if ranges[n][3] is not None else np.zeros(len(sizes[i]), np.int64)
                  for i, n in enumerate(names)]).astype(np.int64)
        n = len(size)
        ok = np.ones(max(n - 1, 0), bool)          # may slice i join slice i - 1's core at all?
        if n > 1:
            if lim.neurons is not None:
                ok &= size[1:] + size[:-1] <= lim.neurons
            if lim.synaptic_memory_bytes is not None:
                ok &= mem[1:] + mem[:-1] <= lim.synaptic_memory_bytes
            if lim.fan_in is not None:
                ok &= ax[1:] + ax[:-1] <= lim.fan_in
        start_new = np.ones(n, bool)
        acc, acc_end = None, -1                    # totals of the core that ends at slice acc_end
        for i in (np.flatnonzero(ok) + 1).tolist():   # greedy, in order: join while the sums fit
            if acc_end != i - 1:
                acc = (size[i - 1], mem[i - 1], ax[i - 1])
            s2, m2, a2 = acc[0] + size[i], acc[1] + mem[i], acc[2] + ax[i]
            if ((lim.neurons is None or s2 <= lim.neurons)
                    and (lim.synaptic_memory_bytes is None or m2 <= lim.synaptic_memory_bytes)
                    and (lim.fan_in is None or a2 <= lim.fan_in)):
                acc, start_new[i] = (s2, m2, a2), False
            else:
                acc = (size[i], mem[i], ax[i])
            acc_end = i
        core = np.cumsum(start_new) - 1
        cur = int(core[-1]) if n else -1
        self._n_cores = cur + 1
        start = 0
        for name, sz in zip(names, sizes):
            edges, syn, m, a = ranges[name]
            c = core[start:start + len(sz)]
            start += len(sz)
            change = np.flatnonzero(np.diff(c)) + 1
            core_edges = np.concatenate([[0], edges[change], [edges[-1]]]).astype(np.int64)
            self.pops[name] = {"edges": edges, "stored": syn, "memory": m, "axons": a, "core": c,
                               "core_edges": core_edges, "core_ids": np.concatenate([c[:1], c[change]])}

    # ------------------------------------------------------------------ geometry
    def core_xy(self, k):
        return self._xy[np.asarray(k)].T

    def hops(self, a, b):
        return np.abs(self._xy[a] - self._xy[b]).sum(axis=-1)

    def core_of(self, pop: str, ids: np.ndarray) -> np.ndarray:
        p = self.pops[pop]
        return p["core"][np.searchsorted(p["edges"], ids, side="right") - 1]

    # ------------------------------------------------------------------ per-core arrays
    def per_core(self) -> dict[str, np.ndarray]:
        """Per core: neurons, synapses, synaptic-memory entries, memory bytes, input axons (sum
        over the core's slices: exact for one slice, an upper bound for several)."""
        k_n = self.cores_used
        out = {f: np.zeros(k_n) for f in ("neurons", "synapses", "stored", "memory", "axons_in")}
        inc = _incoming(self.virtual)
        for name, p in self.pops.items():
            c = p["core"]
            out["neurons"] += np.bincount(c, np.diff(p["edges"]), minlength=k_n)
            out["stored"] += np.bincount(c, p["stored"], minlength=k_n)
            out["memory"] += np.bincount(c, p["memory"], minlength=k_n)
            if p["axons"] is not None:
                out["axons_in"] += np.bincount(c, p["axons"], minlength=k_n)
            for conn in inc.get(name, []):
                out["synapses"] += np.bincount(c, conn.synapses(p["edges"]), minlength=k_n)
        return out

    # ------------------------------------------------------------------ samples
    def _sample_cores(self) -> list[int]:
        ks = set()
        for p in self.pops.values():
            ids = p["core_ids"]
            ks.update(int(ids[j]) for j in {0, len(ids) // 2, len(ids) - 1})
        return sorted(ks)

    def _neurons_on(self, k: int):
        """(population, lo, hi) ranges of the neurons on core k."""
        out = []
        for name, p in self.pops.items():
            j = np.flatnonzero(p["core_ids"] == k)
            for jj in j:
                out.append((name, int(p["core_edges"][jj]), int(p["core_edges"][jj + 1])))
        return out

    def samples(self) -> dict:
        """Per sampled core: destination cores (all its neurons' synapses) and, per projection,
        pairs (neuron, destination core), those on the same core, hops and chip crossings."""
        if self._samples is not None:
            return self._samples
        out_by_pre: dict[str, list] = {}
        for c in self.virtual.projections.values():
            out_by_pre.setdefault(c.pre, []).append(c)
        cpc = self.limits.cores_per_chip
        res = {}
        for k in self._sample_cores():
            dests, per_conn = set(), {}
            for name, lo, hi in self._neurons_on(k):
                for c in out_by_pre.get(name, []):
                    pre, post = c.targets(lo, hi)          # pre-major, post increasing: cores too
                    if not len(pre):
                        continue
                    dc = self.core_of(c.post, post)
                    d = dc[first_in_run(pre, dc)]           # one per (neuron, destination core)
                    dests.update(np.unique(d).tolist())
                    pairs = d
                    st = per_conn.setdefault(c.name, np.zeros(5))
                    st += (len(pairs), (d == k).sum(), self.hops(np.full(len(d), k), d).sum(),
                           (d // cpc != k // cpc).sum(), hi - lo)
            res[k] = {"dest_cores": len(dests), "per_conn": per_conn}
        self._samples = res
        return res

    def conn_stats(self) -> dict:
        """Per projection from a population: the sampled fractions (intra-core pairs, chip
        crossings), mean hops per pair and pairs per neuron."""
        if self._conn_stats is None:
            tot: dict[str, np.ndarray] = {}
            for s in self.samples().values():
                for name, st in s["per_conn"].items():
                    tot[name] = tot.get(name, np.zeros(5)) + st
            self._conn_stats = {n: {"intra": st[1] / st[0], "hops": st[2] / st[0], "chips": st[3] / st[0],
                                    "pairs_per_neuron": st[0] / max(st[4], 1)} for n, st in tot.items() if st[0]}
        return self._conn_stats

    def fan_out_estimate(self) -> int:
        """The most destination cores of any sampled core (a lower bound on the true maximum)."""
        return max((s["dest_cores"] for s in self.samples().values()), default=0)

    # ------------------------------------------------------------------ traffic and loads
    def _mean_spikes(self, name: str, view) -> float:
        node = self.virtual.node(name)
        if self.spikes_per_neuron is not None and name in self.spikes_per_neuron:
            return float(np.mean(self.spikes_per_neuron[name]))
        if view is None or name not in view.elements:
            return 1.0
        return view.elements[name].totals.get("spikes", 0) / node.size

    def _messages_per_core(self, conn, view) -> np.ndarray:
        """Mean spikes of the pre neuron x distinct pre neurons with a synapse into each core."""
        p = self.pops[conn.post]
        if conn.name not in self._axons_per_core:
            self._axons_per_core[conn.name] = np.bincount(p["core_ids"], conn.axon_counts(p["core_edges"]),
                                                          minlength=self.cores_used)
        return self._axons_per_core[conn.name] * self._mean_spikes(conn.pre, view)

    def traffic(self, view=None):
        view = as_view(view) if view is not None else None
        intra = inter = hops = chips = host = 0.0
        stats = self.conn_stats()
        for c in self.virtual.projections.values():
            m_core = self._messages_per_core(c, view)
            m = float(m_core.sum())
            if self.virtual.node(c.pre).population:
                st = stats.get(c.name, {"intra": 0.0, "hops": 0.0, "chips": 0.0})
                intra += m * st["intra"]
                inter += m * (1 - st["intra"])
                hops += m * st["hops"]
                chips += m * st["chips"]
            else:                                       # input source, injected at the mesh origin
                inter += m
                host += m
                hops += float((m_core * np.abs(self._xy[:self.cores_used]).sum(axis=1)).sum())
                chips += float(m_core[self.limits.cores_per_chip:].sum())
        return Traffic(intra, inter, hops, chips, host)

    def core_loads(self, view) -> list[dict]:
        """The distinct per-core loads (cores with equal loads listed once: latency takes the
        busiest core), with ``count`` the number of cores carrying each."""
        view = as_view(view)
        k_n = self.cores_used
        f = {x: np.zeros(k_n) for x in ("acs", "macs", "active", "idle", "spikes", "msgs_out", "msgs_in")}
        inc = _incoming(self.virtual)
        for name, p in self.pops.items():
            share = np.diff(p["edges"]) / self.virtual.node(name).size
            el = view.elements.get(name)
            if el is not None:
                for key, fld in (("active", "neuron_updates_active"), ("idle", "neuron_updates_idle"),
                                 ("spikes", "spikes")):
                    f[key] += np.bincount(p["core"], share * el.totals.get(fld, 0), minlength=k_n)
            for c in inc.get(name, []):
                pe = view.elements.get(c.name)
                if pe is None:
                    continue
                syn_share = c.synapses(p["edges"]) / max(c.total, 1)
                f["acs"] += np.bincount(p["core"], syn_share * pe.totals.get("synaptic_acs", 0), minlength=k_n)
                f["macs"] += np.bincount(p["core"], syn_share * pe.totals.get("synaptic_macs", 0), minlength=k_n)
        for c in self.virtual.projections.values():
            m_core = self._messages_per_core(c, view)
            f["msgs_in"] += m_core
            if c.pre in self.pops:                     # sent by the pre population's cores, by neuron share
                p = self.pops[c.pre]
                f["msgs_out"] += np.bincount(p["core"], np.diff(p["edges"]) / self.virtual.node(c.pre).size
                                             * m_core.sum(), minlength=k_n)
        keys = list(f)
        rows, counts = distinct_rows(np.stack([f[x] for x in keys], axis=1))
        return [dict(zip(keys, map(float, r)), count=int(n)) for r, n in zip(rows, counts)]

    def summary(self) -> dict:
        per = self.per_core()
        assign = {n: {"slices": int(len(p["edges"]) - 1), "cores": int(len(p["core_ids"])),
                      "first_core": int(p["core_ids"][0]), "last_core": int(p["core_ids"][-1])}
                  for n, p in self.pops.items()}
        return {"chip": self.chip.name, "cores_used": int(self.cores_used), "chips_used": int(self.chips_used),
                "tiles_used": int(self.tiles_used), "mesh_diameter_hops": self.mesh_diameter,
                "slices": int(sum(len(p["edges"]) - 1 for p in self.pops.values())),
                "max_neurons_per_core": int(per["neurons"].max()) if self.cores_used else 0,
                "limits": self.limits.to_dict(), "assignment": assign,
                "method": "structured, aggregate: slices from the shapes, packed in order; traffic split and "
                          "fan-out from sampled cores"}


def distinct_rows(table: np.ndarray):
    """The distinct rows of ``table`` and how many times each occurs: grouped by a random linear
    hash (one 1-D sort), checked row by row against the group's first row (falls back to a
    full lexicographic unique on a collision)."""
    if not len(table):
        return table, np.zeros(0, np.int64)
    h = table @ (np.random.default_rng(0).random(table.shape[1]) + 0.5)
    _, first, inv, counts = np.unique(h, return_index=True, return_inverse=True, return_counts=True)
    rows = table[first]
    if np.array_equal(rows[inv.reshape(-1)], table):
        return rows, counts
    return np.unique(table, axis=0, return_counts=True)


# --------------------------------------------------------------------------- counts
def with_realisation(view, vc):
    """``view`` plus, for every product whose gate realisation is not in it, the realisation's
    elements with lower-bound totals (see the module docstring, item 4); returns
    ``(view, notes)``."""
    els = dict(view.elements)
    notes = []
    sb = view.steps * view.batch
    for name, tm in vc.terms.items():
        lines, gates = f"{name}.lines", f"{name}.gates"
        if lines in els or gates in els or name not in els:
            continue
        spikes = lambda n: els[n].totals.get("spikes", 0) if n in els else 0  # noqa: E731
        sa, sbb = spikes(tm.p.pre), spikes(tm.p.pre_b)
        msgs = els[name].totals.get("messages", 0)
        n_lines, n_gates = vc.node(lines).size, vc.node(gates).size
        _, _, term_a, term_b = _term_fanouts(tm)
        active_lines = min(tm.signs_a * tm.La * sa, n_lines * sb)
        active_gates = min(max(msgs, sbb * tm.C * term_b), n_gates * sb)
        conns = vc.projections
        els[lines] = ElementTotals("population", {"size": n_lines, "state_bytes": 4, "realises": name},
                                   _pop_totals(sa, active_lines, n_lines * sb - active_lines))
        els[gates] = ElementTotals("population", {"size": n_gates, "state_bytes": 4, "realises": name},
                                   _pop_totals(msgs, active_gates, n_gates * sb - active_gates))
        for cname, acs, m in ((f"{name}.a_lines", tm.signs_a * tm.La * sa, sa),
                              (f"{name}.lines_gates", sa * tm.signs_b * term_a, sa),
                              (f"{name}.b_gates", sbb * tm.C * term_b, sbb)):
            els[cname] = ElementTotals("projection", {"pre": conns[cname].pre, "post": conns[cname].post,
                                                      "synapses": conns[cname].total, "weight_bytes": 1,
                                                      "realises": name},
                                       {"synaptic_acs": int(acs), "synaptic_macs": 0, "messages": int(m),
                                        "weight_bytes_read": int(acs)})
        notes.append(f"Product '{name}' runs as its accumulate-only gate realisation ({n_lines:,} line and "
                     f"{n_gates:,} gate neurons, {vc.realisation()[name]['synapses']:,} synapses); the counts hold "
                     "only the product, so the realisation's events are costed at lower bounds (gate spikes = "
                     "the product's messages; every non-zero input level counted once; idle updates for the "
                     "rest of the steps).")
    return CountsView(view.steps, view.batch, els), notes


def _pop_totals(spikes, active, idle) -> dict:
    return {"spikes": int(spikes), "neuron_updates_active": int(active), "neuron_updates_idle": int(max(idle, 0)),
            "state_bytes_read": int(active) * 4, "state_bytes_written": int(active) * 4}


def _term_fanouts(tm):
    """Fewest unmasked terms per a element and per b element (0 if some element has none:
    then the bound uses 0)."""
    if tm.mask is None:
        return None, None, tm.P // max(tm.n_a, 1), tm.P // max(tm.n_b, 1)
    ones_a, ones_b = np.ones(tm.p.pre_shape, np.int64), np.ones(tm.p.pre_b_shape, np.int64)
    a, b, o = tm.p.subscripts
    m = tm.p.full_mask().astype(np.int64)
    fa = np.einsum(f"{a},{b},{o}->{a}", ones_a, ones_b, m, optimize=True).reshape(-1)
    fb = np.einsum(f"{a},{b},{o}->{b}", ones_a, ones_b, m, optimize=True).reshape(-1)
    return fa, fb, int(fa.min()) if fa.size else 0, int(fb.min()) if fb.size else 0


def structured_limits_note(lim: CoreLimits) -> str:
    return ("weight sharing: a shared W's rows stored once per core. " if lim.weight_sharing else
            "no weight sharing: every group's copy of a shared W stored. ") + lim.weight_sharing_source
