"""The tables, summary statistics, plots and report of a finished sweep.

``table.csv`` / ``table.parquet``: one row per point in plan order -- the grid values,
``seed``, ``passed``, one column per check (``check:NAME``, true/false) and per metric
(``METRIC``, with the unit in ``units.json``).  Timings are left out, so the same seeds
give byte-identical tables.  ``summary.csv``: per grid point and metric, the mean across
seeds, the 95 % Student-t interval ``mean +- t_{0.975, n-1} s / sqrt(n)`` (NaN for one
seed) and n.
"""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
from scipy import stats

from spikeattn.errors import require
from spikeattn.fileio import atomic_write_bytes, atomic_write_json, atomic_write_text

MAX_PANELS = 9


def load_point(path: Path) -> dict | None:
    """The point's result document if it is complete and valid, else None."""
    from spikeattn.schema import errors
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if not errors(doc) else None


def _cell(v):
    if isinstance(v, (list, tuple)):
        return "/".join(str(x) for x in v)
    return v


def rows_of(out: Path, grid: dict, points: list[dict]) -> tuple[list[dict], dict]:
    rows, units = [], {}
    for p in points:
        doc = load_point(out / "points" / p["key"] / "result.json")
        if doc is None:
            raise RuntimeError(f"sweep point {p['key']} has no valid result.json after the run")
        row = {k: _cell(p["grid"][k]) for k in grid}
        row.update(seed=p["seed"], key=p["key"], passed=bool(doc["outcome"]["passed"]))
        for name, c in doc["outcome"]["checks"].items():
            row[f"check:{name}"] = bool(c["passed"])
        for name, m in doc["outcome"]["metrics"].items():
            row[name] = m["value"]
            units[name] = m["unit"]
        rows.append(row)
    return rows, units


def mean_ci(values) -> tuple[float, float, float, int]:
    """``(mean, low, high, n)``: mean and 95 % Student-t interval of the finite values."""
    v = np.array([x for x in values if x is not None and math.isfinite(x)], float)
    n = v.size
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    m = float(v.mean())
    if n == 1:
        return m, math.nan, math.nan, 1
    half = float(stats.t.ppf(0.975, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return m, m - half, m + half, n


def _csv(rows: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, columns, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({c: ("" if r.get(c) is None else r.get(c)) for c in columns})
    return buf.getvalue()


def write_parquet(rows: list[dict], columns: list[str], path: Path) -> Path:
    pa = require("pyarrow", "sweep", "writing the sweep table as Parquet")
    import pyarrow.parquet as pq
    table = pa.table({c: [r.get(c) for r in rows] for c in columns})
    buf = pa.BufferOutputStream()
    pq.write_table(table, buf)
    return atomic_write_bytes(path, buf.getvalue().to_pybytes())


def summarise(rows: list[dict], grid: dict, metrics: list[str]) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in grid), []).append(r)
    out = []
    for combo, rs in groups.items():
        row = dict(zip(grid, combo))
        row["seeds"] = len(rs)
        row["passed_fraction"] = sum(r["passed"] for r in rs) / len(rs)
        for m in metrics:
            mean, lo, hi, n = mean_ci([r.get(m) for r in rs])
            row.update({f"{m}:mean": mean, f"{m}:ci95_low": lo, f"{m}:ci95_high": hi})
        out.append(row)
    return out


def plot_summary(summary: list[dict], grid: dict, metrics: list[str], units: dict, path: Path):
    """Mean (markers) and 95 % interval (bars) across seeds of each varying metric versus
    the first grid key; one line per combination of the other keys."""
    from spikeattn.plots.common import pyplot, save_figure
    plt = pyplot("plotting sweep summaries")
    x_key, others = list(grid)[0], list(grid)[1:]
    xs = list(dict.fromkeys(r[x_key] for r in summary))
    numeric = all(isinstance(x, (int, float)) for x in xs)
    shown = metrics[:MAX_PANELS]
    ncol = min(3, len(shown))
    nrow = -(-len(shown) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), squeeze=False)
    lines = list(dict.fromkeys(tuple(r[k] for k in others) for r in summary))
    for ax, m in zip(axes.ravel(), shown):
        for j, combo in enumerate(lines):
            sel = [r for r in summary if tuple(r[k] for k in others) == combo]
            x = [r[x_key] if numeric else xs.index(r[x_key]) for r in sel]
            mean = np.array([r[f"{m}:mean"] for r in sel], float)
            lo = np.array([r[f"{m}:ci95_low"] for r in sel], float)
            hi = np.array([r[f"{m}:ci95_high"] for r in sel], float)
            err = np.vstack([mean - lo, hi - mean])
            label = ", ".join(f"{k} = {v}" for k, v in zip(others, combo)) or "mean, 95 % CI"
            ax.errorbar(x, mean, yerr=np.where(np.isfinite(err), err, 0), fmt="o-", capsize=3, ms=4,
                        color=plt.get_cmap("tab10")(j % 10), label=label)
        ax.set_xlabel(x_key)
        ax.set_ylabel(f"{m} ({units.get(m, '')})", fontsize=8)
        ax.set_title(m, fontsize=9)
        if not numeric:
            ax.set_xticks(range(len(xs)))
            ax.set_xticklabels([str(x) for x in xs])
    for ax in axes.ravel()[len(shown):]:
        ax.set_visible(False)
    axes[0, 0].legend(fontsize=7)
    n = summary[0]["seeds"] if summary else 0
    fig.suptitle(f"mean and 95 % t-interval across {n} seeds per point", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def finish(out: Path, spec, engine: str, grid: dict, seeds: list[int], points: list[dict]) -> dict:
    rows, units = rows_of(out, grid, points)
    metric_names = list(dict.fromkeys(k for r in rows for k in r if k in units))
    check_cols = list(dict.fromkeys(k for r in rows for k in r if k.startswith("check:")))
    columns = list(grid) + ["seed", "key", "passed"] + check_cols + metric_names
    paths = {"table_csv": atomic_write_text(out / "table.csv", _csv(rows, columns))}
    paths["table_parquet"] = write_parquet(rows, columns, out / "table.parquet")
    atomic_write_json(out / "units.json", units)
    summary_rows = summarise(rows, grid, metric_names)
    s_cols = list(grid) + ["seeds", "passed_fraction"] + [f"{m}:{s}" for m in metric_names
                                                          for s in ("mean", "ci95_low", "ci95_high")]
    paths["summary_csv"] = atomic_write_text(out / "summary.csv", _csv(summary_rows, s_cols))
    varying = [m for m in metric_names if len({r.get(m) for r in rows}) > 1] or metric_names
    figures = []
    try:
        figures.append(plot_summary(summary_rows, grid, varying, units, out / "sweep_summary.png"))
    except ImportError:
        pass
    first = load_point(out / "points" / points[0]["key"] / "result.json")
    summary = {"scenario": spec.name, "engine": engine, "grid": grid, "seeds": len(seeds), "seed_values": seeds,
               "points": len(rows), "passed_points": sum(r["passed"] for r in rows),
               "reduced": first.get("reduced", {}) if first else {},
               "columns": list(grid) + ["seeds", "passed_fraction"] + [f"{m}:mean" for m in varying[:6]],
               "table": summary_rows, "figures": [str(f) for f in figures],
               **{k: str(v) for k, v in paths.items()}}
    from spikeattn.report import sweep_report
    summary["report"] = str(sweep_report(summary, out / "report.html", figures))
    atomic_write_json(out / "summary.json", json.loads(json.dumps(summary, default=str)))
    return summary
