"""What a result file asks to cost: the :class:`~hardware_models.workloads.RunWorkload` of a
result.json / fidelity.json document (``spikeattn energy``)."""
from __future__ import annotations

from spikeattn.errors import InputError, SpikeattnError

from .estimator import run_workload
from .workloads import RunWorkload


def workload_of(doc: dict, circuit, baseline: str | None = None) -> RunWorkload:
    """What a result file asks to cost: the workload the run recorded (``energy.workload`` of
    result.json, ``workload`` of fidelity.json) when there is one, else its counts and the
    circuit's dense equivalent (``baseline``, default softmax)."""
    rec = doc.get("workload") or (doc.get("energy") or {}).get("workload")
    circuits = {circuit.name: circuit} if circuit is not None else {}
    if isinstance(rec, dict) and rec.get("spiking"):
        try:
            wl = RunWorkload.from_dict(rec, circuits)
        except SpikeattnError as exc:
            raise InputError(f"the result's workload block cannot be read ({exc})") from None
        if baseline is not None or wl.dense is None:
            wl.dense = run_workload(circuit, wl.spiking.segments[0].view, baseline or "softmax").dense \
                if circuit is not None else wl.dense
        return wl
    return run_workload(circuit, doc["counts"], baseline or "softmax")


__all__ = ["workload_of"]
