# make demo: set up .venv and run the main job.  make test: set up and run the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2
# System libraries for MetaSign3D's headless OpenGL (Debian/Ubuntu names; README lists others).
GL_PACKAGES ?= libgl1 libglu1-mesa libegl1 libfreetype6
# Headless Chromium for tests/test_compare.py (it opens the report page of evaluation.compare).
BROWSER_PACKAGES ?= chromium

.PHONY: setup system-packages test demo bench clean

setup: system-packages $(STAMP)

# Installs the missing GL_PACKAGES and BROWSER_PACKAGES with apt-get when run as root on
# Debian/Ubuntu; otherwise says what to install and goes on (only MetaSign3D needs the GL
# packages, only the report page's browser test needs Chromium: it skips without it).
system-packages:
	@if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "make: no apt-get here: install OpenGL, GLU, EGL and FreeType yourself for MetaSign3D (see README)," \
	    "and Chromium for tests/test_compare.py"; \
	else \
	  missing=""; \
	  for p in $(GL_PACKAGES) $(BROWSER_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	  done; \
	  if [ -z "$$missing" ]; then \
	    true; \
	  elif [ "$$(id -u)" = 0 ]; then \
	    echo "make: installing$$missing (headless OpenGL for MetaSign3D, Chromium for the report page test)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "make: MetaSign3D / the report page test need$$missing; skipping (not root):" \
	      "sudo apt-get install -y --no-install-recommends$$missing"; \
	  fi; \
	fi

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[all]"
	touch $(STAMP)

# Lint, then the whole suite (tests/test_wheel.py builds the wheel and scores from a throw-away venv).
# worksteal: a few tests take minutes, so an idle worker takes the tests still queued on the other.
test: setup
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal -q

# DREAM on every env with a shipped checkpoint (baselines.dream.ENV_IDS); MetaSign3D's 3D
# trials cost ~100x a grid's, so it plays 50 per seed instead of 100.
demo: setup
	$(BIN)/python -m evaluation.score --agent baselines.dream --record 1 --env-trials MetaSign3D-v0 50 --out demo_output

bench: setup
	$(BIN)/python benchmarks/env_throughput.py

clean:
	rm -rf $(VENV) demo_output results report runs .pytest_cache .hypothesis
