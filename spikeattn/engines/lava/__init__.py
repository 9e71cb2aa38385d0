"""The Lava engine (lava-nc 0.10, Python 3.10 venv ``.venv-lava``); see ``engine.py``."""
