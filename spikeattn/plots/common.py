"""What every figure module needs: a headless pyplot, shared styling and an atomic save
that writes each figure twice -- PNG at 200 dpi and SVG (vector, for a paper) beside it."""
from __future__ import annotations

from pathlib import Path

from ..errors import require
from ..fileio import atomic_savefig

DPI = 200


def pyplot(purpose: str = "plotting"):
    """``matplotlib.pyplot`` on the Agg backend, or a MissingExtraError naming extra ``viz``."""
    mpl = require("matplotlib", "viz", purpose)
    mpl.use("Agg")
    import matplotlib.pyplot as plt
    mpl.rcParams.update({"svg.fonttype": "none", "savefig.dpi": DPI, "axes.titlesize": 10,
                         "axes.labelsize": 9, "legend.fontsize": 8, "xtick.labelsize": 8, "ytick.labelsize": 8})
    return plt


def svg_path(path) -> Path:
    """The SVG written beside a figure's PNG."""
    return Path(path).with_suffix(".svg")


def save_figure(fig, path, dpi: int = DPI) -> Path:
    """Write ``fig`` atomically to ``path`` (PNG, ``dpi``) and to the same name with
    ``.svg``; close it and return the PNG path."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        path = path.with_suffix(".png")
    try:
        out = Path(atomic_savefig(fig, path, dpi=dpi, format="png"))
        atomic_savefig(fig, svg_path(path), format="svg")
    finally:
        pyplot().close(fig)
    return out
