"""The figures of ``spikeattn energy``: energy by hardware (breakdown), the crossover-rate
sensitivity and the batch study, each a PNG with an SVG beside it, from an energy block of
:func:`hardware_models.estimator.energy_block`."""
from __future__ import annotations

from pathlib import Path

from .registry import get


def write_energy_figures(block: dict, hw_names, out: Path, title: str, linear: bool = False) -> list[Path]:
    """Write the figures of ``block`` (costed on ``hw_names``) into folder ``out``; returns the
    paths written (PNGs, the SVG beside each, the batch study's files)."""
    from .plots import breakdown_chart, sensitivity_chart
    from .report import EnergyReport
    from .sensitivity import sensitivities_from_block
    out = Path(out)
    reps = [EnergyReport.from_dict(block[get(h).name]) for h in hw_names]
    written = [breakdown_chart(reps, out / "energy_breakdown.png", title=title, linear=linear)]
    if block.get("sensitivity"):
        written.append(sensitivity_chart(sensitivities_from_block(block), out / "energy_sensitivity.png"))
    written += [w.with_suffix(".svg") for w in written]          # SVG beside every PNG
    if "batch_study" in block:
        from .plots_batch import batch_chart
        written += batch_chart(block["batch_study"], out / "energy_batch.png", linear=linear)
    return written


__all__ = ["write_energy_figures"]
