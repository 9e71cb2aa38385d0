"""Matplotlib figures (PNG).  matplotlib is imported lazily (extra ``viz``)."""
