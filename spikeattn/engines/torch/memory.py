"""The memory a torch-engine run will hold, estimated before anything is allocated.

Parts (bytes; ``item`` = 8 for float64, 4 for float32):

* ``spikes``: recorded outputs, ``steps * batch * size`` per recorded population (1 B for
  binary models, ``item`` for graded ones) — kept on the host (pinned, filled step by step,
  on CUDA);
* ``probes``: ``steps * batch * size * item`` per probed variable (host);
* ``inputs``: the encoded source inputs copied to the device (none on the CPU when the
  dtype already matches);
* ``state``: every state variable (``batch * size`` each), the outputs of a step and their
  ``!= 0`` masks (kept until the step ends), and the step temporaries of the largest
  population (a population's temporaries are freed once it has updated);
* ``rings``: per projection ``(delay + 1)`` slots of its input ``(batch, n_post)`` and of its
  event (``event_bytes``: the pre spikes, for the active-update rule);
* ``weights``: each lowering's ``device_bytes`` (weights, synapse pattern, temporaries);
* ``counts``: the per-step count buffers on the device and the EventCounts on the host.

On the CPU everything is compared with :func:`spikeattn.validation.available_bytes`; on CUDA
the device parts with ``torch.cuda.mem_get_info`` and the host parts with the host's memory.
"""
from __future__ import annotations

from ...counts import KIND_FIELDS
from ...errors import MemoryLimitError
from ...validation import available_bytes
from .counters import NodeCounter

#: state-sized temporaries of one population update (input sum, step intermediates, masks)
STEP_TEMPORARIES = 6


def estimate(circuit, steps: int, batch: int, item: int, record: set, lowered: dict, outgoing: dict,
             inputs: dict, cpu_float64: bool) -> dict[str, int]:
    """Bytes per part (see the module docstring)."""
    pops = circuit.populations
    parts = dict.fromkeys(("spikes", "probes", "inputs", "state", "rings", "weights", "counts"), 0)
    for n, p in pops.items():
        out = item if p.model.graded_output else 1
        if n in record:
            parts["spikes"] += steps * batch * p.size * out
        # the state, and the output and its ``!= 0`` mask, kept until the step ends
        parts["state"] += (len(p.model.state) * 8 + out + 1) * batch * p.size
    # a population's step temporaries live only while it updates: the largest one's
    parts["state"] += STEP_TEMPORARIES * 8 * batch * max((p.size for p in pops.values()), default=0)
    for pr in circuit.probes:
        parts["probes"] += steps * batch * pops[pr.target].size * item * len(pr.variables)
    for n, x in inputs.items():
        if not (cpu_float64 and x.dtype.kind in "bf" and (x.dtype.kind == "b" or x.itemsize == 8)):
            parts["inputs"] += x.size * (1 if x.dtype.kind == "b" else item)
    for lw in lowered.values():
        parts["rings"] += (lw.delay + 1) * (batch * lw.n_post * item + lw.event_bytes(batch))
        parts["weights"] += lw.device_bytes(batch)
        if lw.fan_out is None:
            parts["counts"] += 2 * 8 * steps * batch
    for n, node in circuit.nodes().items():
        parts["counts"] += NodeCounter.estimate(node.size, outgoing[n], steps, batch, item)
    fields = sum(len(KIND_FIELDS[k]) * c for k, c in (("population", len(pops)), ("source", len(circuit.sources)),
                                                      ("projection", len(circuit.projections))))
    parts["counts"] += 8 * steps * batch * (fields + 2 * len(pops))
    return parts


HOST_PARTS = ("spikes", "probes")


def check(circuit, steps: int, batch: int, parts: dict, device, torch) -> int:
    """Raise :class:`MemoryLimitError` if the run does not fit; return the bytes needed."""
    need = sum(parts.values())
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        dev_need = need - sum(parts[k] for k in HOST_PARTS)
        host_need = sum(parts[k] for k in HOST_PARTS) + parts["counts"]
        checks = [(dev_need, free, f"free on {device}"), (host_need, available_bytes(), "available on the host")]
    else:
        checks = [(need, available_bytes(), "available")]
    for bytes_, avail, where in checks:
        if avail is not None and bytes_ > avail:
            detail = ", ".join(f"{k} {v / 2**30:.3g} GiB" for k, v in parts.items() if v)
            hint = (f"record=[...] to keep the spikes of fewer nodes (spike records take {parts['spikes'] / 2**30:.3g}"
                    " GiB)") if parts["spikes"] else "fewer probes"
            raise MemoryLimitError(
                f"engine 'torch': circuit '{circuit.name}' with steps={steps}, batch={batch} needs about {bytes_:,} "
                f"bytes ({bytes_ / 2**30:.3g} GiB: {detail}), more than the {avail / 2**30:.3g} GiB {where}. "
                f"Fix: a smaller batch (or fewer steps: split the run), or {hint}.")
    return need
