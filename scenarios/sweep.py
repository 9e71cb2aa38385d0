"""Parameter sweeps on Dask: a Cartesian grid x seeds, one result per point, resumable.

Layout of a sweep folder ``OUT``::

    OUT/sweep.json                 the plan (scenario, engine, grid, fixed parameters, seeds)
    OUT/points/<key>/result.json   one validated result per (grid point, seed)
    OUT/table.csv, table.parquet   one row per point (grid values, seed, checks, metrics)
    OUT/summary.csv                per grid point: mean and 95 % t-interval across seeds
    OUT/sweep_summary.png/.svg     summary plots; OUT/report.html

``<key>`` is a hash of (scenario, engine, every parameter, seed), so a point is identified
by what it computes, not by its position.  A point's ``result.json`` is written atomically
(temp file + rename) by the task that computed it, and a task first looks for it: a
completed point is never recomputed, whether the driver restarts (it skips every point
already on disk) or Dask reruns a task after a worker died (the rerun finds the file, or
computes the missing point afresh).  Since each scenario is deterministic in its seed and
the table is built from the point files in plan order (timings excluded), a sweep that is
killed and restarted produces the same table as one that never was.

Execution: on a Dask ``LocalCluster`` (``workers`` processes, one thread each) by default,
or on a running Dask scheduler given as ``tcp://HOST:PORT``.  A progress bar with an ETA
is shown on a terminal only (:func:`spikeattn.progress.progress_bar`).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
from pathlib import Path

from spikeattn.errors import ParameterError, require
from spikeattn.fileio import atomic_write_json
from spikeattn.progress import progress_bar

from .results import get_spec, run_scenario
from .sweep_table import finish, load_point

PLAN_VERSION = 1


def point_key(scenario: str, engine: str, params: dict, seed: int) -> str:
    text = json.dumps({"scenario": scenario, "engine": engine, "params": params, "seed": seed}, sort_keys=True,
                      default=list)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan_points(scenario: str, engine: str, grid: dict, seeds: list[int], fixed: dict) -> list[dict]:
    """Every (grid point, seed) in a fixed order: grid keys as given, values as given, seeds inner."""
    keys = list(grid)
    pts = []
    for combo in itertools.product(*(grid[k] for k in keys)):
        params = {**fixed, **dict(zip(keys, combo))}
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
        for seed in seeds:
            pts.append({"key": point_key(scenario, engine, params, seed), "grid": dict(zip(keys, combo)),
                        "params": params, "seed": seed})
    return pts


def run_point(scenario: str, engine: str, params: dict, seed: int, path: str) -> str:
    """Dask task: compute one point unless its result is already on disk; returns the key."""
    p = Path(path)
    if load_point(p) is not None:
        return p.parent.name
    from spikeattn.schema import write_counts_csv, write_result

    res = run_scenario(scenario, engine=engine, seed=seed, **params)
    write_counts_csv(res.result.counts, p.parent / "counts.csv")
    res.doc["counts_csv"] = str(p.parent / "counts.csv")
    write_result(p, res.doc)
    return p.parent.name


def _client(workers: int | None, scheduler: str | None):
    require("distributed", "sweep", "running sweeps on Dask")
    from dask.distributed import Client, LocalCluster
    if scheduler:
        return Client(scheduler, timeout="30s"), None
    n = workers or max(1, min(os.cpu_count() or 1, 8))
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
    return Client(cluster), cluster


def run_sweep(scenario: str, grid: dict, out, seeds: int = 3, seed_start: int = 0, engine: str = "numpy",
              workers: int | None = None, scheduler: str | None = None, fixed: dict | None = None,
              progress: bool = True) -> dict:
    """Run ``scenario`` over ``grid`` (``{key: [values]}``) x seeds ``seed_start ..
    seed_start + seeds - 1`` into folder ``out`` and return the summary (see the module
    docstring).  Re-running with the same ``out`` resumes."""
    spec = get_spec(scenario)
    if not isinstance(grid, dict) or not grid:
        raise ParameterError("sweep", "grid", f"is {grid!r}.", "give {key: [values, ...]} with at least one key.")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ParameterError("sweep", "seeds", f"is {seeds!r}.", "give an integer >= 1.")
    clean_grid = {}
    for k, vals in grid.items():
        if k not in spec.params:
            raise ParameterError(f"sweep of '{scenario}'", k, "is not a parameter.", f"use one of {sorted(spec.params)}.")
        if not isinstance(vals, (list, tuple)) or not vals:
            raise ParameterError(f"sweep of '{scenario}'", k, f"is {vals!r}.", "give a non-empty list of values "
                                 "(for a list parameter, a list of lists).")
        clean_grid[k] = list(dict.fromkeys(spec.params[k].coerce(v, f"sweep of '{scenario}'") for v in vals))
    fixed = {k: spec.params[k].coerce(v, f"sweep of '{scenario}'") if k in spec.params else v
             for k, v in (fixed or {}).items()}
    spec.resolve(engine, {**fixed, **{k: v[0] for k, v in clean_grid.items()}})   # validate before starting
    seed_values = list(range(seed_start, seed_start + seeds))
    points = plan_points(scenario, engine, clean_grid, seed_values, fixed)
    out = Path(out)
    atomic_write_json(out / "sweep.json", {"plan_version": PLAN_VERSION, "scenario": scenario, "engine": engine,
                                           "grid": clean_grid, "fixed": fixed, "seeds": seed_values,
                                           "points": [{k: p[k] for k in ("key", "grid", "seed")} for p in points]})
    todo = [p for p in points if load_point(out / "points" / p["key"] / "result.json") is None]
    if todo:
        _compute(todo, scenario, engine, out, workers, scheduler, progress, len(points))
    summary = finish(out, spec, engine, clean_grid, seed_values, points)
    summary.update(computed=len(todo), reused=len(points) - len(todo))
    return summary


def _compute(todo, scenario, engine, out, workers, scheduler, progress, total) -> None:
    import logging

    from dask.distributed import as_completed
    logging.getLogger("distributed").setLevel(logging.ERROR)   # no nanny chatter in logs
    client, cluster = _client(workers, scheduler)
    bar = progress_bar(total, progress, f"sweep {scenario}", unit="point")
    bar.update(total - len(todo))
    try:
        futures = [client.submit(run_point, scenario, engine, p["params"], p["seed"],
                                 str(out / "points" / p["key"] / "result.json"), key=f"spikeattn-point-{p['key']}",
                                 pure=False, retries=3) for p in todo]
        for fut in as_completed(futures):
            fut.result()
            bar.update(1)
    finally:
        bar.close()
        client.close()
        if cluster is not None:
            cluster.close()
