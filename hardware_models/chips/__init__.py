"""One module per chip; each defines ``MODEL`` (a :class:`hardware_models.model.HardwareModel`) and
registers it (``hardware_models.registry.register(MODEL)``).  :data:`CHIP_MODULES` is the one list
of built-in chips, in the order ``hardware_models.names()`` lists them: a new chip is its module,
one name here and its test."""
CHIP_MODULES = ("loihi", "loihi2", "truenorth", "spinnaker1", "spinnaker2", "asic45nm", "a100", "h100",
                "jetson_orin", "cpu", "literature", "eyeriss")
