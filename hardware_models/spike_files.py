"""A run's spike trains on disk (``spikes.npz`` beside result.json) and their SANA-FE replay.

:func:`save_spikes` writes a SimResult's spike trains (one boolean array per node, shaped
(steps, batch, size)); :func:`sanafe_from_files` reads them back, replays the recorded source
spikes through the circuit (checking the replay reproduces every stored population) and runs
:func:`hardware_models.sanafe_engine.sanafe_block` on the replay (``spikeattn energy --engine
sanafe``).
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from spikeattn.errors import InputError
from spikeattn.fileio import atomic_write_bytes

from .sanafe_engine import sanafe_block

SPIKES_FILE = "spikes.npz"


def save_spikes(result, folder) -> Path:
    """Write a SimResult's spike trains (every node) as ``spikes.npz`` in ``folder`` (atomically)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **{n: np.asarray(a) != 0 for n, a in result.spikes.items()})
    return Path(atomic_write_bytes(Path(folder) / SPIKES_FILE, buf.getvalue()))


def sanafe_from_files(path: Path, circuit) -> dict:
    """SANA-FE block from ``spikes.npz`` beside the result file ``path`` (one array per node:
    (steps, batch, size) spikes), replayed as a SimResult of ``circuit``."""
    spk = Path(path).parent / SPIKES_FILE
    if circuit is None or not spk.is_file():
        raise InputError(f"--engine sanafe needs the circuit file and the run's spike trains ({spk} not found); "
                         "write them with hardware_models.spike_files.save_spikes(result, folder)")
    import spikeattn
    with np.load(spk, allow_pickle=False) as z:
        trains = {k: z[k] for k in z.files}
    missing = [s for s in circuit.sources if s not in trains]
    if missing:
        raise InputError(f"{spk} has no spike trains for sources {missing}; it must hold every node's spikes")
    steps = next(iter(trains.values())).shape[0]
    circuit = circuit.copy()
    for src in circuit.sources.values():         # replay the recorded spikes as they are
        src.encoder = "spikes"
    res = spikeattn.simulate(circuit, {s: trains[s] for s in circuit.sources}, steps=steps)
    for n, a in res.spikes.items():
        if n in trains and not np.array_equal(np.asarray(a) != 0, trains[n] != 0):
            raise InputError(f"{spk}: replaying the sources does not reproduce population '{n}'; the file does not "
                             "belong to this circuit")
    return sanafe_block(circuit, res)


__all__ = ["SPIKES_FILE", "save_spikes", "sanafe_from_files"]
