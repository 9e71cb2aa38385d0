"""Notebooks are committed with cleared outputs and run top to bottom in a real Jupyter
kernel from this venv (nbclient + ipykernel, both in the ``dev`` extra), Nengo / Lava
style; each draws at least one figure."""
import json
import os
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
EXPECTED = {"quickstart", "attention_circuits", "energy_vs_gpu", "loihi_via_lava", "sweep_on_dask", "convert_your_model"}


def test_there_are_notebooks():
    assert EXPECTED <= {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_outputs_are_cleared(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, \
                f"{path.name}: clear the outputs before committing"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_in_a_kernel(path, tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="the dev extra (nbformat) is not installed")
    nbclient = pytest.importorskip("nbclient", reason="the dev extra (nbclient) is not installed")
    pytest.importorskip("ipykernel", reason="the dev extra (ipykernel) is not installed: no Jupyter kernel")
    if path.stem == "sweep_on_dask":
        pytest.importorskip("distributed", reason="the sweep extra (dask[distributed]) is not installed")
    nb = nbformat.read(str(path), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.prefix)"))     # which interpreter ran it
    os.environ.setdefault("MPLBACKEND", "Agg")
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert list(tmp_path.glob("*.png")), "the notebook should draw its figure"
    # the kernel ran this venv's interpreter (the project's .venv when run from it)
    assert nb.cells[-1].outputs[0]["text"].strip() == sys.prefix
