"""SpikingModel: the converted model, run on spikeattn's engines.

``predict(x, steps=T, engine=, batch=)`` presents each sample for T steps (``graded``
sources repeated every step; token ids as one-hot counts), runs the segments in order
(host stages in between, :mod:`spikeattn.convert.program`), and reads the logits as the
mean over the T steps of the output affine map of the recorded spikes (a linear decoder on
the host).  Prediction = argmax.  ``fidelity(x, y, steps=[...])`` gives accuracy per T.

What T means depends on the mode.  ``accumulate`` / ``rate``: the membranes carry their
residual from step to step (reset by subtraction), so T steps compute the model on a T times
finer grid (on constant inputs exactly; see :mod:`.quantiser`).  ``exact``: the membranes are
re-initialised between steps, so every step is the quantised ANN's forward pass and the
prediction at every T is the quantised ANN's (torch, float64); T only multiplies the events.
"""
from __future__ import annotations

import time

import numpy as np

from ..counts import ElementCounts, EventCounts
from ..errors import InputError
from ..simulate import simulate


class SpikingModel:
    def __init__(self, program, mode: str, levels: int, quantised=None, dense=None, meta=None):
        self.program, self.mode, self.levels = program, mode, levels
        self.quantised, self.dense = quantised, dense   # torch modules (may be None)
        self.meta = dict(meta or {})
        self.last_counts = None
        self._circuit = None

    @property
    def circuit(self):
        if self._circuit is None:
            self._circuit = self.program.merged_circuit()
        return self._circuit

    @property
    def host_stages(self) -> list[str]:
        return [h.kind for h in self.program.host_stages]

    def _encode(self, x) -> dict:
        (name, info), = [(k, v) for k, v in self.program.inputs.items()]
        x = np.asarray(x)
        if x.shape[1:] != info["shape"][1:]:
            raise InputError(f"predict(): x has sample shape {x.shape[1:]}; the model takes {info['shape'][1:]}.")
        if info["vocab"]:
            ids = x.reshape(len(x), -1).astype(np.int64)
            oh = np.zeros((len(x), ids.shape[1], info["vocab"]))
            np.put_along_axis(oh, ids[..., None], 1.0, axis=2)
            return {name: oh.reshape(len(x), -1)}
        return {name: x.reshape(len(x), -1).astype(np.float64) / info["scale"]}

    def _needed(self) -> set:
        """Nodes whose recorded outputs are read after their segment ran."""
        need = set(self.program.output.terms) | {k for k, _, _ in self.program.attention}
        for seg in self.program.segments:
            need |= set(seg.proxies.values())
            for h in seg.host.values():
                for a in h.inputs:
                    need |= set(a.terms)
        return need

    def run(self, x, steps: int = 4, engine: str = "numpy", batch: int | None = None, options: dict | None = None):
        """Logits per step ``(steps, n, classes)`` and the summed EventCounts totals.

        ``exact`` mode: every step is one forward pass from the initial state (the membranes
        are re-initialised between steps: a sample's T steps are simulated as T one-step
        passes), so every step emits the quantised ANN's levels and the prediction at every T
        is the quantised ANN's; T multiplies the events and changes nothing else.  Other
        modes keep the membranes from step to step (see the module docstring)."""
        x = np.asarray(x)
        if self.mode != "exact" or steps == 1:
            return self._run(x, steps, engine, batch, options)
        b = batch or self._default_batch(steps)
        outs, results, totals, per_node, first = [], [], {}, {}, None
        for i in range(0, len(x), b):
            xi = x[i:i + b]
            nb = len(xi)
            lg = self._run(np.concatenate([xi] * steps), 1, engine, steps * nb, options)   # pass t of j: t nb + j
            outs.append(lg.reshape((steps, nb) + lg.shape[2:]))
            results += [(c, passes_as_steps(cnt, steps)) for c, cnt in self.last_results]
            for k, v in self.last_counts["totals"].items():
                totals[k] = totals.get(k, 0) + v
            for k, v in self.last_counts["spikes_per_node"].items():
                per_node[k] = per_node.get(k, 0) + v
            if first is None:
                first = {k: v.reshape((steps, nb) + v.shape[2:]) for k, v in self.first_rec.items()}
        self.last_results, self.first_rec = results, first
        self.last_counts = {"totals": totals, "spikes_per_node": per_node, "samples": len(x), "steps": steps,
                            "simulated_steps": steps}
        return np.concatenate(outs, axis=1)

    def _default_batch(self, steps: int) -> int:
        """About 2e7 recorded neuron-steps per batch (160 MB per float64 array)."""
        n_neurons = sum(p.size for seg in self.program.segments for p in seg.circuit.populations.values())
        return max(1, min(max(8, 512 // steps), int(2e7 // max(n_neurons * steps, 1))))

    def _run(self, x, steps, engine, batch, options):
        """The simulation behind :meth:`run` (membranes kept from step to step).
        ``batch`` samples are simulated at once (default: ``max(8, 512 // steps)``, lowered so
        that a batch records at most about 2e7 neuron-steps); only
        the outputs read later (proxies, host stages, readout) are kept.  Pipelined programs
        (``quantise="loihi8"``, :mod:`.loihi`) run ``steps + depth`` steps with the inputs
        presented for the first ``steps``, and each node is read in its window
        ``[depth, depth + steps)``.  ``options`` go to :func:`spikeattn.simulate` (engine options)."""
        x = np.asarray(x)
        if batch is None:
            batch = self._default_batch(steps)
        need = self._needed()
        outs, totals, per_node = [], {}, {}
        self.last_results = []
        lat = self.program.latency
        sim_steps = steps + (max(lat.values()) if lat else 0)
        for i in range(0, len(x), batch):
            rec = {k: np.broadcast_to(v, (steps,) + v.shape) for k, v in self._encode(x[i:i + batch]).items()}
            n = len(x[i:i + batch])
            for seg in self.program.segments:
                inputs = {}
                for src in seg.circuit.sources:
                    if src in rec and src in self.program.inputs:
                        inputs[src] = rec[src][0] if not lat else input_window(rec[src][0], steps, sim_steps)
                    elif src in self.program.constants:
                        const = np.broadcast_to(self.program.constants[src], (n, seg.circuit.node(src).size))
                        inputs[src] = input_window(const, steps, sim_steps)
                    elif src in seg.proxies:
                        inputs[src] = rec[seg.proxies[src]]
                    else:
                        h = seg.host[src]
                        inputs[src] = rec[src] = h.fn(*[a.evaluate(rec) for a in h.inputs])
                        for circ, cnt in (h.fn.take_results() if hasattr(h.fn, "take_results") else []):
                            self.last_results.append((circ, cnt))      # a spiking stage (k-WTA token selection)
                            for k, v in cnt.totals().items():
                                totals[k] = totals.get(k, 0) + int(v)
                r = simulate(seg.circuit, inputs, steps=sim_steps, engine=engine, **(options or {}))
                self.last_results.append((seg.circuit, r.counts))
                self.last_result = r
                for pop in seg.circuit.populations:
                    if pop in need:
                        d = lat.get(pop, 0)
                        rec[pop] = r.spikes[pop][d:d + steps]
                for k, v in r.counts.totals().items():
                    totals[k] = totals.get(k, 0) + int(v)
                for pop in seg.circuit.populations:
                    per_node[pop] = per_node.get(pop, 0) + int(np.count_nonzero(r.spikes[pop]))
            outs.append(self.program.output.evaluate(rec))
            if i == 0:
                self.first_rec = {k: rec[k] for k, _, _ in self.program.attention}
        self.last_counts = {"totals": totals, "spikes_per_node": per_node, "samples": len(x), "steps": steps,
                            "simulated_steps": sim_steps}
        return np.concatenate(outs, axis=1)

    def predict(self, x, steps: int = 4, engine: str = "numpy", batch: int | None = None,
                options: dict | None = None) -> np.ndarray:
        logits = self.run(x, steps=steps, engine=engine, batch=batch, options=options)
        self.last_prediction = logits.mean(axis=0).reshape(logits.shape[1], -1).argmax(axis=1)
        return self.last_prediction

    def fidelity(self, x, y, steps=(1, 2, 4, 8), engine: str = "numpy", batch: int | None = None) -> dict:
        """``{T: accuracy}`` and, per T, the counts and wall time (``self.timing``)."""
        y = np.asarray(y)
        acc, self.timing, self.counts_by_T = {}, {}, {}
        for T in steps:
            t0 = time.perf_counter()
            p = self.predict(x, steps=int(T), engine=engine, batch=batch)
            self.timing[int(T)] = time.perf_counter() - t0
            acc[int(T)] = float(np.mean(p == y))
            self.counts_by_T[int(T)] = self.last_counts
        return acc

    def quantised_predict(self, x) -> np.ndarray | None:
        """Predictions of the quantised ANN in float64 torch (the exact-mode oracle)."""
        if self.quantised is None:
            return None
        import torch
        with torch.no_grad():
            xt = torch.as_tensor(np.asarray(x))
            xt = xt.double() if xt.is_floating_point() else xt
            return self.quantised.double()(xt).argmax(-1).numpy()


def input_window(values: np.ndarray, steps: int, sim_steps: int) -> np.ndarray:
    """``(sim_steps, batch, size)``: ``values`` during the first ``steps`` steps, then 0."""
    out = np.zeros((sim_steps,) + values.shape, np.float64)
    out[:steps] = values
    return out


def passes_as_steps(counts, steps: int):
    """EventCounts of ``steps * n`` one-step passes (pass t of sample j in column ``t n + j``)
    as the counts of ``n`` samples over ``steps`` steps (exact mode's re-initialised steps)."""
    if counts.steps != 1 or counts.batch % steps:
        return counts
    n = counts.batch // steps
    return EventCounts(steps, n, {name: ElementCounts(el.kind, {f: a.reshape(steps, n) for f, a in el.fields.items()},
                                                      dict(el.meta)) for name, el in counts.elements.items()})
