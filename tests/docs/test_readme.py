"""Every code block of the README runs: Python blocks as scripts, shell blocks line by line
(in order, in one scratch folder, so a later command can read an earlier one's output).

Skipped, with the reason printed: ``make``/``pip``/``git`` lines (they build the venvs this
test runs in), ``--engine lava`` lines when no Lava venv exists, and blocks without a
language tag (diagrams).  A line ending in ``&`` is started in the background and stopped
at the end.  ``SPIKEATTN_README`` points the test at another file (e.g. a draft)."""
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = Path(os.environ.get("SPIKEATTN_README", REPO / "README.md"))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SKIP_PREFIXES = ("make ", "make\n", "pip ", "git ", "cd ")
LAVA = (REPO / ".venv-lava" / "bin" / "python").is_file() or bool(os.environ.get("SPIKEATTN_LAVA_PYTHON"))


def blocks():
    return [(lang, body) for lang, body in FENCE.findall(README.read_text())]


def _env():
    return dict(os.environ, MPLBACKEND="Agg", PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def test_readme_has_a_python_example_and_cli_blocks():
    langs = [lang for lang, _ in blocks()]
    assert "python" in langs and "bash" in langs


@pytest.mark.slow
def test_python_blocks_run(tmp_path):
    py = [b for lang, b in blocks() if lang == "python"]
    assert py
    for i, code in enumerate(py):
        script = tmp_path / f"block{i}.py"
        script.write_text(code)
        r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                           env=_env())
        assert r.returncode == 0, f"README python block {i}:\n{code}\n{r.stderr[-3000:]}"


def shell_lines():
    for lang, body in blocks():
        if lang not in ("bash", "sh", "console", "shell"):
            continue
        joined = body.replace("\\\n", " ")
        for line in joined.splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line and not line.startswith("#"):
                yield line


@pytest.mark.slow
def test_shell_blocks_run(tmp_path):
    background, skipped, ran = [], [], 0
    try:
        for line in shell_lines():
            if line.startswith(SKIP_PREFIXES) or ("--engine lava" in line and not LAVA):
                skipped.append(line)
                continue
            if line.endswith("&"):
                background.append(subprocess.Popen(shlex.split(line[:-1]), cwd=tmp_path, env=_env(),
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                   start_new_session=True))
                continue
            r = subprocess.run(["bash", "-c", line], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                               env=_env())
            assert r.returncode == 0, f"README line failed: {line}\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}"
            ran += 1
    finally:
        for p in background:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=30)
    print(f"ran {ran} README commands; skipped (they build venvs, or need Lava): {skipped}")
    assert ran > 0
