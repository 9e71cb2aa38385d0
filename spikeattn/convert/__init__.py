"""Mapping layer: convert trained dense PyTorch attention models into spiking circuits.

``convert(model, example, mode="exact" | "accumulate" | "rate", steps=T, calib=X)`` returns
a :class:`SpikingModel` (``.circuit``, ``.predict``, ``.fidelity``); with ``structured=True``
(accumulate mode) a :class:`~.structured_model.StructuredModel`.  ``run(model, x, steps,
engine)`` runs either without storing results on it; ``save_model`` / ``load_model`` write and
read a structured model as a file without pickle.  torch is imported
lazily: importing this package does not import torch.  Converters are registered per ATen
op (:func:`register_op`); see :mod:`spikeattn.convert.registry`.
"""
from __future__ import annotations

from .registry import ConversionError, UnsupportedOpError, register_op, register_pattern, supported_ops


def convert(*args, **kwargs):
    from .api import convert as _convert
    return _convert(*args, **kwargs)


def run(*args, **kwargs):
    """:func:`spikeattn.convert.structured_model.run`: logits, counts and per-segment results of
    a converted model (structured or flat), nothing stored on the model."""
    from .structured_model import run as _run
    return _run(*args, **kwargs)


def save_model(*args, **kwargs):
    """:func:`spikeattn.convert.structured_model.save_model` (a structured converted model, no pickle)."""
    from .structured_model import save_model as _save
    return _save(*args, **kwargs)


def load_model(*args, **kwargs):
    """:func:`spikeattn.convert.structured_model.load_model`."""
    from .structured_model import load_model as _load
    return _load(*args, **kwargs)


__all__ = ["convert", "run", "save_model", "load_model", "register_op", "register_pattern", "supported_ops",
           "UnsupportedOpError", "ConversionError"]
