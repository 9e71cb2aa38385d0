"""Stopping a Lava worker with every OS process it started (its process group).

The worker runs in its own session (``start_new_session=True``), so it leads a process
group holding itself and every process Lava spawned for its process models.  Used by the
bridge (a fresh worker per run) and by the persistent worker pool (:mod:`.server`); both
import it from here, so neither imports the other for it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

KILL_GRACE_S = 3.0


def group_members(pgid: int) -> list[int]:
    """Pids whose process group is ``pgid`` (read from /proc; empty where /proc is absent)."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


def kill_group(proc: subprocess.Popen) -> list[int]:
    """SIGTERM the worker's process group (the worker and every process Lava started), SIGKILL
    what is left after :data:`KILL_GRACE_S`; return the pids still alive (normally none)."""
    pgid = proc.pid                 # start_new_session: the worker leads its own group
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + KILL_GRACE_S
        while time.monotonic() < deadline:
            proc.poll()             # reap the worker (a zombie is not counted)
            if not group_members(pgid):
                break
            time.sleep(0.05)
        else:
            continue
        break
    try:
        proc.communicate(timeout=KILL_GRACE_S)
    except (subprocess.TimeoutExpired, ValueError):
        pass
    return group_members(pgid)
