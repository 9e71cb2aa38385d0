# Two entry points (see README): `make demo` and `make test`. Both build what they need.
SHELL := /bin/bash
PY311 ?= $(shell command -v python3.11 2>/dev/null || ls -d $$HOME/.pyenv/versions/3.11*/bin/python3.11 2>/dev/null | tail -n1)
PY310 ?= $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10; do \
	  "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV := .venv
VENV_LAVA := .venv-lava
PIP_FLAGS := -q --disable-pip-version-check

.PHONY: demo test test-main test-lava bench bench-quick clean venv venv-lava browser fuzz

# The default scenario (energy-vs-gpu): under 2 min on a warm cache; on a cold one it says that it trains first.
demo: $(VENV)/.done $(VENV)/.numba-warm
	$(VENV)/bin/spikeattn run

test: $(VENV)/.done $(VENV)/.numba-warm $(VENV_LAVA)/.done browser
	$(VENV)/bin/python -m pytest tests --ignore=tests/lava_native -p no:cacheprovider
	@if [ -f $(VENV_LAVA)/.done ]; then \
	  echo "== Python 3.10 venv (lava-nc 0.10, numpy 1.26, networkx 2.8): core, conformance (numpy, Lava) + Lava tests"; \
	  $(VENV_LAVA)/bin/python -m pytest tests/core tests/conformance tests/lava_native -p no:cacheprovider; \
	else echo "SKIPPED: Lava tests: no Python 3.10 found to build $(VENV_LAVA) (set PY310=/path/to/python3.10)"; fi

# Property-based fuzzing of every entry point: >= 10,000 generated cases, table by family and outcome.
fuzz: $(VENV)/.done
	SPIKEATTN_FUZZ_PROFILE=full $(VENV)/bin/python tests/fuzz/run_fuzz.py

# Every peer in one run (about 15-25 min on 2 cores); bench-quick: a smoke version (a few minutes).
bench: $(VENV)/.done $(VENV)/.numba-warm $(VENV_LAVA)/.done
	$(VENV)/bin/python benchmarks/run_all.py

bench-quick: $(VENV)/.done $(VENV)/.numba-warm $(VENV_LAVA)/.done
	$(VENV)/bin/python benchmarks/run_all.py --quick

# The report.html test drives the system Chromium (Debian's packages; selenium is in the browser extra).
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium and chromium-driver (apt)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null \
	      || echo "could not install chromium: the browser test will say it is skipped"; \
	  else echo "chromium/chromedriver missing and not root: the browser test will say it is skipped"; fi; fi

venv: $(VENV)/.done
venv-lava: $(VENV_LAVA)/.done

# Main venv, Python 3.11: torch first (the CPU wheel), then the project with every extra.
$(VENV)/.done: pyproject.toml
	@test -n "$(PY311)" || { echo "Python 3.11 not found: install it or set PY311=/path/to/python3.11"; exit 2; }
	$(PY311) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) torch==2.13.0
	$(VENV)/bin/pip install $(PIP_FLAGS) 'numpy>=2,<2.4' snntorch==1.0.0 brian2==2.9.0 'networkx>=3' sanafe==2.2.9
	$(VENV)/bin/pip install $(PIP_FLAGS) -e '.[all,dev]'
	$(VENV)/bin/pip install $(PIP_FLAGS) --no-deps neurobench==2.3.0
	touch $@

# The compiled engine's loop, compiled once into numba's on-disk cache (1-2 min on 2 cores, once;
# again after an edit of the engine), so that a first simulation loads it instead of compiling.
$(VENV)/.numba-warm: $(VENV)/.done $(wildcard spikeattn/engines/compiled/*.py)
	$(VENV)/bin/python -m spikeattn.engines.compiled.warm
	touch $@

# Lava venv, Python 3.10 (lava-nc 0.10 does not import on 3.11): the core without torch.
$(VENV_LAVA)/.done: pyproject.toml
	@if [ -z "$(PY310)" ]; then echo "Python 3.10 not found: the Lava tests will be skipped (set PY310=...)"; \
	  mkdir -p $(VENV_LAVA); else \
	  $(PY310) -m venv $(VENV_LAVA) && \
	  $(VENV_LAVA)/bin/pip install $(PIP_FLAGS) lava-nc==0.10.0 'numpy<2' --only-binary=:all: && \
	  $(VENV_LAVA)/bin/pip install $(PIP_FLAGS) -e '.[dev,fast,nir]' 'numpy<2' && touch $@; fi

clean:
	rm -rf $(VENV) $(VENV_LAVA) build *.egg-info
