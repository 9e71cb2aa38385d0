"""Run the Lava engine from a Python where lava-nc does not import (the main 3.11 venv).

lava-nc 0.10 needs Python 3.10 and numpy < 2, so it lives in its own venv ``.venv-lava``.
:func:`run_in_lava_venv` writes the circuit and the already-encoded inputs to a temporary
folder (:mod:`.exchange`: a circuit zip, ``.npz`` and JSON, no pickle), runs
``python -m spikeattn.engines.lava.worker IN OUT`` with the Lava venv's interpreter and
reads the :class:`~spikeattn.SimResult` back.  The interpreter is, in order:
the ``python`` engine option, the environment variable ``SPIKEATTN_LAVA_PYTHON``, or
``<repo>/.venv-lava/bin/python`` next to this spikeattn checkout.
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
from . import exchange

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
        cmd = [str(exe), "-m", "spikeattn.engines.lava.worker", str(job), str(out)]
        try:
            proc = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise EngineError(f"the Lava worker ({exe}) did not finish circuit '{circuit.name}' within "
                              f"{timeout_s} s; raise the engine option timeout_s.") from None
        except OSError as exc:
            raise LavaEnvironmentError(f"could not start the Lava worker '{exe}': {exc}. {HOW_TO_CREATE}") from None
        err = exchange.read_error(out)
        if err is not None:
            _reraise(err, exe)
        if proc.returncode != 0 or not (out / "result.json").is_file():
            tail = (proc.stderr or "")[-STDERR_TAIL:]
            raise EngineError(f"the Lava worker ({exe}) failed on circuit '{circuit.name}' with exit status "
                              f"{proc.returncode}. Its stderr ends with:\n{tail}")
        res = exchange.read_result(out)
    res.meta["bridge"] = {"python": str(exe), "command": "python -m spikeattn.engines.lava.worker IN OUT"}
    return res
