"""What every figure module needs: a headless pyplot and an atomic PNG save."""
from __future__ import annotations

from pathlib import Path

from ..errors import require
from ..fileio import atomic_savefig


def pyplot(purpose: str = "plotting"):
    """``matplotlib.pyplot`` on the Agg backend, or a MissingExtraError naming extra ``viz``."""
    mpl = require("matplotlib", "viz", purpose)
    mpl.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path, dpi: int = 110) -> Path:
    """Write ``fig`` atomically to ``path`` as PNG and close it."""
    out = Path(atomic_savefig(fig, path, dpi=dpi))
    pyplot().close(fig)
    return out
