"""Resource report of a circuit on a neuromorphic chip: ``resources(circuit, "loihi2")``.

The partition is the cost model's own (:func:`hardware_models.placement.place`: populations
sliced under the per-core limits, slices partitioned by networkx Kernighan-Lin (or METIS) bisection
weighted by spike traffic, then merged greedily), so the report describes the placement the
energy and latency figures are computed on.  Per core (``k``), with ``S_k`` the neurons placed
on core ``k``:

- ``neurons`` = ``|S_k|``;
- ``synapses`` = incoming synapses of ``S_k`` (non-zero weights, all projections);
- ``weight_memory_bytes`` = ``synapses x bytes_per_synapse`` (+ neuron state where the chip keeps it
  in the same memory); limit ``synaptic_memory_bytes``;
- ``axons_in`` = distinct pre-synaptic neurons (or source inputs) with a synapse into ``S_k``
  (Loihi's input axons); limit ``fan_in``;
- ``axons_out`` = output routes: pairs (neuron of ``S_k``, destination core) with at least one synapse;
- ``fan_in_cores`` / ``fan_out_cores`` = distinct cores sending to / reached from core ``k``
  (``host`` inputs count as one source); limit ``fan_out`` on the latter.

Utilisation = value / limit per core; the histograms count cores per 10 % bin.  A circuit
that does not fit gets ``fits = False`` and ``binding`` = the constraint, the element, what
it needs, the limit, and how much over (absolute and as a ratio).

Loihi 2 per-core limits are not published by Intel: :data:`ASSUMPTIONS` marks each one with
its source (Intel's Loihi 2 product brief, Davies et al. 2018 for Loihi 1, the chip models' notes).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from .errors import PlacementError
from .model import HardwareModel
from .placement import place
from .registry import get
from .structured import PER_CORE_ROWS, structured_limits_note
from .virtual import VirtualCircuit

ENERGY_REF = ("Intel Loihi 2 technology brief (2021): 128 cores, up to 1M neurons and 120M synapses; "
              "per-core neuron and memory figures are secondary and unverified")
ASSUMPTIONS = {
    "loihi2": {
        "neurons": "~8,192 neurons per core: Intel's Loihi 2 brief gives 1M neurons on 128 cores; per-core "
                   f"figure unverified [{ENERGY_REF}]",
        "synaptic_memory_bytes": "128 KB per core: the smaller of the unverified 128 KB / 192 KB figures "
                                 f"[{ENERGY_REF}]",
        "bytes_per_synapse": "1 byte per synapse (8-bit weight, no index/delay overhead): assumption, as for "
                             "Loihi 1 (hardware_models/chips/loihi.py notes)",
        "fan_in": "4,096 input axons per core: assumed equal to Loihi 1 (Davies et al. 2018) [assumption]",
        "fan_out": "4,096 destination cores per core: assumed equal to Loihi 1 (Davies et al. 2018) [assumption]",
        "tile_mesh": "8 x 4 tiles of 4 cores: assumed equal to Loihi 1 (SANA-FE's Loihi description) "
                     "[assumption]",
    },
    "loihi": {
        "bytes_per_synapse": "1 byte per synapse (8-bit weight, no index/delay overhead): assumption "
                             "(hardware_models/chips/loihi.py notes); the other limits are published "
                             "(Davies et al. 2018, IEEE Micro)",
    },
}
RESOURCES = ("neurons", "weight_memory_bytes", "axons_in", "fan_out_cores")
LIMIT_OF = {"neurons": "neurons", "weight_memory_bytes": "synaptic_memory_bytes", "axons_in": "fan_in",
            "fan_out_cores": "fan_out"}
CONSTRAINT_OF = {"neurons": "neurons per core", "weight_memory_bytes": "synaptic memory per core",
                 "axons_in": "fan-in (input axons) per core", "fan_out_cores": "fan-out (destination cores) per core"}


@dataclass
class ResourceReport:
    chip: str
    circuit: str
    fits: bool
    cores: int = 0
    chips: int = 0
    cores_per_chip: int = 0
    per_core: list = field(default_factory=list)
    limits: dict = field(default_factory=dict)
    assumptions: dict = field(default_factory=dict)
    partition: dict = field(default_factory=dict)
    binding: dict | None = None
    histograms: dict = field(default_factory=dict)
    structured: dict | None = None     # structured circuits: method, totals, weight storage, products' gates

    def to_dict(self) -> dict:
        out = {"chip": self.chip, "circuit": self.circuit, "fits": self.fits, "cores": self.cores,
               "chips": self.chips, "cores_per_chip": self.cores_per_chip, "per_core": self.per_core,
               "limits": self.limits, "assumptions": self.assumptions, "partition": self.partition,
               "binding": self.binding, "histograms": self.histograms}
        if self.structured is not None:
            out["structured"] = self.structured
        return out

    # ------------------------------------------------------------------ output
    def table(self) -> str:
        """The report as a terminal table."""
        lines = [f"{self.circuit} on {self.chip}: " + (f"{self.cores} cores on {self.chips} chip(s) "
                                                        f"({self.cores_per_chip} cores per chip)"
                                                        if self.cores else "no placement")]
        if not self.fits:
            b = self.binding
            lines.append(f"DOES NOT FIT: {b['constraint']} ({b['element']}): needs {b['need']:g}, limit "
                         f"{b['limit']:g}, over by {b['over_by']:g} ({b['over_ratio']:.2f}x the limit)")
        if self.per_core:
            head = ["core", "chip", "neurons", "synapses", "weight B", "axons in", "axons out", "fan-in",
                    "fan-out", "max util"]
            rows = [[c["core"], c["chip"], c["neurons"], c["synapses"], c["weight_memory_bytes"], c["axons_in"],
                     c["axons_out"], c["fan_in_cores"], c["fan_out_cores"], f"{100 * c['max_utilisation']:.1f}%"]
                    for c in self.per_core]
            if self.limits:
                lim = self.limits
                rows.append(["limit", "", lim.get("neurons"), "", lim.get("synaptic_memory_bytes"),
                             lim.get("fan_in"), "", "", lim.get("fan_out"), ""])
            widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
            fmt = "  ".join(f"{{:>{w}}}" for w in widths)
            lines += [fmt.format(*head)] + [fmt.format(*["" if x is None else x for x in r]) for r in rows]
            for res, h in self.histograms.items():
                lines.append(f"utilisation of {res:<20} cores per 10% bin: {h['counts']}")
        if self.structured:
            st = self.structured
            lines.append(f"structured circuit, placed from its shapes ({st['method']}): {st['neurons']:,} neurons and "
                         f"{st['synapses']:,} synapses as neurons; {st['weight_storage']}")
            for name, g in st.get("products", {}).items():
                lines.append(f"product {name}: {g['lines']:,} line + {g['gates']:,} gate neurons, "
                             f"{g['synapses']:,} synapses (accumulate-only realisation)")
            if "fan_out_max_sampled" in self.partition:
                lines.append(f"fan-out: {self.partition['fan_out_max_sampled']:,} destination cores, the most of "
                             f"{self.partition['fan_out_sampled_cores']} sampled cores (a lower bound on the "
                             "largest)")
        for k, v in self.assumptions.items():
            lines.append(f"assumption: {k}: {v}")
        return "\n".join(lines)

    def save_png(self, path) -> None:
        """Per-core utilisation (%) of each limited resource, one bar group per core."""
        from spikeattn.errors import require
        require("matplotlib", "plots", "The resource report's PNG")
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from spikeattn.fileio import atomic_savefig
        fig, ax = plt.subplots(figsize=(max(4.0, 0.5 * self.cores + 2), 3.2))
        cores = np.arange(self.cores)
        res = [r for r in RESOURCES if self.per_core and f"util_{r}" in self.per_core[0]]
        w = 0.8 / max(len(res), 1)
        for i, r in enumerate(res):
            ax.bar(cores + (i - (len(res) - 1) / 2) * w, [100 * c[f"util_{r}"] for c in self.per_core], w, label=r)
        ax.axhline(100, color="k", lw=0.8, ls="--")
        ax.set_xlabel("core")
        ax.set_ylabel("utilisation of the core limit (%)")
        ax.set_title(f"{self.circuit} on {self.chip}: {self.cores} cores" + ("" if self.fits else " (does not fit)"))
        ax.legend(fontsize=7)
        fig.tight_layout()
        atomic_savefig(fig, path, dpi=120)
        plt.close(fig)


def _binding(constraint: str, element: str, need: float, limit: float) -> dict:
    return {"constraint": constraint, "element": element, "need": float(need), "limit": float(limit),
            "over_by": float(need - limit), "over_ratio": float(need / limit) if limit else math.inf}


def _worst_neuron(circuit, lim) -> dict | None:
    """The single-neuron requirement that breaks a limit (which no slicing can fix)."""
    def synapses(name, pop):
        syn = np.zeros(pop.size)
        for p in circuit.projections.values():
            if p.post == name:
                syn += np.asarray((sp.csr_matrix(p.weights) != 0).sum(axis=1)).ravel()
        return syn
    return worst_neuron(circuit.populations, synapses, lim)


def worst_neuron(populations: dict, synapses, lim) -> dict | None:
    """The worst single-neuron requirement over ``populations``; ``synapses(name, pop)`` gives
    the synapses onto each neuron (input axons are taken as that many)."""
    worst = None
    for name, pop in populations.items():
        syn = synapses(name, pop)
        state = pop.model.state_bytes if lim.state_in_core_memory else 0
        need = {"weight_memory_bytes": syn * lim.bytes_per_synapse + state, "axons_in": syn}
        for res, arr in need.items():
            limit = getattr(lim, LIMIT_OF[res])
            if limit is not None and arr.size and arr.max() > limit:
                i = int(arr.argmax())
                b = _binding(CONSTRAINT_OF[res], f"population '{name}' neuron {i}", arr[i], limit)
                if worst is None or b["over_ratio"] > worst["over_ratio"]:
                    worst = b
    return worst


def resources(circuit, chip="loihi2", result=None, *, max_chips: int | None = None, seed: int = 0,
              exact: bool | None = None) -> ResourceReport:
    """Cores, chips and per-core use of ``circuit`` on ``chip`` (see the module docstring).

    ``result``: optional SimResult / EventCounts / counts dict weighting the partition by spike
    traffic (as :func:`~hardware_models.placement.place`); ``max_chips``: the circuit must fit on
    at most that many chips (else ``fits`` is False with ``cores per chip`` binding).  A
    structured circuit is reported from its shapes (:func:`resources_structured`; ``exact`` as
    in ``place``): a large one lists per-core rows up to ``PER_CORE_ROWS`` cores, and its
    fan-out comes from sampled cores."""
    hw = chip if isinstance(chip, HardwareModel) else get(chip)
    lim = hw.limits
    if lim is None:
        raise PlacementError("core limits", hw.name, f"'{hw.name}' is a {hw.kind} model without per-core limits.",
                             "ask for a neuromorphic chip: loihi2 or loihi.")
    base = ResourceReport(chip=hw.name, circuit=circuit.name, fits=True, cores_per_chip=lim.cores_per_chip,
                          limits=lim.to_dict(), assumptions=dict(ASSUMPTIONS.get(hw.name, {})))
    if circuit.structured:
        circuit.validate()
        return resources_structured(circuit, hw, result, base, max_chips, seed, exact)
    try:
        pl = place(circuit, hw, result, limits=replace(lim, fan_out=None), seed=seed)
    except PlacementError as exc:
        base.fits = False
        base.binding = _worst_neuron(circuit, lim) or _error_binding(exc)
        return base
    return _report(base, circuit, pl, lim, seed, max_chips)


def _error_binding(exc: PlacementError) -> dict:
    return {"constraint": exc.constraint, "element": exc.element, "need": math.nan, "limit": math.nan,
            "over_by": math.nan, "over_ratio": math.nan, "message": str(exc)}


def _report(base: ResourceReport, circuit, pl, lim, seed: int, max_chips: int | None) -> ResourceReport:
    """Fill ``base`` from placement ``pl``: the per-core table, histograms and what binds."""
    per_core = _per_core(circuit, pl, lim)
    base.cores, base.chips, base.per_core = pl.cores_used, pl.chips_used, per_core
    how = {"metis": "METIS multilevel bisection (pymetis)"}.get(getattr(pl, "partitioner", ""),
                                                               "networkx Kernighan-Lin bisection")
    base.partition = {"method": f"hardware_models.placement.place: slices under the core limits, {how} "
                                "weighted by spike messages, greedy merge (the cost model's placement)",
                      "partitioner": getattr(pl, "partitioner", "kernighan-lin"),
                      "seed": seed, "assignment": pl.summary()["assignment"],
                      "mesh_diameter_hops": pl.mesh_diameter, "tiles_used": pl.tiles_used}
    for r in RESOURCES:
        if per_core and f"util_{r}" in per_core[0]:
            u = np.array([c[f"util_{r}"] for c in per_core])
            counts, edges = np.histogram(np.clip(u, 0, 1), bins=10, range=(0, 1))
            base.histograms[r] = {"bins": [round(float(e), 2) for e in edges], "counts": counts.tolist(),
                                  "over_limit": int((u > 1).sum())}
    if lim.fan_out is not None and per_core:
        worst = max(per_core, key=lambda c: c["fan_out_cores"])
        if worst["fan_out_cores"] > lim.fan_out:
            base.fits = False
            base.binding = _binding(CONSTRAINT_OF["fan_out_cores"], f"core {worst['core']}",
                                    worst["fan_out_cores"], lim.fan_out)
    if base.fits and max_chips is not None and pl.chips_used > max_chips:
        base.fits = False
        base.binding = _binding("cores per chip", f"circuit '{circuit.name}' on {max_chips} chip(s)",
                                pl.cores_used, max_chips * lim.cores_per_chip)
    return base


def _per_core(circuit, pl, lim) -> list[dict]:
    k_n = pl.cores_used
    neurons = np.zeros(k_n, np.int64)
    state = np.zeros(k_n)
    synapses = np.zeros(k_n, np.int64)
    stored = np.zeros(k_n, np.int64)        # synaptic-memory entries (the synapses unless weights are shared)
    incoming: dict[str, list] = {}
    for p in circuit.projections.values():
        incoming.setdefault(p.post, []).append(p)
    for s, k in zip(pl.slices, pl.core_of_slice):
        neurons[k] += s.size
        if lim.state_in_core_memory:
            state[k] += s.size * circuit.node(s.pop).model.state_bytes
        for p in incoming.get(s.pop, []):
            synapses[k] += pl.synapses_in(p, s.start, s.stop)
        stored[k] += s.synapses
    offsets, off = {}, 0
    for n, obj in circuit.nodes().items():
        offsets[n] = off
        off += obj.size
    n_ids = max(off, 1)
    ax_keys, out_src, edges, host = [], [], [], np.zeros(k_n, bool)
    for p in circuit.projections.values():
        d = pl.dest(p)                                          # (pre, core)
        col = np.asarray(d.col, np.int64)
        ax_keys.append(col * n_ids + offsets[p.pre] + np.asarray(d.row, np.int64))
        if p.pre in pl.neuron_core:
            src = pl.neuron_core[p.pre][d.row]
            out_src.append(src)
            edges.append(src[src != col] * max(k_n, 1) + col[src != col])
        else:
            host[np.unique(col)] = True
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64))  # noqa: E731
    axons_in = np.bincount(np.unique(cat(ax_keys)) // n_ids, minlength=k_n)[:k_n]
    axons_out = np.bincount(cat(out_src), minlength=k_n)[:k_n]
    e = np.unique(cat(edges))
    fan_out = np.bincount(e // max(k_n, 1), minlength=k_n)[:k_n]
    fan_in = np.bincount(e % max(k_n, 1), minlength=k_n)[:k_n] + host
    out = []
    for k in range(k_n):
        c = {"core": k, "chip": k // lim.cores_per_chip, "neurons": int(neurons[k]), "synapses": int(synapses[k]),
             "weight_memory_bytes": float(stored[k] * lim.bytes_per_synapse + state[k]),
             "axons_in": int(axons_in[k]), "axons_out": int(axons_out[k]), "fan_in_cores": int(fan_in[k]),
             "fan_out_cores": int(fan_out[k])}
        for r in RESOURCES:
            limit = getattr(lim, LIMIT_OF[r])
            if limit:
                c[f"util_{r}"] = c[r] / limit
        c["max_utilisation"] = max([c[f"util_{r}"] for r in RESOURCES if f"util_{r}" in c] or [0.0])
        out.append(c)
    return out


def resources_structured(circuit, hw: HardwareModel, result, base, max_chips, seed, exact=None):
    """:func:`resources` for a structured circuit (called by it), placed from its shapes
    (:mod:`hardware_models.structured`): an exact placement gets the flat report (the same
    table as on ``circuit.expand()``), a large one totals, histograms from per-core arrays
    (rows up to ``PER_CORE_ROWS`` cores) and the sampled fan-out."""
    lim = hw.limits
    vc = VirtualCircuit(circuit)
    try:
        pl = place(circuit, hw, result, limits=replace(lim, fan_out=None), seed=seed, exact=exact)
    except PlacementError as exc:
        base.fits = False
        base.binding = worst_neuron(vc.populations, lambda n, pop: _in_degree(vc, n, pop), lim) or \
            _error_binding(exc)
        return base
    vc = pl.virtual
    info = {"method": "exact (the flat partition on the expansion's slices)" if pl.exact else
            "aggregate (slices packed in order; fan-out from sampled cores)",
            "neurons": vc.neurons, "synapses": vc.synapses, "weight_sharing": lim.weight_sharing,
            "weight_storage": structured_limits_note(lim), "products": vc.realisation(),
            "axon_upper_bounds": list(getattr(vc, "axon_bounds", []))}
    if pl.exact:
        base = _report(base, vc, pl, lim, seed, max_chips)
        base.structured = info
        return base
    base.structured = info
    arr = pl.per_core()
    k = pl.cores_used
    base.cores, base.chips = k, pl.chips_used
    vals = {"neurons": arr["neurons"], "weight_memory_bytes": arr["memory"], "axons_in": arr["axons_in"]}
    util = {r: v / getattr(lim, LIMIT_OF[r]) for r, v in vals.items() if getattr(lim, LIMIT_OF[r])}
    fan_out = pl.fan_out_estimate()
    if lim.fan_out:
        util["fan_out_cores"] = np.array([fan_out / lim.fan_out])
    summ = pl.summary()
    base.partition = {"method": summ["method"], "assignment": summ["assignment"],
                      "mesh_diameter_hops": pl.mesh_diameter, "tiles_used": pl.tiles_used,
                      "fan_out_sampled_cores": len(pl.samples()), "fan_out_max_sampled": fan_out}
    if k <= PER_CORE_ROWS:
        rows = []
        for i in range(k):
            c = {"core": i, "chip": i // lim.cores_per_chip, "neurons": int(arr["neurons"][i]),
                 "synapses": int(arr["synapses"][i]), "weight_memory_bytes": float(arr["memory"][i]),
                 "axons_in": int(arr["axons_in"][i]), "axons_out": None, "fan_in_cores": None, "fan_out_cores": None}
            for r in vals:
                if r in util:
                    c[f"util_{r}"] = float(util[r][i])
            c["max_utilisation"] = max([c[f"util_{r}"] for r in vals if f"util_{r}" in c] or [0.0])
            rows.append(c)
        base.per_core = rows
    info["totals"] = {"neurons": int(arr["neurons"].sum()), "synapses": int(arr["synapses"].sum()),
                      "stored_synapses": int(arr["stored"].sum()), "weight_memory_bytes": float(arr["memory"].sum())}
    for r, u in util.items():
        counts, edges = np.histogram(np.clip(u, 0, 1), bins=10, range=(0, 1))
        base.histograms[r] = {"bins": [round(float(e), 2) for e in edges], "counts": counts.tolist(),
                              "over_limit": int((u > 1).sum())}
    if lim.fan_out is not None and fan_out > lim.fan_out:
        base.fits = False
        base.binding = _binding(CONSTRAINT_OF["fan_out_cores"], "a sampled core", fan_out, lim.fan_out)
    if base.fits and max_chips is not None and pl.chips_used > max_chips:
        base.fits = False
        base.binding = _binding("cores per chip", f"circuit '{circuit.name}' on {max_chips} chip(s)",
                                pl.cores_used, max_chips * lim.cores_per_chip)
    return base


def _in_degree(vc, name: str, pop) -> np.ndarray:
    """Synapses onto each of the first 10^7 neurons of ``name`` (every neuron of all but a
    product's gate populations, whose neurons all have the same two synapses)."""
    n = min(pop.size, 10_000_000)
    edges = np.arange(n + 1, dtype=np.int64)
    out = np.zeros(n)
    for c in vc.projections.values():
        if c.post == name:
            out += c.synapses(edges)
    return out
