"""Built-in models, data sets and directly trained spiking models: what the converter
(:mod:`spikeattn.convert`) is shown on, not the converter itself.

* :mod:`.zoo`: the in-repo trained attention models (``digits-vit``, ``recall-transformer``,
  ``mnist1d-attention``): ``build``, ``train``, ``load_model`` (trained and cached on first use);
* :mod:`.data`: the built-in data sets (``digits``, ``recall``, ``mnist1d``) and the ``.npz``
  loader, ``load_data``;
* :mod:`.direct`: spiking attention classifiers trained directly with snnTorch
  (``train_direct``), built from the modules of :mod:`.snntorch_layers` (SDSA) and
  :mod:`.snntorch_ssa` (SSA), each with ``to_circuit()``;
* :mod:`.targets`: ``python -m spikeattn.models.targets`` prints the conversion targets of
  the built-in models.

Weights are cached by :mod:`spikeattn.convert.cache`.  torch is imported lazily: importing
this package imports neither torch nor any of its modules.
"""
