"""A persistent Lava worker per (interpreter, environment), used by :mod:`.bridge`.

Starting Python 3.10 and importing lava-nc and spikeattn takes seconds; a scenario that calls
``simulate(engine="lava")`` ten times from the main venv paid it ten times.  The bridge
instead keeps one worker (``python -m spikeattn.engines.lava.worker --serve``) alive and
sends it job folders, one line ``JOB<TAB>OUT`` on its stdin per run; the worker answers
one line ``@@spikeattn-lava-worker@@ RC`` on stdout (other output is ignored) and keeps its
stderr in a temporary file the bridge quotes on failure.  The worker runs in its own
session, so a timeout kills it with every process Lava started (:func:`.process_group.kill_group`);
it exits on end of input (its parent gone) and after any error that is not a
SpikeattnError; an ``atexit`` hook stops the pool.  Set ``SPIKEATTN_LAVA_WORKER=fresh`` to
start a new worker for every run instead.
"""
from __future__ import annotations

import atexit
import os
import queue
import subprocess
import tempfile
import threading

from .process_group import kill_group

MARK = "@@spikeattn-lava-worker@@"
_POOL: dict = {}
_LOCK = threading.Lock()


class WorkerTimeout(Exception):
    pass


class Worker:
    def __init__(self, exe, env: dict, cwd: str):
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([str(exe), "-m", "spikeattn.engines.lava.worker", "--serve"], env=env,
                                     cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                     start_new_session=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").strip()
            if line.startswith(MARK):
                self.lines.put(int(line.split()[1]))
        self.lines.put(None)                 # end of output: the worker is gone

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr_size(self) -> int:
        return os.fstat(self.stderr.fileno()).st_size

    def stderr_since(self, pos: int) -> str:
        self.stderr.seek(pos)
        return self.stderr.read().decode(errors="replace")

    def run(self, job, out, timeout_s: float | None) -> int | None:
        """Run one job; its exit status (0 ok, 3 SpikeattnError, 1 other), None if the worker died."""
        try:
            self.proc.stdin.write(f"{job}\t{out}\n".encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        try:
            return self.lines.get(timeout=timeout_s)
        except queue.Empty:
            raise WorkerTimeout() from None

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        kill_group(self.proc)
        self.stderr.close()


def get_worker(exe, env: dict, cwd: str) -> Worker:
    key = (str(exe), tuple(sorted(env.items())))
    with _LOCK:
        w = _POOL.get(key)
        if w is None or not w.alive():
            w = _POOL[key] = Worker(exe, env, cwd)
        return w


def drop(worker: Worker) -> None:
    with _LOCK:
        for k, w in list(_POOL.items()):
            if w is worker:
                del _POOL[k]
    worker.close()


@atexit.register
def close_all() -> None:
    with _LOCK:
        workers = list(_POOL.values())
        _POOL.clear()
    for w in workers:
        try:
            w.close()
        except Exception:       # pragma: no cover - best effort at exit
            pass
