"""hardware_models: energy and latency of spikeattn workloads on neuromorphic chips and GPUs.

``estimate(workload, hardware, batch=None, draws=0)`` -> :class:`EnergyReport` is the one path
from a run's workload (:class:`RunWorkload`: spiking counts and / or the dense model's
workload) to energy on any model, chips and GPUs alike, each through its costing class
(:mod:`hardware_models.costing`); ``energy_block`` costs every model at once, with the batch
table, crossover batches and the verdict (:mod:`hardware_models.estimator`).
``get(name)`` / ``names()``: chips as data (:mod:`hardware_models.chips`, every constant with
source, tag and range; :meth:`HardwareModel.accounting` states static power, operating mode
and host/IO).  ``cost(counts, hardware, circuit=None, placement=None)`` -> :class:`EnergyReport`
(``dynamic_j`` beside ``total_j``) for neuromorphic, ASIC, CPU and ``literature`` models;
``placement.place(circuit, chip)`` maps populations onto cores (a structured circuit from its
shapes, never expanded: :mod:`hardware_models.structured`); GPU baselines cost the dense
equivalent (``hardware_models.gpu``), algorithm-matched baselines are in
``hardware_models.baselines``; ``batching.batch_study`` gives energy per inference and latency
against batch size with crossover batches and scenarios; ``uncertainty.monte_carlo`` the
per-constant 5-95 % interval; ``sanafe_engine`` runs SANA-FE as a calibrated peer.
"""
from .constants import Constant
from .cost import cost, literature_energy
from .estimator import energy_block, estimate, run_workload
from .errors import CountsFormatError, HardwareKindError, PlacementError, UnknownHardwareError
from .model import CoreLimits, HardwareModel, MemoryLevel
from .registry import get, names, register
from .report import EnergyReport
from .workload import CountsView, as_view
from .workloads import DenseWorkload, RunWorkload, SpikingWorkload

__all__ = ["Constant", "CoreLimits", "HardwareModel", "MemoryLevel", "EnergyReport", "CountsView", "as_view",
           "cost", "literature_energy", "estimate", "energy_block", "run_workload", "RunWorkload", "SpikingWorkload",
           "DenseWorkload", "get", "names", "register", "PlacementError", "HardwareKindError",
           "UnknownHardwareError", "CountsFormatError"]
