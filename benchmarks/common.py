"""Shared benchmark plumbing: timing, peak memory, worker processes, tables and result files.

Timing: :func:`timed` runs a callable ``repeats`` times (after ``warmup`` untimed calls) and
keeps every wall time; rows report the **median** (``statistics.median``) and the spread.
Peak memory: every measurement runs in a fresh worker process (:func:`run_worker`); its
peak resident set size is the ``ru_maxrss`` that ``os.wait4`` returns for that child
(KiB on Linux; it covers the worker and the descendants it waited for, e.g. Brian2's
standalone binary or Lava's process-model processes), so imports count too and each row
is measured from an empty process.  Results go to ``benchmarks/results/`` as JSON, CSV
and PNG, each written atomically (temporary file + rename, :mod:`spikeattn.fileio`).
Progress bars (tqdm) appear only when stderr is a terminal.

Worker protocol: the worker prints one line ``RESULT_MARK + json`` on stdout (last line
wins); everything else it prints passes through to the caller's stderr.
"""
from __future__ import annotations

import csv
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
RESULT_MARK = "@@BENCH_RESULT@@ "


# ------------------------------------------------------------------ timing
def timed(fn: Callable[[], object], repeats: int = 3, warmup: int | str = 0,
          long_s: float = 2.0) -> tuple[list[float], object]:
    """Wall times (``time.perf_counter``) of ``repeats`` calls of ``fn`` after ``warmup``
    untimed calls; returns ``(times, last return value)``.  ``warmup="auto"``: the first call
    is an untimed warm-up if it takes less than ``long_s`` seconds, else it counts as the
    first repeat (a call that long is not changed by warm caches, and the slowest cases
    must fit the time budget)."""
    out, times = None, []
    if warmup == "auto":
        t0 = time.perf_counter()
        out = fn()
        first = time.perf_counter() - t0
        if first >= long_s:
            times.append(first)
        warmup = 0
    for _ in range(int(warmup)):
        out = fn()
    for _ in range(max(int(repeats), 1) - len(times)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def summary(times: Sequence[float]) -> dict:
    """``median_s``, ``min_s``, ``max_s``, ``repeats`` and the raw ``times_s``."""
    t = [float(x) for x in times]
    return {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t), "repeats": len(t), "times_s": t}


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ------------------------------------------------------------------ workers
def emit(result: dict) -> None:
    """Worker side: print the result line the caller parses (adds this process's peak RSS)."""
    result = dict(result)
    result.setdefault("worker_peak_rss_mib", peak_rss_mib())
    from spikeattn.fileio import to_json

    sys.stdout.write(RESULT_MARK + to_json(result, indent=None) + "\n")
    sys.stdout.flush()


def run_worker(argv: list[str], timeout: float = 1800.0, env: dict | None = None) -> dict:
    """Run ``argv`` (a worker command) in a fresh process and return its result dict, with
    ``peak_rss_mib`` (from ``os.wait4``), ``process_wall_s`` (start to exit) and, on failure,
    ``error`` (the exit status and the last lines of its output) instead of raising."""
    t0 = time.perf_counter()
    full_env = dict(os.environ, **(env or {}))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT, env=full_env,
                            text=True, bufsize=1)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    lines, result = [], None
    try:
        for line in proc.stdout:
            if line.startswith(RESULT_MARK):
                result = json.loads(line[len(RESULT_MARK):])
            else:
                lines.append(line)
                if sys.stderr.isatty():
                    sys.stderr.write(line)
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if result is None or proc.returncode:
        tail = "".join(lines[-15:])
        return {"error": f"worker exited {proc.returncode} after {wall:.1f} s: {tail.strip()[-1500:]}",
                "process_wall_s": wall}
    result["peak_rss_mib"] = usage.ru_maxrss / 1024.0
    result["process_wall_s"] = wall
    return result


# ------------------------------------------------------------------ output
def progress(iterable: Iterable, total: int | None = None, desc: str = ""):
    """``tqdm(iterable)`` when stderr is a terminal and tqdm is installed, else ``iterable``."""
    if not sys.stderr.isatty():
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with every extra
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fmt(x, spec: str = ".3g") -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    try:
        return format(x, spec)
    except (TypeError, ValueError):
        return str(x)


def format_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """Plain-text table; ``columns`` are ``(header, key, format spec)``; missing values "-"."""
    cells = [[fmt(r.get(k), f) for _, k, f in columns] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, (h, _, _) in enumerate(columns)]
    line = lambda vals: "  ".join(v.rjust(w) if i else v.ljust(w)  # noqa: E731
                                  for i, (v, w) in enumerate(zip(vals, widths)))
    head = line([h for h, _, _ in columns])
    return "\n".join([head, "-" * len(head), *(line(c) for c in cells)])


def target_line(name: str, ratio: float | None, need: float, higher_is_better: bool = True,
                note: str = "") -> dict:
    """One target: measured value against the required one, PASS / MISS / n/a."""
    if ratio is None or ratio != ratio:
        verdict = "n/a"
    else:
        verdict = "PASS" if (ratio >= need if higher_is_better else ratio <= need) else "MISS"
    return {"target": name, "measured": ratio, "required": ("≥ " if higher_is_better else "≤ ") + f"{need:g}",
            "verdict": verdict, "note": note}


def format_targets(targets: list[dict]) -> str:
    return format_table(targets, [("target", "target", ""), ("measured", "measured", ".3g"),
                                  ("required", "required", ""), ("verdict", "verdict", ""), ("note", "note", "")])


def _cpuinfo(key: str) -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.split(":", 1)[0].strip() == key:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def host_info() -> dict:
    """The machine a table was measured on: CPU model, cores, SIMD flags, load average (figures
    from different machines, or one machine under different load, are not comparable)."""
    import numpy as np
    simd = [f for f in _cpuinfo("flags").split() if f.startswith(("avx", "fma", "sse4"))]
    return {"python": platform.python_version(), "platform": platform.platform(), "machine": platform.machine(),
            "cpu_model": _cpuinfo("model name") or platform.processor() or "unknown", "cpus": os.cpu_count(),
            "simd": " ".join(simd), "numpy": np.__version__, "load_avg_1min": os.getloadavg()[0],
            "load_avg": [round(x, 2) for x in os.getloadavg()]}


def host_line(host: dict | None = None) -> str:
    """One line for beside a table: CPU model, cores, SIMD flags, load average (1/5/15 min)."""
    h = host or host_info()
    return (f"CPU: {h['cpu_model']}, {h['cpus']} cores, SIMD {h['simd'] or 'unknown'}; "
            f"load average {' / '.join(f'{x:.2f}' for x in h['load_avg'])} (1/5/15 min)")


def write_results(stem: str, doc: dict, rows: list[dict], columns: Sequence[str], out_dir: Path = RESULTS) -> list[Path]:
    """Write ``stem.json`` (``doc``) and ``stem.csv`` (``rows`` restricted to ``columns``)
    atomically into ``out_dir``; returns the paths."""
    from spikeattn.fileio import atomic_write_bytes, atomic_write_json

    out_dir.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return [atomic_write_json(out_dir / f"{stem}.json", doc),
            atomic_write_bytes(out_dir / f"{stem}.csv", buf.getvalue().encode())]


def bar_plot(path: Path, labels: list[str], series: dict[str, list[float | None]], ylabel: str, title: str):
    """Grouped log-scale bar chart written atomically; None if matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    import numpy as np
    from spikeattn.fileio import atomic_savefig

    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(labels) + 2), 4.2))
    x = np.arange(len(labels))
    width = 0.8 / max(len(series), 1)
    for i, (name, vals) in enumerate(series.items()):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, [v if v else 0 for v in vals], width, label=name)
    ax.set_xticks(x, labels, rotation=35, ha="right", fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = atomic_savefig(fig, path)
    plt.close(fig)
    return path
