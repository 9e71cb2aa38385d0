"""Matplotlib figures (PNG, written atomically).  matplotlib is imported lazily (extra ``viz``)."""
from .attention import plot_attention_flow, plot_attention_heatmaps, plot_scaling
from .counts import counts_bar
from .raster import raster

__all__ = ["raster", "counts_bar", "plot_attention_heatmaps", "plot_attention_flow", "plot_scaling"]
