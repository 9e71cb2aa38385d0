"""One module per chip; each defines ``MODEL`` (a :class:`hardware_models.model.HardwareModel`)."""
CHIP_MODULES = ("loihi", "loihi2", "truenorth", "spinnaker1", "spinnaker2", "asic45nm", "a100", "h100",
                "jetson_orin", "cpu", "literature", "eyeriss")
