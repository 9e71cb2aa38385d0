"""Neuron-level building blocks: coincidence (AND) neurons, relays, graded accumulators, gates.

Every motif is made of ordinary neurons and synapses, so a circuit built from them runs on
any engine that supports its neuron models:

``and``  (coincidence detector) — a memoryless LIF (``du = dv = 1``) with ``k`` binary inputs
    of weight 1 and threshold ``k - 1/2``: ``v[t] = sum_i s_i[t - delay_i]``, spike iff all
    ``k`` inputs spiked in the same (aligned) step.  Spike x spike product of binary values.
``relay`` — a memoryless LIF with threshold 1/2 that repeats its input one step later
    (a delay line without synaptic delays, for engines without long delays).
``accumulator`` — a :class:`~spikeattn.ir.neurons_extra.GradedReLU` with ``vth = 0``:
    emits one graded spike per step carrying the number (weighted sum) of input spikes
    that arrived in that step, reset every step.
``gate`` — a ``GradedReLU`` with ``vth = B`` receiving a graded value ``0 <= x <= B``
    (weight 1) and a binary gate spike (weight ``B``): ``s = x`` if the gate spiked and
    ``x > 0``, else 0, i.e. ``s = x * g`` for binary ``g`` — a graded x binary product from
    an addition and a threshold.  ``B`` must bound ``x``.

Connectivity is given as index lists (``post_idx[k]`` receives from ``pre_idx[k]``) and
turned into scipy sparse weight matrices.  Each builder appends a descriptor to
``circuit.meta["motifs"]`` (JSON-able) so a reader can see which population is which motif.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import ParameterError
from ..ir import LIF, Circuit
from ..ir.neurons_extra import GradedReLU


def coincidence_model(n_inputs: int = 2) -> LIF:
    """Memoryless LIF that spikes iff all ``n_inputs`` weight-1 binary inputs arrive together."""
    if not isinstance(n_inputs, (int, np.integer)) or n_inputs < 1:
        raise ParameterError("coincidence neuron", "n_inputs", f"is {n_inputs!r}; must be an int >= 1.")
    return LIF(du=1.0, dv=1.0, vth=n_inputs - 0.5)


def relay_model() -> LIF:
    """Memoryless LIF with threshold 1/2: repeats a weight-1 binary input."""
    return LIF(du=1.0, dv=1.0, vth=0.5)


def accumulator_model() -> GradedReLU:
    """Graded accumulator: one graded spike per step carrying the summed input."""
    return GradedReLU(vth=0.0)


def gate_model(bound: float) -> GradedReLU:
    """Graded gate passing a value ``0 <= x <= bound`` when its gate input (weight ``bound``) spikes."""
    if not np.isfinite(bound) or bound <= 0:
        raise ParameterError("gate neuron", "bound", f"is {bound!r}; must be a positive number.")
    return GradedReLU(vth=float(bound))


def index_weights(n_post: int, n_pre: int, post_idx, pre_idx, weight=1.0) -> sp.csr_matrix:
    """Sparse ``(n_post, n_pre)`` matrix with ``W[post_idx[k], pre_idx[k]] = weight``.

    Duplicate (post, pre) pairs add up.  ``weight`` is a scalar or one value per pair."""
    post_idx = np.asarray(post_idx, np.int64).ravel()
    pre_idx = np.asarray(pre_idx, np.int64).ravel()
    if post_idx.shape != pre_idx.shape:
        raise ParameterError("index_weights", "post_idx/pre_idx", f"have {post_idx.size} and {pre_idx.size} "
                             "entries; they must pair up.")
    w = np.broadcast_to(np.asarray(weight, np.float64), post_idx.shape)
    return sp.csr_matrix((w, (post_idx, pre_idx)), shape=(n_post, n_pre))


def _record(circuit: Circuit, **desc) -> None:
    circuit.meta.setdefault("motifs", []).append(desc)


def add_and(circuit: Circuit, name: str, shape, inputs, delays=None) -> str:
    """Add coincidence neurons ``name`` (``shape``); ``inputs`` is a list of ``(pre, pre_idx)``
    where neuron ``k`` receives ``pre[pre_idx[k]]`` with weight 1.  ``delays`` (one per input,
    default 1) align inputs that come from pipeline stages of different depth."""
    pop = circuit.add_population(name, shape, coincidence_model(len(inputs)))
    delays = list(delays or [1] * len(inputs))
    for (pre, idx), d in zip(inputs, delays):
        idx = np.asarray(idx, np.int64).ravel()
        if idx.size != pop.size:
            raise ParameterError(f"AND motif '{name}'", "pre_idx", f"has {idx.size} entries for {pop.size} "
                                 "neurons.", "give one pre-synaptic index per coincidence neuron.")
        w = index_weights(pop.size, circuit.node(pre).size, np.arange(pop.size), idx)
        circuit.connect(pre, name, w, name=f"{pre}->{name}", delay=d)
    _record(circuit, motif="and", population=name, inputs=[p for p, _ in inputs], delays=delays)
    return name


def add_accumulator(circuit: Circuit, name: str, shape, pre: str, pre_idx, post_idx, weight=1.0,
                    message: str = "binary", delay: int = 1) -> str:
    """Add graded accumulators ``name``; ``post_idx[k]`` sums ``weight * pre[pre_idx[k]]``."""
    pop = circuit.add_population(name, shape, accumulator_model())
    w = index_weights(pop.size, circuit.node(pre).size, post_idx, pre_idx, weight)
    circuit.connect(pre, name, w, name=f"{pre}->{name}", delay=delay, message=message)
    _record(circuit, motif="accumulator", population=name, inputs=[pre])
    return name


def add_gate(circuit: Circuit, name: str, shape, value: tuple, gate: tuple, bound: float,
             value_delay: int = 1, gate_delay: int = 1) -> str:
    """Add graded gates ``name``: neuron ``k`` emits ``value_pre[value_idx[k]]`` (graded,
    ``<= bound``) in steps where ``gate_pre[gate_idx[k]]`` spiked (aligned by the delays)."""
    pop = circuit.add_population(name, shape, gate_model(bound))
    (vpre, vidx), (gpre, gidx) = value, gate
    k = np.arange(pop.size)
    circuit.connect(vpre, name, index_weights(pop.size, circuit.node(vpre).size, k, vidx),
                    name=f"{vpre}->{name}", delay=value_delay, message="graded")
    circuit.connect(gpre, name, index_weights(pop.size, circuit.node(gpre).size, k, gidx, float(bound)),
                    name=f"{gpre}->{name}", delay=gate_delay)
    _record(circuit, motif="gate", population=name, value=vpre, gate=gpre, bound=float(bound))
    return name


def add_delay_line(circuit: Circuit, name: str, pre: str, steps: int) -> str:
    """Relay chain ``name.0 .. name.{steps-2}`` re-emitting ``pre`` so that, connected on with
    delay 1, its spikes arrive ``steps`` steps after ``pre`` spiked.  Returns the last relay
    (or ``pre`` itself when ``steps == 1``)."""
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ParameterError(f"delay line '{name}'", "steps", f"is {steps!r}; must be an int >= 1.")
    last, n = pre, circuit.node(pre).size
    for i in range(steps - 1):
        relay = f"{name}.{i}"
        circuit.add_population(relay, n, relay_model())
        circuit.connect(last, relay, 1.0, name=f"{last}->{relay}")
        last = relay
    _record(circuit, motif="delay_line", population=last, inputs=[pre], steps=int(steps))
    return last
