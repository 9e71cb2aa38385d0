"""Atomic file writing: write to a temporary file in the target folder, then rename.

An interrupted write never leaves a half-written file under the final name.
"""
from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import FileWriteError


def _umask() -> int:
    """The process umask (read from /proc on Linux, else set-and-restore)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_path(path, what: str = "path") -> Path:
    """``path`` as a :class:`Path`; a non-path type raises :class:`FileWriteError`."""
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        raise FileWriteError(f"{what} is {path!r} ({type(path).__name__}); give a file path (str or Path).")
    p = Path(path)
    if not str(p) or str(p) == ".":
        raise FileWriteError(f"{what} is empty; give a file path.")
    return p


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename.

    The file gets mode ``0o666 & ~umask`` (what ``open()`` would give; ``mkstemp``'s 0600
    is not kept).  Any filesystem failure -- the target is a folder, a parent is a file, the
    disk is full, no permission, a name too long -- raises :class:`FileWriteError` naming
    the path, and the temporary file is removed: nothing is left behind."""
    path = check_path(path)
    tmp = None
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "the target is a directory", str(path))
        for parent in path.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise NotADirectoryError(errno.ENOTDIR, "a parent of the target is a file", str(parent))
                break
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise FileWriteError(f"cannot write '{_shorten(path)}': {reason}"
                             + (f" ({_shorten(exc.filename)})" if exc.filename and str(exc.filename) != str(path)
                                else "") + ". Fix: choose a writable file path (not a folder) on a disk with "
                             "space.") from exc
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _shorten(p, n: int = 200) -> str:
    s = str(p)
    return s if len(s) <= n else s[:n // 2] + "..." + s[-n // 2:]


def json_default(o):
    """``json.dumps(default=)`` for numpy scalars and arrays, paths and sets."""
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
    return json.dumps(obj, indent=indent, default=json_default)


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
