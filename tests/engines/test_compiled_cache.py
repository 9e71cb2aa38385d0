"""The compiled engine's numba cache: dropped when the package's sources change (numba itself
keys a cached function on its own file only, so an edit of kernels.py left loop.py's cached
loop, which inlines the kernels, in use)."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="numba not installed")

CHECK = """
from pathlib import Path
from spikeattn.engines.compiled import engine
from spikeattn.engines.compiled.loop import run_float_serial
engine._drop_stale_cache()
print(run_float_serial._cache._cache_path)
"""


def _run(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    out = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_stale_cache_entries_are_removed_and_a_current_stamp_keeps_them(tmp_path):
    from pathlib import Path

    path = Path(_run(tmp_path))
    stamp = (path / "spikeattn-sources.sha256").read_text()
    entry = path / "loop.run_float_serial-1.py311.nbi"
    entry.write_bytes(b"cached")
    _run(tmp_path)                                        # same sources: the entry stays
    assert entry.exists()
    (path / "spikeattn-sources.sha256").write_text("an older version\n")
    _run(tmp_path)                                        # sources changed: the entry goes
    assert not entry.exists()
    assert (path / "spikeattn-sources.sha256").read_text() == stamp
