"""Figures of a conversion's fidelity report (``fidelity.json``): accuracy against T, and
accuracy against energy once the report is costed.  matplotlib is imported lazily (Agg);
without it no figure is drawn."""
from __future__ import annotations


def accuracy_vs_T(rep, out) -> None:
    """``out/accuracy_vs_T.png``: the spiking accuracy per T of a fidelity report ``rep``, the
    dense model's as a dashed line (nothing without matplotlib)."""
    plt = _pyplot()
    if plt is None:  # pragma: no cover
        return
    from ..fileio import atomic_savefig
    Ts = [int(t) for t in rep["spiking_accuracy"]]
    acc = list(rep["spiking_accuracy"].values())
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(Ts, acc, "o-", label="spiking")
    if rep.get("dense_accuracy") is not None:
        ax.axhline(rep["dense_accuracy"], color="k", ls="--", label="dense")
    ax.set_xscale("log", base=2); ax.set_xlabel("T (steps)"); ax.set_ylabel("accuracy"); ax.legend()
    fig.tight_layout(); atomic_savefig(fig, out / "accuracy_vs_T.png"); plt.close(fig)


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        return None
    return plt


def fidelity_figures(rep, out) -> None:
    """:func:`accuracy_vs_T`, and ``out/accuracy_vs_energy.png`` when ``rep`` holds energies
    (``spikeattn energy fidelity.json`` costs them; convert only counts)."""
    plt = _pyplot()
    if plt is None:  # pragma: no cover
        return
    from ..fileio import atomic_savefig
    accuracy_vs_T(rep, out)
    energy = rep.get("energy") or {}
    costed = [v for part in ("spiking", "dense_gpu") for v in (energy.get(part) or {}).values() if isinstance(v, float)]
    if not costed:     # convert counts, it does not cost: `spikeattn energy fidelity.json` does
        return
    Ts = [int(t) for t in rep["spiking_accuracy"]]
    acc = list(rep["spiking_accuracy"].values())
    fig, ax = plt.subplots(figsize=(4, 3))
    for k, v in rep["energy"]["spiking"].items():
        if isinstance(v, float):
            ax.scatter([v], [acc[-1]], label=f"{k} (T={Ts[-1]})")
    for k, v in rep["energy"]["dense_gpu"].items():
        if isinstance(v, float):
            ax.scatter([v], [rep["dense_accuracy"]], marker="s", label=f"{k} dense")
    ax.set_xscale("log"); ax.set_xlabel("energy per sample (J)"); ax.set_ylabel("accuracy"); ax.legend(fontsize=6)
    fig.tight_layout(); atomic_savefig(fig, out / "accuracy_vs_energy.png"); plt.close(fig)
