"""Progress bars: a tqdm bar when asked for and attached to a terminal, else nothing."""
from __future__ import annotations

import sys


class _Null:
    def update(self, n=1):
        pass

    def close(self):
        pass


def progress_bar(total: int, enabled: bool, desc: str, unit: str = "step"):
    """A tqdm bar when ``enabled`` and stderr is a terminal (tqdm installed), else a no-op."""
    if enabled and getattr(sys.stderr, "isatty", lambda: False)():
        try:
            from tqdm.auto import tqdm
            return tqdm(total=total, desc=desc, unit=unit, leave=False)
        except ImportError:  # pragma: no cover - tqdm is in every extra
            pass
    return _Null()
