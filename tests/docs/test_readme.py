"""Every code block of the README and of every page in ``docs/`` runs, page by page: Python
blocks as scripts, shell blocks line by line (in order, in one scratch folder per page, so a
later command can read an earlier one's output on the same page).

Skipped, with the reason printed: ``make``/``pip``/``git``/``cd`` lines (they build the venvs
this test runs in), ``--engine lava`` lines when no Lava venv exists, and blocks whose tag is
not ``python`` or a shell (``bash``, ``sh``, ``console``, ``shell``): diagrams, ``text``
output, ``toml``.  A line ending in ``&`` is started in the background and stopped at the end
of its page.  ``SPIKEATTN_README`` points the test at another README (e.g. a draft); the
pages are every ``docs/*.md``."""
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
DOCS = REPO / "docs"
PAGES = [README] + sorted(DOCS.glob("*.md"))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SHELLS = ("bash", "sh", "console", "shell")
SKIP_PREFIXES = ("make ", "make\n", "pip ", "git ", "cd ")
LAVA = (REPO / ".venv-lava" / "bin" / "python").is_file() or bool(os.environ.get("SPIKEATTN_LAVA_PYTHON"))
LINK = re.compile(r"\]\(([^)\s]+)\)")
README_MAX_LINES = 150


def _name(page: Path) -> str:
    try:
        return str(page.resolve().relative_to(REPO))
    except ValueError:
        return str(page)


def blocks(page: Path = README):
    return [(lang, body) for lang, body in FENCE.findall(page.read_text())]


def python_blocks(page: Path) -> list[str]:
    return [b for lang, b in blocks(page) if lang == "python"]


def shell_lines(page: Path = README):
    for lang, body in blocks(page):
        if lang not in SHELLS:
            continue
        joined = body.replace("\\\n", " ")
        for line in joined.splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line and not line.startswith("#"):
                yield line


def _skipped(line: str) -> bool:
    return line.startswith(SKIP_PREFIXES) or ("--engine lava" in line and not LAVA)


def _env():
    return dict(os.environ, MPLBACKEND="Agg", PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


PY_PAGES = [p for p in PAGES if python_blocks(p)]
SH_PAGES = [p for p in PAGES if list(shell_lines(p))]


def test_readme_has_a_python_example_and_cli_blocks():
    langs = [lang for lang, _ in blocks(README)]
    assert "python" in langs and "bash" in langs


def test_readme_is_a_front_page():
    """At most about 150 lines, and exactly two set-up commands: ``make demo`` and ``make test``."""
    text = README.read_text()
    assert len(text.splitlines()) <= README_MAX_LINES, "README.md is the front page: move reference text to docs/"
    make = [line for line in shell_lines(README) if line.startswith("make")]
    assert make == ["make demo", "make test"]


def test_docs_pages_exist_and_the_readme_links_each():
    names = {p.name for p in DOCS.glob("*.md")}
    assert {"ARCHITECTURE.md", "ir-and-dynamics.md", "engines.md", "circuits.md", "convert.md", "energy.md",
            "lava.md", "scenarios.md"} <= names
    linked = {Path(t).name for t in LINK.findall(README.read_text())}
    assert not names - linked, f"docs pages not linked from README.md: {sorted(names - linked)}"


@pytest.mark.parametrize("page", PAGES, ids=[_name(p) for p in PAGES])
def test_relative_links_resolve(page):
    broken = []
    for target in LINK.findall(page.read_text()):
        path = target.split("#")[0]
        if not path or re.match(r"^[a-z]+:", path):
            continue
        if not (page.parent / path).exists():
            broken.append(target)
    assert not broken, f"{_name(page)}: links to missing files {broken}"


def test_the_pages_hold_commands_that_run():
    assert PY_PAGES and README in PY_PAGES
    assert any(not _skipped(line) for p in SH_PAGES for line in shell_lines(p))


@pytest.mark.slow
@pytest.mark.parametrize("page", PY_PAGES, ids=[_name(p) for p in PY_PAGES])
def test_python_blocks_run(page, tmp_path):
    for i, code in enumerate(python_blocks(page)):
        script = tmp_path / f"block{i}.py"
        script.write_text(code)
        r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                           env=_env())
        assert r.returncode == 0, f"{_name(page)} python block {i}:\n{code}\n{r.stderr[-3000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("page", SH_PAGES, ids=[_name(p) for p in SH_PAGES])
def test_shell_blocks_run(page, tmp_path):
    background, skipped, ran = [], [], 0
    try:
        for line in shell_lines(page):
            if _skipped(line):
                skipped.append(line)
                continue
            if line.endswith("&"):
                background.append(subprocess.Popen(shlex.split(line[:-1]), cwd=tmp_path, env=_env(),
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                   start_new_session=True))
                continue
            r = subprocess.run(["bash", "-c", line], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                               env=_env())
            assert r.returncode == 0, f"{_name(page)} line failed: {line}\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}"
            ran += 1
    finally:
        for p in background:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=30)
    print(f"{_name(page)}: ran {ran} commands; skipped (they build venvs, or need Lava): {skipped}")
    assert ran + len(skipped) > 0
