"""Lava processes spikeattn adds on top of lava-nc 0.10 (imported only inside .venv-lava).

Lava finds the ProcessModels of a process by scanning the modules next to the process's
module, so this subpackage holds nothing but ``process.py`` (descriptions) and
``models.py`` (implementations), with absolute imports.
"""
