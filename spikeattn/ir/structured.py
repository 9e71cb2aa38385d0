"""Structured (tensor-level) projections: stored by their parameters, never by their expansion.

A converted transformer applies the same ``(out, in)`` matrix to every token, permutes and
splits heads, and multiplies two spike trains (QKᵀ, attention x V).  Stored neuron by neuron
these are block-diagonal copies, index matrices and gate populations whose size grows as
tokens² x width² (issue 16).  The classes here describe them as NIR describes Linear, Conv
and index nodes: plain validated data, a few arrays each.

Populations and sources are shaped (``Population.shape``, C order).  Each projection reads
the output ``s`` of its pre node(s) as a *message value* ``m(s)``:

* ``"binary"``: ``m(s) = [s != 0]`` (``sign(s)`` from a signed-output model, e.g.
  ``TernaryIF``), one accumulate per existing synapse;
* ``"count"``: ``m(s) = s`` (integer levels), ``|s|`` accumulates per existing synapse;
* ``"graded"``: ``m(s) = s``, one multiply-accumulate per existing synapse.

and adds its input to the post population ``delay`` steps later, exactly as a flat
:class:`~spikeattn.ir.Projection` whose matrix is :meth:`expand_matrix` (which is how
:meth:`Circuit.expand` lowers it for the neuron-level engines):

:class:`SharedProjection` (``kind = "shared"``)
    ``W`` of shape ``(n_out, n_in)`` applied to every group: pre viewed as ``(G, n_in)``, post
    as ``(G, n_out)`` with ``G = pre.size / n_in``::

        a_post[g, o] += scale[g] * sum_i W[o, i] * m(s_pre[g, i])        (scale = 1 if None)

    i.e. ``kron(diag(scale), W)``.  Synapses exist where ``W != 0``: ``G * nnz(W)``.
:class:`IndexProjection` (``kind = "index"``)
    A gather: ``a_post[i] += w[i] * m(s_pre[index[i]])`` where ``index[i] >= 0`` (``-1``: no
    input).  Permutations, selections, head split/merge and concatenation (several index
    projections into one population) are index arrays.  Synapses: ``index >= 0`` and ``w != 0``.
:class:`ConvProjection` (``kind = "conv"``)
    2-D cross-correlation (torch's ``conv2d``, one group): pre ``(C_in, H, W)``, post
    ``(C_out, H_out, W_out)`` with ``H_out = (H + 2 p_h - k_h) // s_h + 1``::

        a_post[c, y, x] += sum_{ci, ky, kx} K[c, ci, ky, kx] * m(s_pre[ci, s_h y + ky - p_h, s_w x + kx - p_w])

    over in-bounds input positions.  Synapses: every (output, in-bounds input) pair whose kernel
    entry is non-zero.
:class:`ProductProjection` (``kind = "product"``)
    The accumulate-only product of two spike trains, ``pre`` (a) and ``pre_b`` (b), with an
    einsum ``equation`` over the three shapes (e.g. ``"hid,hjd->hij"`` for QKᵀ per head)::

        a_post[o] += weight * sum_{terms of o, mask[o]} a[.] * b[.]

    ``a`` and ``b`` are the outputs themselves (integer levels, 0/1 spikes, ±1 ternary).
    Events, as realised by unit spikes of ``a`` gating count messages of ``b`` (the
    neuron-level expansion builds exactly this, :mod:`spikeattn.ir.expand`):
    ``synaptic_acs = sum over unmasked terms |a| * |b|``, ``messages = sum over unmasked terms
    |a| * [b != 0]``; a post neuron receives an event where some unmasked term has ``a != 0``
    and ``b != 0``.  ``mask``: bool, broadcastable to the post shape (e.g. a causal
    ``(T, T)`` mask for ``"hid,hjd->hij"``); ``None`` = no mask.

    The counts are defined for integer levels (binary, ternary and multi-threshold outputs,
    bool inputs, or inputs with declared ``levels``).  Where an input is graded but not an
    integer level (a GradedReLU without declared ``levels``), ``|a|`` and ``|b|`` are
    truncated, as a count message counts ``trunc(|s|)`` accumulates:
    ``synaptic_acs = sum trunc(|a|) * trunc(|b|)``, ``messages = sum trunc(|a|) * [b != 0]``,
    and a post neuron receives an event where an unmasked term has ``a != 0`` and ``b != 0``
    (the torch engine's convention, :mod:`spikeattn.engines.torch.structured`).

Every class has ``pres`` (the pre nodes), ``shape = (post.size, pre.size)`` once added to a
circuit, ``synapse_count()``, ``fan_out()`` (existing synapses per pre neuron) and, except
the product, ``expand_matrix()``: the ``(post, pre)`` CSR of the flat equivalent.
"""
from __future__ import annotations

import copy
import math
import string
from dataclasses import MISSING, dataclass, fields
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from ..errors import ParameterError, ShapeMismatchError, ValidationError
from ..validation import check_int, check_real, check_real_array, check_str
from .population import check_name

MESSAGES = ("binary", "graded", "count")


def _where(p) -> str:
    pres = " x ".join(p.pres)
    return f"{p.kind} projection '{p.name}' ({pres} -> {p.post})"


def _finite(where: str, field_: str, arr: np.ndarray) -> None:
    if not np.all(np.isfinite(arr)):
        raise ParameterError(where, field_, "contains NaN or inf.", f"replace the non-finite values of {field_}.")


@dataclass(eq=False)
class StructuredProjection:
    """Base class: the fields and checks every structured projection shares."""

    kind: ClassVar[str] = "abstract"

    def _check_common(self) -> str:
        check_name("projection", self.name)
        for role in self._roles():
            if not isinstance(getattr(self, role), str):
                raise ParameterError(f"{self.kind} projection '{self.name}'", role,
                                     f"is {getattr(self, role)!r}; must be the name (str) of a node.")
        where = _where(self)
        self.delay = check_int(where, "delay", self.delay, 0, 1024, unit=" steps")
        return where

    def _roles(self) -> tuple[str, ...]:
        return ("pre", "post")

    @property
    def pres(self) -> tuple[str, ...]:
        return (self.pre,)

    # set by Circuit when the projection is added or validated (plain attributes, not fields)
    pre_shape = ()
    post_shape = ()

    def bind(self, pre_shapes: tuple, post_shape: tuple) -> None:
        """Check the projection against its nodes' shapes (``pre_shapes``: one per pre) and
        remember them; :class:`~spikeattn.ir.Circuit` calls it."""
        self.pre_shape, self.post_shape = tuple(pre_shapes[0]), tuple(post_shape)

    @property
    def shape(self) -> tuple[int, int]:
        return (math.prod(self.post_shape), math.prod(self.pre_shape))

    @property
    def sparse(self) -> bool:  # the flat-projection attribute; structured weights are never a matrix
        return False

    @property
    def structured(self) -> bool:
        return True

    def renamed(self, name: str, mapping: dict) -> "StructuredProjection":
        """A copy named ``name`` whose node names go through ``mapping`` (for Circuit.include)."""
        q = copy.copy(self)
        q.name = name
        for role in self._roles():
            setattr(q, role, mapping[getattr(self, role)])
        return q

    def arrays(self) -> dict[str, np.ndarray]:  # pragma: no cover - abstract
        """The arrays a file stores for this projection (scalars go to :meth:`scalars`)."""
        raise NotImplementedError

    def scalars(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def synapse_count(self) -> int:
        return int(self.fan_out().sum())

    def __eq__(self, other) -> bool:
        if type(other) is not type(self) or self.scalars() != other.scalars():
            return False
        a, b = self.arrays(), other.arrays()
        return a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and a[k].shape == b[k].shape
                                            and np.array_equal(a[k], b[k]) for k in a)

    __hash__ = object.__hash__


def _message(where, message):
    return check_str(where, "message", message, MESSAGES)


def _matrix(where: str, field_: str, w, ndim: int) -> np.ndarray:
    arr = check_real_array(where, field_, w)
    if arr.ndim != ndim:
        raise ShapeMismatchError(where, field_, f"must be {ndim}-D, got shape {arr.shape}.")
    arr = np.array(arr, np.float64)
    _finite(where, field_, arr)
    return arr


# --------------------------------------------------------------------------- shared
@dataclass(eq=False)
class SharedProjection(StructuredProjection):
    """One ``(n_out, n_in)`` matrix applied to every group of ``n_in`` pre neurons (see the
    module docstring); ``scale`` (``(G,)`` or None) multiplies group g's input, e.g. a
    per-token LayerNorm factor folded into the layer that follows it."""

    kind: ClassVar[str] = "shared"
    name: str
    pre: str
    post: str
    weights: np.ndarray
    delay: int = 1
    message: str = "binary"
    scale: np.ndarray | None = None

    def __post_init__(self):
        self.check()

    def check(self, copy: bool = False) -> "SharedProjection":
        where = self._check_common()
        _message(where, self.message)
        self.weights = _matrix(where, "weights", self.weights, 2)
        if 0 in self.weights.shape:
            raise ShapeMismatchError(where, "weights", f"has shape {self.weights.shape}; a shared matrix needs at "
                                     "least one row (n_out) and one column (n_in).")
        if self.scale is not None:
            self.scale = _matrix(where, "scale", np.reshape(np.asarray(self.scale), (-1, 1)), 2).reshape(-1)
            if np.any(self.scale == 0):
                raise ParameterError(where, "scale", "has zeros (a group with no synapses).",
                                     "drop the group or give a non-zero scale.")
        return self

    @property
    def n_out(self) -> int:
        return self.weights.shape[0]

    @property
    def n_in(self) -> int:
        return self.weights.shape[1]

    @property
    def groups(self) -> int:
        return math.prod(self.pre_shape) // self.n_in

    def bind(self, pre_shapes, post_shape):
        where = _where(self)
        n_pre, n_post = math.prod(pre_shapes[0]), math.prod(post_shape)
        if n_pre % self.n_in or n_pre // self.n_in * self.n_out != n_post:
            raise ShapeMismatchError(where, "weights", f"has shape {self.weights.shape} (n_out, n_in), but the "
                                     f"pre has {n_pre} and the post {n_post} neurons: sizes must be G * n_in and "
                                     "G * n_out for one G.", "give weights of shape (post features, pre features).")
        G = n_pre // self.n_in
        if self.scale is not None and self.scale.shape != (G,):
            raise ShapeMismatchError(where, "scale", f"has {self.scale.size} values; expected one per group ({G}).")
        super().bind(pre_shapes, post_shape)

    def fan_out(self) -> np.ndarray:
        per_in = np.count_nonzero(self.weights, axis=0).astype(np.int64)
        return np.tile(per_in, self.groups)

    def expand_matrix(self) -> sp.csr_matrix:
        scale = np.ones(self.groups) if self.scale is None else self.scale
        return sp.kron(sp.diags(scale), sp.csr_matrix(self.weights), format="csr")

    def arrays(self):
        out = {"weights": self.weights}
        if self.scale is not None:
            out["scale"] = self.scale
        return out

    def scalars(self):
        return {"name": self.name, "pre": self.pre, "post": self.post, "delay": self.delay, "message": self.message}


# --------------------------------------------------------------------------- index
@dataclass(eq=False)
class IndexProjection(StructuredProjection):
    """A gather, ``a_post[i] += w[i] * m(s_pre[index[i]])`` (``index[i] = -1``: none)."""

    kind: ClassVar[str] = "index"
    name: str
    pre: str
    post: str
    index: np.ndarray
    weights: object = 1.0
    delay: int = 1
    message: str = "binary"

    def __post_init__(self):
        self.check()

    def check(self, copy: bool = False) -> "IndexProjection":
        where = self._check_common()
        _message(where, self.message)
        idx = np.asarray(self.index)
        if idx.dtype.kind not in "iu" or idx.ndim != 1:
            raise ParameterError(where, "index", f"must be a 1-D integer array (one entry per post neuron), got "
                                 f"dtype {idx.dtype} and shape {idx.shape}.")
        if idx.size and idx.min() < -1:
            raise ParameterError(where, "index", f"holds {int(idx.min())}; entries are pre indices or -1 (no input).")
        self.index = idx.astype(np.int64)
        w = np.asarray(self.weights)
        if w.ndim == 0:
            self.weights = check_real(where, "weights", self.weights)
        else:
            self.weights = _matrix(where, "weights", w, 1)
            if self.weights.shape != self.index.shape:
                raise ShapeMismatchError(where, "weights", f"has {self.weights.size} values for {self.index.size} "
                                         "index entries.", "give a scalar or one weight per post neuron.")
        return self

    def bind(self, pre_shapes, post_shape):
        where = _where(self)
        n_pre, n_post = math.prod(pre_shapes[0]), math.prod(post_shape)
        if self.index.shape != (n_post,):
            raise ShapeMismatchError(where, "index", f"has {self.index.size} entries; the post has {n_post} neurons.",
                                     "give one pre index (or -1) per post neuron.")
        if self.index.size and self.index.max() >= n_pre:
            raise ParameterError(where, "index", f"holds {int(self.index.max())}, outside the {n_pre} pre neurons.")
        super().bind(pre_shapes, post_shape)

    def _existing(self) -> np.ndarray:
        w = np.broadcast_to(np.asarray(self.weights, np.float64), self.index.shape)
        return (self.index >= 0) & (w != 0)

    def fan_out(self) -> np.ndarray:
        return np.bincount(self.index[self._existing()], minlength=math.prod(self.pre_shape)).astype(np.int64)

    def expand_matrix(self) -> sp.csr_matrix:
        keep = self._existing()
        rows = np.flatnonzero(keep)
        w = np.broadcast_to(np.asarray(self.weights, np.float64), self.index.shape)[keep]
        return sp.csr_matrix((w, (rows, self.index[keep])), shape=self.shape)

    def arrays(self):
        out = {"index": self.index}
        if np.ndim(self.weights):
            out["weights"] = self.weights
        return out

    def scalars(self):
        d = {"name": self.name, "pre": self.pre, "post": self.post, "delay": self.delay, "message": self.message}
        if not np.ndim(self.weights):
            d["weights"] = float(self.weights)
        return d


# --------------------------------------------------------------------------- conv
@dataclass(eq=False)
class ConvProjection(StructuredProjection):
    """2-D convolution (cross-correlation) of a ``(C_in, H, W)`` pre into a
    ``(C_out, H_out, W_out)`` post; ``weights`` is ``(C_out, C_in, k_h, k_w)``."""

    kind: ClassVar[str] = "conv"
    name: str
    pre: str
    post: str
    weights: np.ndarray
    input_hw: tuple = (1, 1)
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    delay: int = 1
    message: str = "binary"

    def __post_init__(self):
        self.check()

    def check(self, copy: bool = False) -> "ConvProjection":
        where = self._check_common()
        _message(where, self.message)
        self.weights = _matrix(where, "weights", self.weights, 4)
        if 0 in self.weights.shape:
            raise ShapeMismatchError(where, "weights", f"has shape {self.weights.shape}; every axis of a kernel "
                                     "(C_out, C_in, k_h, k_w) needs at least one entry.")
        for f, lo in (("input_hw", 1), ("stride", 1), ("padding", 0)):
            v = getattr(self, f)
            v = (v, v) if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else v
            if not isinstance(v, (tuple, list)) or len(v) != 2:
                raise ParameterError(where, f, f"is {v!r}; expected two ints (height, width).")
            setattr(self, f, tuple(check_int(where, f, x, lo, 2**31 - 1) for x in v))
        kh, kw = self.weights.shape[2:]
        (H, W), (ph, pw) = self.input_hw, self.padding
        if H + 2 * ph < kh or W + 2 * pw < kw:
            raise ShapeMismatchError(where, "weights", f"kernel {kh}x{kw} is larger than the padded input "
                                     f"{H + 2 * ph}x{W + 2 * pw}.")
        return self

    @property
    def output_hw(self) -> tuple[int, int]:
        kh, kw = self.weights.shape[2:]
        (H, W), (sh, sw), (ph, pw) = self.input_hw, self.stride, self.padding
        return (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1

    def bind(self, pre_shapes, post_shape):
        where = _where(self)
        co, ci = self.weights.shape[:2]
        n_pre, n_post = math.prod(pre_shapes[0]), math.prod(post_shape)
        want_pre, want_post = ci * math.prod(self.input_hw), co * math.prod(self.output_hw)
        if (n_pre, n_post) != (want_pre, want_post):
            raise ShapeMismatchError(where, "weights", f"maps ({ci}, {self.input_hw[0]}, {self.input_hw[1]}) = "
                                     f"{want_pre} to ({co}, {self.output_hw[0]}, {self.output_hw[1]}) = {want_post} "
                                     f"neurons, but the pre has {n_pre} and the post {n_post}.",
                                     "give input_hw, stride and padding matching the populations.")
        super().bind(pre_shapes, post_shape)

    def _pairs(self):
        """Existing synapses as (post index, pre index, weight) arrays."""
        co, ci, kh, kw = self.weights.shape
        (H, W), (sh, sw), (ph, pw) = self.input_hw, self.stride, self.padding
        Ho, Wo = self.output_hw
        c, i, ky, kx = np.nonzero(self.weights)
        w = self.weights[c, i, ky, kx]
        oy, ox = np.meshgrid(np.arange(Ho), np.arange(Wo), indexing="ij")
        oy, ox = oy.reshape(-1, 1), ox.reshape(-1, 1)
        y, x = sh * oy + ky - ph, sw * ox + kx - pw
        ok = (y >= 0) & (y < H) & (x >= 0) & (x < W)
        post = (c * Ho * Wo + oy * Wo + ox)[ok]
        pre = (i * H * W + y * W + x)[ok]
        return post, pre, np.broadcast_to(w, ok.shape)[ok]

    def fan_out(self) -> np.ndarray:
        _, pre, _ = self._pairs()
        return np.bincount(pre, minlength=math.prod(self.pre_shape)).astype(np.int64)

    def expand_matrix(self) -> sp.csr_matrix:
        post, pre, w = self._pairs()
        return sp.csr_matrix((w, (post, pre)), shape=self.shape)

    def arrays(self):
        return {"weights": self.weights}

    def scalars(self):
        return {"name": self.name, "pre": self.pre, "post": self.post, "delay": self.delay, "message": self.message,
                "input_hw": list(self.input_hw), "stride": list(self.stride), "padding": list(self.padding)}


# --------------------------------------------------------------------------- product
def parse_equation(where: str, equation) -> tuple[str, str, str]:
    """``"ab,bc->ac"`` -> ``("ab", "bc", "ac")``: lowercase letters, no repeated letter within
    an operand, every output letter in an input."""
    if not isinstance(equation, str) or equation.count("->") != 1 or equation.count(",") != 1:
        raise ParameterError(where, "equation", f"is {equation!r}; expected an einsum 'a_idx,b_idx->out_idx' "
                             "such as 'hid,hjd->hij'.")
    ins, out = equation.replace(" ", "").split("->")
    a, b = ins.split(",")
    for part in (a, b, out):
        if any(ch not in string.ascii_lowercase for ch in part) or len(set(part)) != len(part):
            raise ParameterError(where, "equation", f"operand {part!r} of {equation!r}: use distinct lowercase "
                                 "letters, one per axis.")
    if set(out) - set(a) - set(b):
        raise ParameterError(where, "equation", f"output letters {sorted(set(out) - set(a) - set(b))} appear in no "
                             "input.")
    return a, b, out


@dataclass(eq=False)
class ProductProjection(StructuredProjection):
    """``a_post = weight * einsum(equation, a, b)`` over unmasked outputs, counted as
    accumulates (see the module docstring)."""

    kind: ClassVar[str] = "product"
    name: str
    pre: str
    pre_b: str
    post: str
    equation: str
    weight: float = 1.0
    mask: np.ndarray | None = None
    delay: int = 1
    #: declared bounds ``(L_a, L_b)`` (``|a| <= L_a``, ``|b| <= L_b``) for inputs whose model
    #: has none, e.g. a GradedReLU count accumulator fed by c binary synapses (``<= c``); the
    #: expansion's gates assume them (None: from the models, :func:`spikeattn.ir.expand.levels_of`)
    levels: tuple | None = None
    message = "count"   # the gated messages are counts (not a field: always "count")

    def __post_init__(self):
        self.check()

    def _roles(self):
        return ("pre", "pre_b", "post")

    @property
    def pres(self) -> tuple[str, ...]:
        return (self.pre, self.pre_b)

    def check(self, copy: bool = False) -> "ProductProjection":
        where = self._check_common()
        self.subscripts = parse_equation(where, self.equation)
        self.weight = check_real(where, "weight", self.weight)
        if self.weight == 0:
            raise ParameterError(where, "weight", "is 0 (no synapse would exist).", "give a non-zero weight.")
        if self.levels is not None:
            lv = self.levels
            if not isinstance(lv, (tuple, list)) or len(lv) != 2:
                raise ParameterError(where, "levels", f"is {lv!r}; expected (L_a, L_b) or None.")
            self.levels = tuple(check_int(where, "levels", x, 1, 2**20) for x in lv)
        if self.mask is not None:
            m = np.asarray(self.mask)
            if m.dtype != bool:
                raise ParameterError(where, "mask", f"has dtype {m.dtype}; expected bool (True = term kept).")
            self.mask = m.copy()
        return self

    def bind(self, pre_shapes, post_shape):
        where = _where(self)
        sizes: dict[str, int] = {}
        for sub, shape, role in zip(self.subscripts, (pre_shapes[0], pre_shapes[1], post_shape),
                                    ("pre", "pre_b", "post")):
            if len(sub) != len(shape):
                raise ShapeMismatchError(where, "equation", f"operand '{sub}' has {len(sub)} axes but {role} "
                                         f"'{getattr(self, role)}' has shape {tuple(shape)}.",
                                         "shape the population to match the equation.")
            for ch, n in zip(sub, shape):
                if sizes.setdefault(ch, n) != n:
                    raise ShapeMismatchError(where, "equation", f"axis '{ch}' has size {sizes[ch]} in one operand "
                                             f"and {n} in {role} '{getattr(self, role)}'.")
        if self.mask is not None:
            try:
                np.broadcast_to(self.mask, tuple(post_shape))
            except ValueError:
                raise ShapeMismatchError(where, "mask", f"has shape {self.mask.shape}, which does not broadcast to "
                                         f"the post shape {tuple(post_shape)}.") from None
        self.pre_shape, self.pre_b_shape, self.post_shape = (tuple(s) for s in (*pre_shapes, post_shape))
        self.axis_sizes = sizes

    @property
    def terms(self) -> int:
        """Number of (unmasked) product terms: the synapses of the gate realisation."""
        return int(self.term_counts("out").sum())

    def full_mask(self) -> np.ndarray:
        return np.ones(self.post_shape, bool) if self.mask is None else np.broadcast_to(self.mask, self.post_shape)

    def term_counts(self, operand: str) -> np.ndarray:
        """Unmasked terms per element of ``operand`` ("a", "b" or "out"), flat int64, in closed
        form: the mask summed over the output letters the operand does not fix, times the sizes
        of the summed letters that appear in neither the operand nor the output.  Work is
        O(mask size + operand size), never O(terms)."""
        a, b, o = self.subscripts
        sub, shape = {"a": (a, self.pre_shape), "b": (b, self.pre_b_shape), "out": (o, self.post_shape)}[operand]
        m = self.full_mask().astype(np.int64)
        keep = "".join(ch for ch in o if ch in sub)
        red = np.einsum(f"{o}->{keep}", m) if keep != o else m
        free = [ch for ch in sorted(set(a + b)) if ch not in sub and ch not in o]
        factor = math.prod(self.axis_sizes[ch] for ch in free)
        # lay ``red`` (letters ``keep``) out along ``sub``: transpose to sub's order, size 1 elsewhere
        order = [ch for ch in sub if ch in keep]
        red = np.transpose(red, [keep.index(ch) for ch in order]) if keep else red
        red = red.reshape([self.axis_sizes[ch] if ch in keep else 1 for ch in sub])
        return (np.broadcast_to(red, shape) * factor).reshape(-1).astype(np.int64)

    def fan_out(self) -> np.ndarray:
        """Terms per element of ``a`` (the gated messages a unit spike of a sends)."""
        return self.term_counts("a")

    def synapse_count(self) -> int:
        return self.terms

    def term_indices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flat (a index, b index, output index) of every unmasked term, output-major."""
        a, b, o = self.subscripts
        letters = o + "".join(sorted(set(a + b) - set(o)))
        grid = np.indices([self.axis_sizes[ch] for ch in letters]).reshape(len(letters), -1)
        pos = {ch: grid[k] for k, ch in enumerate(letters)}

        def flat(sub, shape):
            return np.ravel_multi_index([pos[ch] for ch in sub], shape) if sub else np.zeros(grid.shape[1], np.int64)

        ia, ib, io = flat(a, self.pre_shape), flat(b, self.pre_b_shape), flat(o, self.post_shape)
        keep = self.full_mask().reshape(-1)[io]
        return ia[keep], ib[keep], io[keep]

    def arrays(self):
        return {} if self.mask is None else {"mask": self.mask}

    def scalars(self):
        d = {"name": self.name, "pre": self.pre, "pre_b": self.pre_b, "post": self.post,
             "equation": self.equation, "weight": float(self.weight), "delay": self.delay}
        if self.levels is not None:
            d["levels"] = list(self.levels)
        return d


STRUCTURED_KINDS: dict[str, type[StructuredProjection]] = {
    c.kind: c for c in (SharedProjection, IndexProjection, ConvProjection, ProductProjection)}


def structured_from_parts(kind: str, scalars: dict, arrays: dict) -> StructuredProjection:
    """Rebuild a structured projection from :meth:`scalars` and :meth:`arrays` (files)."""
    if kind not in STRUCTURED_KINDS:
        raise ValidationError("structured projection", "kind", f"unknown kind {kind!r}.",
                              f"use one of {sorted(STRUCTURED_KINDS)}.")
    cls = STRUCTURED_KINDS[kind]
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(scalars) - names) + sorted(set(arrays) - names)
    if unknown:
        raise ParameterError(f"{kind} projection", "params", f"has unknown parameters {unknown}.",
                             f"a {kind} projection takes {sorted(names)}.")
    kw = dict(scalars)
    for k in ("input_hw", "stride", "padding", "levels"):
        if k in kw and isinstance(kw[k], list):
            kw[k] = tuple(kw[k])
    kw.update(arrays)
    missing = sorted(f.name for f in fields(cls) if f.name not in kw and f.default is MISSING)
    if missing:
        raise ParameterError(f"{kind} projection", "params", f"lacks {missing}.", "the file is incomplete.")
    return cls(**kw)
