"""Bridge robustness (issue 10 item 5): a stuck Lava run is stopped by ``timeout_s`` with all
of its OS processes (the worker and the processes Lava spawns for its process models), and
errors raised inside Lava come back as SpikeattnErrors quoting Lava's message.

The oracle for "no orphans" is the kernel's process table: every process started for the
run inherits a marker in its environment, and ``/proc/*/environ`` is scanned for it."""
import os
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from spikeattn import simulate
from spikeattn.engines.lava.bridge import last_exception_line
from spikeattn.errors import EngineError, SpikeattnError
from spikeattn.ir import Circuit, LoihiLIF

REPO = Path(__file__).resolve().parents[2]
LAVA_PYTHON = REPO / ".venv-lava" / "bin" / "python"
needs_lava_venv = pytest.mark.skipif(
    not LAVA_PYTHON.is_file(),
    reason=f"no Lava venv at {LAVA_PYTHON}: create it with `make venv-lava` (Python 3.10 + lava-nc 0.10)")
needs_proc = pytest.mark.skipif(not Path("/proc/self/environ").is_file(), reason="needs Linux /proc")


def _marked(marker: str) -> list[int]:
    needle = f"SPIKEATTN_TEST_MARK={marker}".encode()
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _circuit():
    c = Circuit("stuck")
    c.add_source("x", 4)
    c.add_population("a", 4, LoihiLIF(du=100, dv=100, vth=50))
    c.add_population("b", 4, LoihiLIF(du=200, dv=100, vth=80))
    c.connect("x", "a", np.full((4, 4), 60))
    c.connect("a", "b", np.full((4, 4), 70), delay=3)
    return c


@needs_lava_venv
@needs_proc
@pytest.mark.parametrize("worker", ["persistent", "fresh"])
def test_stuck_run_is_stopped_and_leaves_no_process(monkeypatch, worker):
    marker = uuid.uuid4().hex
    monkeypatch.setenv("SPIKEATTN_TEST_MARK", marker)
    monkeypatch.setenv("SPIKEATTN_LAVA_WORKER", worker)
    monkeypatch.delenv("SPIKEATTN_LAVA_PYTHON", raising=False)
    steps = 2_000_000                    # ~20 minutes of Lava steps: stuck for this test's purposes
    seen = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            seen.append(len(_marked(marker)))
            time.sleep(0.2)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    t0 = time.monotonic()
    try:
        with pytest.raises(EngineError, match="did not finish.*within 12 s.*stopped"):
            simulate(_circuit(), {"x": np.zeros((steps, 4), bool)}, steps, engine="lava", bridge="always",
                     timeout_s=12, batch_mode="loop", merge=False)
    finally:
        stop.set()
        t.join()
    assert time.monotonic() - t0 < 60
    # Lava was really running: the worker plus its process models (source, 2 LIF, 2 Dense)
    assert max(seen) >= 4, seen
    assert _marked(marker) == []


@needs_lava_venv
def test_error_inside_lava_comes_back_with_lavas_message(monkeypatch):
    """Loihi2HwCfg without lava-loihi: Lava's compiler finds no process model; its message
    (and the missing package) reach the caller as an EngineError."""
    monkeypatch.delenv("SPIKEATTN_LAVA_PYTHON", raising=False)
    with pytest.raises(EngineError) as info:
        simulate(_circuit(), {"x": np.zeros((5, 4), bool)}, 5, engine="lava", bridge="always", run_cfg="loihi2_hw")
    msg = str(info.value)
    assert isinstance(info.value, SpikeattnError)
    assert "lava-loihi" in msg and "Loihi2HwCfg" in msg
    assert "ProcessModel" in msg or "process model" in msg.lower()


def test_last_exception_line_of_a_traceback():
    tb = ("Traceback (most recent call last):\n  File \"m.py\", line 3, in run\n    x()\n"
          "lava.magma.compiler.exceptions.NoProcessModelFound: no model for Dense\n")
    assert last_exception_line(tb) == "lava.magma.compiler.exceptions.NoProcessModelFound: no model for Dense"
    assert last_exception_line("") == "no error message on stderr"


@needs_lava_venv
def test_persistent_worker_serves_several_runs(monkeypatch):
    monkeypatch.delenv("SPIKEATTN_LAVA_PYTHON", raising=False)
    monkeypatch.delenv("SPIKEATTN_LAVA_WORKER", raising=False)
    x = np.random.default_rng(0).random((30, 2, 4)) < 0.5
    a = simulate(_circuit(), {"x": x}, 30, engine="lava", bridge="always")
    b = simulate(_circuit(), {"x": x[:, ::-1]}, 30, engine="lava", bridge="always")
    assert a.meta["worker_pid"] == b.meta["worker_pid"] != os.getpid()
    ref = simulate(_circuit(), {"x": x[:, ::-1]}, 30, engine="numpy")
    for n in ("a", "b"):
        np.testing.assert_array_equal(b.spikes[n], ref.spikes[n])
    monkeypatch.setenv("SPIKEATTN_LAVA_WORKER", "fresh")
    c = simulate(_circuit(), {"x": x}, 30, engine="lava", bridge="always")
    assert c.meta["worker_pid"] != a.meta["worker_pid"]
    np.testing.assert_array_equal(c.spikes["b"], a.spikes["b"])
