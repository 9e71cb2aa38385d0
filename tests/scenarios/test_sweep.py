"""Sweeps on Dask: a small grid on a real LocalCluster, identical tables for identical
seeds, resumption after the driver or a worker is killed with SIGKILL (no point lost,
none duplicated, none recomputed, same table), and a running scheduler on 127.0.0.1."""
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="the sweep extra (dask[distributed]) is not installed")
pytest.importorskip("pyarrow", reason="the sweep extra (pyarrow) is not installed")

import scenarios  # noqa: E402
import spikeattn  # noqa: E402

pytestmark = pytest.mark.slow

GRID = {"k": [1, 2], "p_on": [0.5, 0.7]}
FIXED = {"batch": 4}
SEEDS = 2
ARGS = ["sweep", "moe-routing", "--grid", "k=1,2", "--grid", "p_on=0.5,0.7", "--seeds", str(SEEDS),
        "--set", "batch=4", "--quiet"]
N_POINTS = 8


def cli_cmd(*args):
    return [sys.executable, "-m", "spikeattn.cli", *args]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    summary = scenarios.run_sweep("moe-routing", GRID, out, seeds=SEEDS, workers=2, fixed=FIXED, progress=False)
    return out, summary


def rows(out: Path):
    return list(csv.DictReader(open(out / "table.csv")))


def test_small_sweep_on_a_local_cluster(reference, tmp_path):
    out, summary = reference
    assert summary["points"] == N_POINTS and summary["computed"] == N_POINTS and summary["reused"] == 0
    r = rows(out)
    assert len(r) == N_POINTS and len({x["key"] for x in r}) == N_POINTS
    assert sorted((x["k"], x["p_on"], x["seed"]) for x in r) == sorted(
        (str(k), str(p), str(s)) for k in GRID["k"] for p in GRID["p_on"] for s in range(SEEDS))
    assert len(list((out / "points").iterdir())) == N_POINTS
    # the parquet table holds the same rows
    import pyarrow.parquet as pq
    t = pq.read_table(out / "table.parquet").to_pylist()
    assert [str(x["key"]) for x in t] == [x["key"] for x in r]
    assert [x["experts_per_token"] for x in t] == [float(x["experts_per_token"]) for x in r]
    # a point equals the same run done directly
    direct = scenarios.run_scenario("moe-routing", seed=1, k=2, p_on=0.7, batch=4)
    row = next(x for x in r if x["k"] == "2" and x["p_on"] == "0.7" and x["seed"] == "1")
    assert float(row["expert_ops_per_token_routed"]) == direct.metrics["expert_ops_per_token_routed"]
    # mean and 95 % interval across 2 seeds: t_{0.975, 1} = 12.7062047
    s = list(csv.DictReader(open(out / "summary.csv")))
    cell = next(x for x in s if x["k"] == "2" and x["p_on"] == "0.7")
    v = [float(x["expert_ops_per_token_routed"]) for x in r if x["k"] == "2" and x["p_on"] == "0.7"]
    m, sd = sum(v) / 2, abs(v[0] - v[1]) / 2 ** 0.5
    assert float(cell["expert_ops_per_token_routed:mean"]) == pytest.approx(m)
    assert float(cell["expert_ops_per_token_routed:ci95_high"]) == pytest.approx(m + 12.7062047 * sd / 2 ** 0.5)
    assert (out / "sweep_summary.png").exists() and (out / "sweep_summary.svg").exists()
    assert "<img" in (out / "report.html").read_text()


def test_rerun_recomputes_nothing_and_gives_the_same_table(reference):
    out, _ = reference
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / "points").glob("*/result.json")}
    table = (out / "table.csv").read_bytes()
    again = scenarios.run_sweep("moe-routing", GRID, out, seeds=SEEDS, workers=1, fixed=FIXED, progress=False)
    assert again["computed"] == 0 and again["reused"] == N_POINTS
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in before} == before
    assert (out / "table.csv").read_bytes() == table


def test_same_seeds_give_identical_tables(reference, tmp_path):
    out, _ = reference
    scenarios.run_sweep("moe-routing", {"k": [1, 2]}, tmp_path, seeds=SEEDS, workers=1, fixed={**FIXED, "p_on": 0.5},
                    progress=False)
    ref = [{k: v for k, v in x.items() if k != "p_on"} for x in rows(out) if x["p_on"] == "0.5"]
    new = rows(tmp_path)
    strip = [{k: v for k, v in x.items() if k != "key"} for x in ref]        # keys differ: p_on fixed vs grid
    assert [{k: v for k, v in x.items() if k != "key"} for x in new] == strip


def _wait_for_points(out: Path, n: int, proc, timeout: float = 300):
    t0 = time.time()
    while time.time() - t0 < timeout:
        done = list((out / "points").glob("*/result.json")) if (out / "points").exists() else []
        if len(done) >= n:
            return done
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended before {n} points were written: {proc.stderr.read()[-2000:]}")
        time.sleep(0.2)
    pytest.fail("timed out waiting for sweep points")


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


def _snapshot(out):
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
            for p in (out / "points").glob("*/result.json")}


def test_driver_killed_with_sigkill_then_restarted(reference, tmp_path):
    out = tmp_path / "sw"
    proc = subprocess.Popen(cli_cmd(*ARGS, "--workers", "1", "--out", str(out)), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_points(out, 2, proc)
    finally:
        _kill_group(proc)                       # the driver and its LocalCluster, all SIGKILL
    done = _snapshot(out)
    assert 2 <= len(done) < N_POINTS, "the sweep should have been killed part way"
    r = subprocess.run(cli_cmd(*ARGS, "--workers", "2", "--out", str(out)), capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"{N_POINTS - len(done)} computed now, {len(done)} reused" in r.stdout
    assert {p: v for p, v in _snapshot(out).items() if p in done} == done      # never recomputed
    assert len(rows(out)) == N_POINTS and len({x["key"] for x in rows(out)}) == N_POINTS
    assert (out / "table.csv").read_bytes() == (reference[0] / "table.csv").read_bytes()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_worker_killed_with_sigkill_on_a_running_scheduler(reference, tmp_path):
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"], start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        time.sleep(3)
        workers = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", addr, "--nthreads", "1",
                                     "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"], start_new_session=True,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
        procs += workers
        out = tmp_path / "sw"
        driver = subprocess.Popen(cli_cmd(*ARGS, "--scheduler", addr, "--out", str(out)), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, start_new_session=True)
        procs.append(driver)
        _wait_for_points(out, 1, driver)
        os.kill(workers[0].pid, signal.SIGKILL)                # one worker dies mid-sweep
        workers[0].wait(timeout=30)
        stdout, stderr = driver.communicate(timeout=600)
        assert driver.returncode == 0, stderr[-2000:]
        assert f"sweep moe-routing on numpy: {N_POINTS} points" in stdout
        assert len(rows(out)) == N_POINTS and len({x["key"] for x in rows(out)}) == N_POINTS
        assert len(list((out / "points").iterdir())) == N_POINTS
        assert (out / "table.csv").read_bytes() == (reference[0] / "table.csv").read_bytes()
    finally:
        for p in procs:
            if p.poll() is None:
                _kill_group(p)


def test_sweep_validates_before_starting(tmp_path):
    with pytest.raises(spikeattn.SpikeattnError, match="field 'kk'"):
        scenarios.run_sweep("moe-routing", {"kk": [1]}, tmp_path)
    with pytest.raises(spikeattn.SpikeattnError, match="field 'k'"):
        scenarios.run_sweep("moe-routing", {"k": [0, 1]}, tmp_path)
    r = subprocess.run(cli_cmd("sweep", "moe-routing", "--grid", "p_on=2", "--out", str(tmp_path / "x")),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "field 'p_on'" in r.stderr and not (tmp_path / "x").exists()
