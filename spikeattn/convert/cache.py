"""The cache of trained weights on disk: where it is, the file of a fine-tuned converted
model, and the atomic write of a torch ``state_dict``.

Files live under ``$SPIKEATTN_CACHE/models`` (default ``~/.cache/spikeattn/models``), are
written atomically (:func:`spikeattn.fileio.atomic_write_bytes`) and read with
``torch.load(weights_only=True)``.  The built-in models (:mod:`spikeattn.models`) keep
their trained weights here too.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

from ..errors import require
from ..fileio import atomic_write_bytes


def cache_dir() -> Path:
    """The folder of cached weights (``$SPIKEATTN_CACHE/models`` or ``~/.cache/spikeattn/models``)."""
    return Path(os.environ.get("SPIKEATTN_CACHE") or Path.home() / ".cache" / "spikeattn") / "models"


def converted_cache_path(key, mode, levels, epochs, lr, seed, grids=(1,)) -> Path:
    """The file of a model prepared, calibrated and fine-tuned by ``convert(..., cache_key=key)``
    (``grids``: the fine-tune's grids, part of the key unless T = 1's alone)."""
    parts = [key, mode, levels, epochs, lr, seed] + ([list(grids)] if tuple(grids) != (1,) else [])
    h = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]
    return cache_dir() / f"converted-{mode}-{h}.pt"


def save_state(state, path) -> None:
    """``torch.save(state)`` to ``path`` atomically (its folder made if missing)."""
    torch = require("torch", "torch", "spikeattn.convert")
    buf = io.BytesIO()
    torch.save(state, buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())
