"""Placement: Kernighan-Lin (networkx) against METIS (pymetis) on circuits of growing size.

Two families of circuits.  The mosaic (:func:`mosaic`) is ``layers`` x ``cols`` populations of ``size`` neurons, each fed
by the population below it in its column (dense-ish) and by ``cross`` random populations of the
layer below (sparse): several populations share a core, so the partitioner decides which; its
slice graph is sparse.  The scatter (:func:`scatter`) is a chain of large populations with random
synapses: its slice graph is dense (as a converted transformer's), where Kernighan-Lin is slow.
Each size is placed with both partitioners (``hardware_models.placement.place(...,
partitioner=...)``) in the same run; the table gives CPU seconds of the whole ``place`` call,
cores used and the cut (inter-core messages between populations, uniform spikes: one per
neuron) with METIS / Kernighan-Lin ratios.  Kernighan-Lin is skipped above ``--max-kl-slices``
(it grows about quadratically).  ``--converted DIR`` adds a saved circuit (``DIR/seg0.zip``
and optionally ``DIR/seg0_counts.json``, e.g. a converted model).  Run::

    .venv/bin/python benchmarks/bench_placement.py [--chip loihi] [--cols 16,32,64,128] [--quick]

This is a measurement, not a test: numbers depend on the machine and its load (printed beside
the table).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402


def mosaic(cols: int, layers: int = 8, size: int = 64, cross: int = 3, p_col: float = 0.3, p_cross: float = 0.05,
           seed: int = 0):
    """The benchmark circuit (module docstring); populations added in shuffled order."""
    import scipy.sparse as sp

    from spikeattn import IF, Circuit
    rng = np.random.default_rng(seed)
    c = Circuit(f"mosaic_{cols}x{layers}")
    c.add_source("x", cols * size, encoder="poisson", seed=seed)
    names = {}
    for i in rng.permutation(cols * layers):
        layer, k = divmod(int(i), cols)
        names[layer, k] = f"p{layer}_{k}"
        c.add_population(names[layer, k], size, IF(vth=1.0))

    def block(p, n_in):
        return sp.random(size, n_in, density=p, random_state=rng, format="csr", data_rvs=lambda n: np.full(n, 0.6))

    for k in range(cols):
        w = sp.hstack([block(p_col if j == k else 0.0, size) for j in range(cols)]).tocsr()
        c.connect("x", names[0, k], w)
    for layer in range(1, layers):
        for k in range(cols):
            c.connect(names[layer - 1, k], names[layer, k], block(p_col, size))
            for j in rng.choice([j for j in range(cols) if j != k], size=min(cross, cols - 1), replace=False):
                c.connect(names[layer - 1, int(j)], names[layer, k], block(p_cross, size))
    return c


def scatter(n: int, layers: int = 4, fan_in: int = 16, seed: int = 0):
    """``layers`` populations of ``n`` neurons in a chain, each neuron fed by ``fan_in`` random
    neurons of the population before (a source feeds the first): every slice of a layer talks
    to nearly every slice of the next, a dense slice graph like a converted model's."""
    import scipy.sparse as sp

    from spikeattn import IF, Circuit
    rng = np.random.default_rng(seed)
    c = Circuit(f"scatter_{n}x{layers}")
    c.add_source("x", n, encoder="poisson", seed=seed)
    prev = "x"
    for layer in range(layers):
        name = f"h{layer}"
        c.add_population(name, n, IF(vth=1.0))
        cols = rng.integers(0, n, (n, fan_in)).ravel()
        w = sp.csr_matrix((np.full(n * fan_in, 0.6), (np.repeat(np.arange(n), fan_in), cols)), shape=(n, n))
        w.sum_duplicates()
        c.connect(prev, name, w)
        prev = name
    return c


def measure(c, chip: str, method: str, counts=None, limits=None) -> dict:
    from hardware_models.placement import place
    t = time.process_time()
    w = time.perf_counter()
    pl = place(c, chip, counts, partitioner=method, limits=limits)
    cpu, wall = time.process_time() - t, time.perf_counter() - w
    tr = pl.traffic(counts)
    return {"partitioner": pl.partitioner, "cpu_s": cpu, "wall_s": wall, "cores": pl.cores_used,
            "slices": len(pl.slices), "cut": tr.inter_core_messages - tr.host_messages, "hops": tr.hops}


def row(label, c, chip, counts, max_kl, syn, limits=None):
    m = measure(c, chip, "metis", counts, limits)
    k = measure(c, chip, "kernighan-lin", counts, limits) if m["slices"] <= max_kl else None
    r = {"circuit": label, "neurons": sum(p.size for p in c.populations.values()), "synapses": syn,
         "slices": m["slices"], "kl_cpu_s": k and k["cpu_s"], "metis_cpu_s": m["cpu_s"],
         "speedup": k and k["cpu_s"] / max(m["cpu_s"], 1e-9), "kl_cores": k and k["cores"],
         "metis_cores": m["cores"], "kl_cut": k and k["cut"], "metis_cut": m["cut"],
         "cut_ratio": k and (m["cut"] / k["cut"] if k["cut"] else 1.0)}
    common.log(f"{label}: {r}")
    return r


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chip", default="loihi", help="chip whose core limits apply (default loihi)")
    ap.add_argument("--cols", default="16,32,64,128", help="columns of the mosaic, one circuit each")
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--scatter", default="4096,16384,65536",
                    help="neurons per layer of the scatter circuits (4 layers, fan-in 16), one circuit each; "
                         "'' for none")
    ap.add_argument("--max-kl-slices", type=int, default=2100, help="skip Kernighan-Lin above this many slices")
    ap.add_argument("--converted", type=Path, action="append", default=[],
                    help="folder with seg0.zip (and seg0_counts.json) of a saved circuit to add")
    ap.add_argument("--limit", action="append", default=[], metavar="FIELD=VALUE",
                    help="override a core limit of the chip for every circuit (a study), e.g. fan_in=16384 or "
                         "fan_out=none")
    ap.add_argument("--quick", action="store_true", help="two small sizes only")
    ap.add_argument("--out", type=Path, default=common.RESULTS)
    args = ap.parse_args(argv)
    from hardware_models.partitioners import pymetis_module
    if pymetis_module() is None:
        print("SKIPPED: bench_placement needs pymetis (pip install pymetis, the 'placement' extra)")
        return 0
    import spikeattn
    from hardware_models.placement import with_limits
    over = {k: (None if v.lower() == "none" else int(v)) for k, v in (x.split("=", 1) for x in args.limit)}
    limits = with_limits(args.chip, **over) if over else None
    host = common.host_info()
    cols = [8, 16] if args.quick else [int(x) for x in args.cols.split(",") if x.strip()]
    rows = []
    for n in cols:
        c = mosaic(n, args.layers)
        syn = sum(int(p.weights.nnz) for p in c.projections.values())
        rows.append(row(f"mosaic {n}x{args.layers}", c, args.chip, None, args.max_kl_slices, syn, limits))
    for n in ([1024, 4096] if args.quick else [int(x) for x in args.scatter.split(",") if x.strip()]):
        c = scatter(n)
        syn = sum(int(p.weights.nnz) for p in c.projections.values())
        rows.append(row(f"scatter {n}x4", c, args.chip, None, args.max_kl_slices, syn, limits))
    for d in args.converted:
        c = spikeattn.load(d / "seg0.zip")
        cf = d / "seg0_counts.json"
        counts = json.loads(cf.read_text()) if cf.is_file() else None
        import scipy.sparse as sp
        syn = sum(int(sp.csr_matrix(p.weights).nnz) for p in c.projections.values())
        from hardware_models.errors import PlacementError
        try:
            rows.append(row(f"{d.name}", c, args.chip, counts, args.max_kl_slices, syn, limits))
        except PlacementError as exc:
            print(f"{d.name} does not fit {args.chip}: {exc}")
    print(f"\nplacement on {args.chip}{' with ' + ', '.join(args.limit) if args.limit else ''}: Kernighan-Lin (networkx) vs METIS (pymetis); CPU seconds of place(), "
          "cut = inter-core messages between populations")
    print(common.host_line(host))
    cols_fmt = [("circuit", "circuit", ""), ("neurons", "neurons", ","), ("synapses", "synapses", ","),
                ("slices", "slices", ""), ("KL cpu s", "kl_cpu_s", ".2f"), ("METIS cpu s", "metis_cpu_s", ".2f"),
                ("speed-up", "speedup", ".1f"), ("KL cores", "kl_cores", ""), ("METIS cores", "metis_cores", ""),
                ("KL cut", "kl_cut", ".4g"), ("METIS cut", "metis_cut", ".4g"), ("cut METIS/KL", "cut_ratio", ".3f")]
    print(common.format_table(rows, cols_fmt))
    print(f"(KL skipped above {args.max_kl_slices} slices; peak RSS {common.peak_rss_mib():.0f} MiB)")
    common.write_results("bench_placement", {"host": host, "chip": args.chip, "rows": rows}, rows,
                         [k for _, k, _ in cols_fmt], args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
