"""Atomic file writing: write to a temporary file in the target folder, then rename.

An interrupted write never leaves a half-written file under the final name.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def to_json(obj, indent: int = 2) -> str:
    """JSON text of ``obj``; numpy scalars/arrays and paths are converted."""
    return json.dumps(obj, indent=indent, default=_default)


def atomic_write_json(path: str | os.PathLike, obj, indent: int = 2) -> Path:
    return atomic_write_bytes(path, (to_json(obj, indent) + "\n").encode())


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode())


def atomic_savefig(fig, path: str | os.PathLike, **kwargs) -> Path:
    """Save a matplotlib figure atomically (PNG by default)."""
    import io
    buf = io.BytesIO()
    kwargs.setdefault("dpi", 120)
    kwargs.setdefault("bbox_inches", "tight")
    fig.savefig(buf, format=kwargs.pop("format", "png"), **kwargs)
    return atomic_write_bytes(path, buf.getvalue())
