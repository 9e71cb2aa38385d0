"""Shared fixtures.  Tests are collected with --import-mode=importlib (lava-nc ships a
top-level package named ``tests``; ours must never be imported under that name)."""
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
LAVA_PYTHON = REPO / ".venv-lava" / "bin" / "python"


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def repo_root():
    return REPO
