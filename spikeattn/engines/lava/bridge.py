"""Run the Lava engine from a Python where lava-nc does not import (the main 3.11 venv).

lava-nc 0.10 needs Python 3.10 and numpy < 2, so it lives in its own venv ``.venv-lava``.
:func:`run_in_lava_venv` writes the circuit and the already-encoded inputs to a temporary
folder (:mod:`.exchange`: a circuit zip, ``.npz`` and JSON, no pickle), runs
``python -m spikeattn.engines.lava.worker IN OUT`` with the Lava venv's interpreter and
reads the :class:`~spikeattn.SimResult` back.  The interpreter is, in order:
the ``python`` engine option, the environment variable ``SPIKEATTN_LAVA_PYTHON``, or
``<repo>/.venv-lava/bin/python`` next to this spikeattn checkout.

Robustness:

- one worker is kept alive per interpreter and environment and serves every run
  (:mod:`.server`; ``SPIKEATTN_LAVA_WORKER=fresh`` starts one per run);
- the worker runs in its own session (process group), together with every OS process
  Lava spawns for its process models; when ``timeout_s`` passes, the whole group gets
  SIGTERM, then SIGKILL after :data:`KILL_GRACE_S`, and the bridge waits until no process
  of the group is left before raising :class:`~spikeattn.errors.EngineError`
  (no orphaned Lava processes; :mod:`.process_group`);
- a :class:`~spikeattn.errors.SpikeattnError` in the worker comes back as the same class
  and message; any other exception (one raised inside Lava) comes back as an
  ``EngineError`` quoting Lava's own last exception line and the end of its traceback.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ... import errors
from ...errors import EngineError, MissingExtraError
from ...ir import Circuit
from ...result import SimResult
from . import exchange, server
from .process_group import KILL_GRACE_S, group_members, kill_group  # noqa: F401 (public here too)

ENV_VAR = "SPIKEATTN_LAVA_PYTHON"
REPO_ROOT = Path(__file__).resolve().parents[3]
HOW_TO_CREATE = (
    "Create the Lava venv (Python 3.10) in the repository root with `make venv-lava`, or by hand: "
    "python3.10 -m venv .venv-lava; "
    ".venv-lava/bin/pip install lava-nc==0.10.0 'numpy<2' --only-binary=:all:; "
    ".venv-lava/bin/pip install -e . ; "
    f"or point {ENV_VAR} at the python of a venv that has lava-nc 0.10 and spikeattn.")
STDERR_TAIL = 4000


class LavaEnvironmentError(EngineError, MissingExtraError):
    """The Lava venv (Python 3.10 with lava-nc 0.10) is missing or unusable.

    Both an :class:`EngineError` and a :class:`MissingExtraError` (an ``ImportError``)."""

    def __init__(self, message: str):
        self.package, self.extra = "lava", "lava"
        Exception.__init__(self, message)


def lava_python(explicit: str | os.PathLike | None = None) -> Path:
    """The interpreter of the Lava venv, or :class:`LavaEnvironmentError` saying how to make one."""
    given = explicit or os.environ.get(ENV_VAR)
    if given:
        path = Path(given)
        origin = "engine option python" if explicit else f"{ENV_VAR}"
        if not path.is_file():
            raise LavaEnvironmentError(f"The Lava engine needs a Python 3.10 venv with lava-nc 0.10, but "
                                       f"{origin} points at '{path}', which does not exist. {HOW_TO_CREATE}")
        return path
    path = REPO_ROOT / ".venv-lava" / "bin" / "python"
    if not path.is_file():
        raise LavaEnvironmentError(f"The Lava engine needs lava-nc 0.10, which does not import in this Python "
                                   f"({sys.version.split()[0]}), and no Lava venv was found at '{path}'. "
                                   f"{HOW_TO_CREATE}")
    return path


def _reraise(err: dict, python: Path):
    kind, message = err.get("type", "EngineError"), err.get("message", "")
    if kind == "MissingExtraError":
        raise LavaEnvironmentError(f"{message} (worker python: {python}). {HOW_TO_CREATE}")
    cls = getattr(errors, kind, None)
    if cls in (EngineError, errors.UnsupportedFeatureError, errors.InputError, errors.FileFormatError):
        raise cls(message)
    raise EngineError(f"the Lava worker ({python}) failed: {kind}: {message}")


def run_in_lava_venv(circuit: Circuit, inputs: dict, steps: int, batch: int, seed: int, options: dict,
                     python: str | os.PathLike | None = None, timeout_s: float | None = None) -> SimResult:
    """Run ``LavaEngine(**options)`` on ``circuit`` in the Lava venv; see the module docstring."""
    exe = lava_python(python)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    with tempfile.TemporaryDirectory(prefix="spikeattn-lava-") as tmp:
        job, out = Path(tmp) / "job", Path(tmp) / "out"
        job.mkdir()
        try:
            exchange.write_job(job, circuit, inputs, steps, batch, seed, options)
        except TypeError as exc:
            raise EngineError(f"Lava engine options {sorted(options)} must be JSON values (str, number, bool, "
                              f"None) to reach the Lava venv: {exc}") from None
        stderr, returncode = _run_job(exe, env, job, out, circuit.name, timeout_s)
        err = exchange.read_error(out)
        if err is not None:
            _reraise(err, exe)
        if returncode != 0 or not (out / "result.json").is_file():
            tail = (stderr or "")[-STDERR_TAIL:]
            raise EngineError(f"the Lava worker ({exe}) failed on circuit '{circuit.name}' with exit status "
                              f"{returncode}: {last_exception_line(stderr)}. Its stderr ends with:\n{tail}")
        res = exchange.read_result(out)
    res.meta["bridge"] = {"python": str(exe), "command": "python -m spikeattn.engines.lava.worker IN OUT"}
    return res


def _timeout_error(exe, name, timeout_s, left):
    return EngineError(f"the Lava worker ({exe}) did not finish circuit '{name}' within {timeout_s} s and was "
                       f"stopped with all its Lava processes{'' if not left else f' (still alive: {left})'}; "
                       "raise the engine option timeout_s, or run fewer steps or a smaller batch.")


def _run_job(exe, env, job, out, name, timeout_s):
    """``(stderr text, exit status)`` of one job: in the persistent worker (:mod:`.server`),
    or a fresh process where ``SPIKEATTN_LAVA_WORKER=fresh``."""
    if os.environ.get("SPIKEATTN_LAVA_WORKER", "persistent") != "fresh":
        try:
            worker = server.get_worker(exe, env, str(REPO_ROOT))
        except OSError as exc:
            raise LavaEnvironmentError(f"could not start the Lava worker '{exe}': {exc}. {HOW_TO_CREATE}") from None
        pos = worker.stderr_size()
        try:
            rc = worker.run(job, out, timeout_s)
        except server.WorkerTimeout:
            proc = worker.proc
            server.drop(worker)
            raise _timeout_error(exe, name, timeout_s, group_members(proc.pid)) from None
        except BaseException:
            server.drop(worker)
            raise
        stderr = worker.stderr_since(pos)
        if rc is None or rc == 1:                       # died, or will exit: start afresh next time
            server.drop(worker)
        return stderr, (1 if rc is None else rc)
    cmd = [str(exe), "-m", "spikeattn.engines.lava.worker", str(job), str(out)]
    try:
        proc = subprocess.Popen(cmd, env=env, cwd=str(REPO_ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
    except OSError as exc:
        raise LavaEnvironmentError(f"could not start the Lava worker '{exe}': {exc}. {HOW_TO_CREATE}") from None
    try:
        _, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise _timeout_error(exe, name, timeout_s, kill_group(proc)) from None
    except BaseException:
        kill_group(proc)
        raise
    return stderr, proc.returncode


def last_exception_line(stderr: str | None) -> str:
    """The last ``Type: message`` line of a Python traceback (Lava's own error), or a note."""
    lines = [ln.strip() for ln in (stderr or "").splitlines() if ln.strip()]
    for ln in reversed(lines):
        head = ln.split(":", 1)[0]
        if ":" in ln and head.replace(".", "").replace("_", "").isalnum() and not ln.startswith("File "):
            if head.endswith(("Error", "Exception", "Interrupt", "Exit")) or "." in head:
                return ln
    return lines[-1] if lines else "no error message on stderr"
