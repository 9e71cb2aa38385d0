"""``convert(model_or_exported_program, example_input, mode=, steps=, calib=)``.

Pipeline: capture (``torch.export``) -> prepare (mode rewrites, :mod:`.modes`) ->
calibrate on ``calib`` -> quantisation-aware fine-tune on ``train=(x, y)`` (``exact`` /
``accumulate``; skipped for ``rate``) -> re-export of one sample -> walk into a Program of
circuit segments -> :class:`~spikeattn.convert.spiking.SpikingModel`.

``quantise="loihi8"`` (accumulate mode only) turns the result into Loihi fixed point: 8-bit
weights with per-projection exponents, integer neurons, a pipeline of delay-1 steps
(:mod:`spikeattn.convert.loihi`); it runs bit-exactly on the numpy and Lava engines.

``input_scale`` is the value of one input count: inputs are presented as ``x / input_scale``
(integers for ``digits``: pixels 0..16, so ``input_scale=1`` gives count messages).

``structured=True`` (accumulate mode) walks the same prepared graph into a *structured*
circuit (:mod:`.structured_program`: shared per-token weights, products as product
projections, explicit residual sums with stream relays beyond ``max_terms`` terms) and
returns a :class:`~.structured_model.StructuredModel`, run with
:func:`~.structured_model.run`.  ``max_terms`` (``"auto"``: ``None`` for models of at most
:data:`AUTO_DIRECT_PARAMS` parameters, else 2): a residual stream with more node terms than
this is relayed before it is composed into a new linear map (``None``: never).
``keep_torch=False`` keeps neither the dense nor the quantised torch module on the result
(memory for large models).  Before anything is prepared or calibrated the memory the
conversion needs is estimated from the exported graph's shapes
(:func:`~.structured_model.estimate_convert_bytes`); above ``max_bytes`` (default: the
memory available now) a :class:`~spikeattn.errors.MemoryLimitError` names the estimate and
the fix.

``finetune_steps`` (``"auto"``: T = 1, 2, 4, 8, 16 in ``accumulate`` mode, T = 1 alone in
``exact`` mode): the steps T on whose grids the fine-tune trains (:func:`~.modes.finetune`).
An accumulate-mode circuit run for T steps computes the model quantised on a T times finer
grid (the membranes keep their residual), so its weights must be good on every such grid;
an exact-mode circuit re-initialises its membranes every step (every step is the quantised
ANN's pass, :class:`~.spiking.SpikingModel`), so T = 1's grid is the only one it computes.

After calibration and fine-tune, :func:`~.modes.check_signal` refuses (``ConversionError``) a
quantised model that lost the dense model's signal -- one predicted class for every
calibration sample with a quantiser that rounds all its inputs to zero, or, with ``train``,
accuracy at chance where the dense model's is not -- naming the quantisers' layers;
``signal_check=False`` skips it (random weights for a cost study).

``grid=k`` rounds the prepared model's numbers -- weights, biases, folded LayerNorm factors,
positions, CLS tokens, quantiser thresholds -- to multiples of ``2**-k`` (in the float64
model that both the walk and the quantised-ANN oracle use), so that every sum the circuit
forms is exact in float64 and no summation order (CSR, BLAS, einsum; flat or structured)
can move a threshold tie.  The model's own constants (``1/sqrt(d_head)``, ``1/n_keys``, the
``1/d`` of a LayerNorm mean, input scaling) are exact only where they are powers of two.
"""
from __future__ import annotations

import copy

import numpy as np

from ..errors import ParameterError, require
from . import capture as cap
from .cache import converted_cache_path, save_state
from .modes import ACCUMULATE_GRIDS, MODES, calibrate, check_signal, finetune, prepare
from .program import Program
from .spiking import SpikingModel


#: ``max_terms="auto"``: models with at most this many parameters keep every residual term
#: (no stream relays: accumulate-only, the flat path's structure); larger ones relay a residual
#: stream as soon as it holds more than two terms (linear in depth)
AUTO_DIRECT_PARAMS = 1_000_000


def convert(model, example_input, mode: str = "accumulate", steps: int = 4, calib=None, levels: int = 4,
            train=None, epochs: int = 30, lr: float = 2e-3, input_scale: float = 1.0,
            input_kind: str | None = None, name: str = "converted", seed: int = 0,
            cache_key: str | None = None, prune=None, quantise: str | None = None,
            loihi_threshold: int = 1 << 12, bias_correction: bool = True, structured: bool = False,
            max_terms="auto", max_bytes: int | None = None, grid: int | None = None, keep_torch: bool = True,
            signal_check: bool = True, finetune_steps="auto"):
    torch = require("torch", "torch", "spikeattn.convert")
    if mode not in MODES:
        raise ParameterError("convert()", "mode", f"is {mode!r}.", f"use one of {list(MODES)}.")
    if not isinstance(levels, int) or isinstance(levels, bool) or levels < 1:
        raise ParameterError("convert()", "levels", f"is {levels!r}; must be an int >= 1.")
    if quantise is not None:
        from .loihi import QUANTISERS
        if quantise not in QUANTISERS:
            raise ParameterError("convert()", "quantise", f"is {quantise!r}.", f"use one of {list(QUANTISERS)} or None.")
        if mode != "accumulate":
            raise ParameterError("convert()", "quantise", f"'{quantise}' with mode={mode!r}: the softmax and "
                                 "LayerNorm host stages of that mode stay floating point, which a chip cannot run.",
                                 "use mode='accumulate'.")
    if structured and mode != "accumulate":
        raise ParameterError("convert()", "structured", f"with mode={mode!r}: the structured path builds one "
                             "accumulate-mode segment (no floating-point softmax / LayerNorm host stages).",
                             "use mode='accumulate', or structured=False for the exact and rate modes.")
    if structured and quantise is not None:
        raise ParameterError("convert()", "quantise", f"'{quantise}' with structured=True: Loihi fixed point needs "
                             "flat projections.", "use structured=False for quantise='loihi8'.")
    if grid is not None and (not isinstance(grid, int) or isinstance(grid, bool) or not 0 <= grid <= 30):
        raise ParameterError("convert()", "grid", f"is {grid!r}; must be an int in [0, 30] (bits after the binary "
                             "point) or None.")
    if max_terms != "auto" and max_terms is not None and (not isinstance(max_terms, int) or isinstance(max_terms, bool)
                                                          or max_terms < 1):
        raise ParameterError("convert()", "max_terms", f"is {max_terms!r}; must be 'auto', an int >= 1 or None.")
    if max_terms == "auto":     # small models: the flat path's structure (accumulate-only, O(L^2) matrices)
        n_params = sum(int(p.numel()) for p in (model.parameters() if hasattr(model, "parameters") else
                                                 model.state_dict.values()))
        max_terms = None if n_params <= AUTO_DIRECT_PARAMS else 2
    torch.manual_seed(seed)
    example = torch.as_tensor(example_input)
    ep = cap.capture(model, example)
    batch = cap.static_batch(ep)
    if batch is not None:       # calibration, fine-tune and the check run batches of other sizes
        ep = cap.redynamise(ep, example)
        if ep is None and isinstance(model, torch.export.ExportedProgram):
            raise ParameterError(
                "convert()", "model", f"the ExportedProgram has a static batch of {batch} and its graph fixes it "
                "(a view, reshape or expand to that batch), so it cannot run the calibration batches.",
                "pass the nn.Module itself (convert() exports it with a dynamic batch), or export with "
                "torch.export.export(model, (x[:2],), dynamic_shapes=({0: torch.export.Dim('batch')},)) -- an example "
                "of at least 2 samples: torch specialises a batch of 1.")
        if ep is None:
            raise ParameterError(
                "convert()", "model", f"its forward fixes the batch size to {batch} (torch.export cannot give it a "
                "dynamic batch), so it cannot run the calibration batches.",
                "write batch-dependent shapes from the input (x.shape[0], or -1 in view/reshape) instead of constants.")
    from .structured_model import check_convert_memory
    n_calib = len(calib) if calib is not None else len(example)
    mem = check_convert_memory(ep, n_calib, structured, max_bytes, max_terms)
    dense = ep.module()
    gm = prepare(copy.deepcopy(dense), mode, levels)
    if calib is None:
        calib = example
    calib = torch.as_tensor(np.asarray(calib)) if not isinstance(calib, torch.Tensor) else calib
    labelled = None
    if train is not None:
        xt, yt = (torch.as_tensor(np.asarray(a)) for a in train)
        labelled = (xt.float() if xt.is_floating_point() else xt, yt.long())
    grids = (ACCUMULATE_GRIDS if mode == "accumulate" else (1,)) if finetune_steps == "auto" else finetune_steps
    try:
        grids = tuple(int(t) for t in grids)
    except (TypeError, ValueError):
        grids = ()
    if not grids or any(t < 1 for t in grids):
        raise ParameterError("convert()", "finetune_steps", f"is {finetune_steps!r}; must be 'auto' or a non-empty "
                             "sequence of ints >= 1 (the steps T on whose grids the fine-tune trains).")
    cached = converted_cache_path(cache_key, mode, levels, epochs, lr, seed, grids) if cache_key else None
    if cached is not None and cached.is_file():
        gm.load_state_dict(torch.load(cached, weights_only=True))
    else:
        calibrate(gm, calib.float() if calib.is_floating_point() else calib, mode)
        if mode != "rate" and labelled is not None and epochs > 0:
            finetune(gm, *labelled, epochs=epochs, lr=lr, seed=seed, grids=grids)
        if cached is not None:
            save_state(gm.state_dict(), cached)
    gm.eval()
    if signal_check and mode != "rate":   # rate mode's one-level quantised ANN is not what its many steps compute
        check_signal(gm, dense, calib.float() if calib.is_floating_point() else calib, train=labelled)
    pruned = None
    if prune:
        from .sparsify import apply_sparsification
        pruned = apply_sparsification(gm, prune, calib, train=train if mode != "rate" else None, seed=seed,
                                      grids=grids)
    gm64 = copy.deepcopy(gm).double()
    if grid is not None:
        round_to_grid(gm64, grid)
    one = example[:1].double() if example.is_floating_point() else example[:1]
    ep1 = torch.export.export(gm64, (one,))
    kind = input_kind or ("count" if example.is_floating_point() and bool(
        torch.all(torch.as_tensor(np.asarray(calib, np.float64)) / input_scale % 1 == 0)) else "graded")
    from .quantiser import QuantModule
    attention_modules = {n for n, m in gm.named_modules() if isinstance(m, QuantModule)
                         and m.role in ("relu_attention", "softmax")}
    if structured:
        del ep, gm                 # memory: only the float64 model and its export are walked
        if not keep_torch:
            dense = None
        from .structured_model import StructuredModel
        from .structured_walk import walk as structured_walk
        from .structured_program import StructuredProgram
        sprog = StructuredProgram(name, max_terms=max_terms)
        ctx = cap.Context(sprog, ep1.module(), mode)
        ctx.attention_modules = attention_modules
        mod1 = ep1.module()
        del ep1
        out = structured_walk(mod1, one, sprog, ctx, input_kind=kind, input_scale=input_scale)
        del mod1, ctx
        sprog.finish(out)
        meta = {"steps": int(steps), "input_kind": kind, "name": name, "max_terms": max_terms,
                "memory_estimate": {k: int(v) for k, v in mem.items()},
                "relays": [list(r) for r in sprog.relays]}
        return StructuredModel(sprog.circuit, sprog.inputs, sprog.output, levels, meta, sprog.quant_views,
                               sprog.attention, quantised=gm64 if keep_torch else None, dense=dense)
    program = Program(name)
    ctx = cap.Context(program, ep1.module(), mode)
    ctx.attention_modules = attention_modules
    out = cap.walk(ep1.module(), one, program, ctx, input_kind=kind, input_scale=input_scale)
    program.finish(out)
    meta = {"steps": steps, "input_kind": kind, "example": one, "pruned": pruned, "quantise": quantise}
    if quantise == "loihi8":
        from .loihi import quantise_loihi8
        fm = meta["float_model"] = SpikingModel(program, mode, levels, quantised=gm64, dense=dense, meta=dict(meta))
        means = None
        if bias_correction:
            from .loihi import mean_outputs
            means = mean_outputs(fm, np.asarray(calib)[:256])
        program = quantise_loihi8(program, threshold=loihi_threshold, calib_means=means)
    return SpikingModel(program, mode, 1 if mode == "rate" else levels,
                        quantised=None if mode == "rate" else gm64, dense=dense, meta=meta)


def round_to_grid(gm, bits: int) -> None:
    """Round every floating parameter and buffer of ``gm`` (float64) to multiples of
    ``2**-bits``; a quantiser threshold ``vth`` is set so that the graph's ``|vth| + 1e-8``
    is exactly such a multiple (at least ``2**-bits``)."""
    import math

    import torch

    from .quantiser import QuantModule
    q = float(2 ** bits)
    vths = set()
    with torch.no_grad():
        for m in gm.modules():
            if isinstance(m, QuantModule):
                d = max(round(abs(float(m.vth)) * q) / q, 1.0 / q)
                p = d - 1e-8
                while p + 1e-8 != d:
                    p = math.nextafter(p, d if p + 1e-8 < d else -math.inf)
                m.vth.fill_(p)
                vths.add(id(m.vth))
        for t in list(gm.parameters()) + list(gm.buffers()):
            if id(t) not in vths and t.is_floating_point():
                t.copy_(torch.round(t * q) / q)
