"""Converters, one module per op family; they register in :data:`spikeattn.convert.registry.OPS`,
which imports the modules listed in :data:`~spikeattn.convert.registry.BUILTIN` on its first lookup."""
