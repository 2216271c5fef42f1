# vidsynth-lite: the two set-up commands are `make book` and `make test`; both create .venv/ when missing.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NOTEBOOK_SOURCES := $(sort $(wildcard notebooks/[0-9]*.py))
NOTEBOOKS := $(NOTEBOOK_SOURCES:.py=.ipynb)
TEST_TMP := $(CURDIR)/_build/test-tmp
# pip's configuration on our machines lists local indexes that may be absent; their warnings are noise.
PIP_QUIET := 2> >(grep -v "is neither a file nor a directory" >&2)

.PHONY: help env notebooks system-deps lint test test-unit book bench assignment check-notebooks clean

help:
	@echo "make book        create .venv if missing, execute every chapter at 'lite', render _build/html"
	@echo "make test        create .venv if missing, run unit tests + every notebook at 'smoke' + papermill smoke"
	@echo "make notebooks   generate notebooks/*.ipynb from their jupytext sources"
	@echo "make bench       run the benchmark scripts (benchmarks/)"
	@echo "make assignments  nbgrader student versions of every chapter (assignments/: source/ and release/)"
	@echo "make book-student the student site from those versions (_build/student/_build/html), checked for solutions"

env: $(STAMP)

# The environment: created when missing, refreshed when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(PY) || { echo ">> creating $(VENV) (Python: $$($(PYTHON) --version))"; $(PYTHON) -m venv $(VENV); }
	@echo ">> installing vidsynth_lite[dev] into $(VENV) (torch + CUDA wheels: several GB the first time)"
	$(PY) -m pip install --quiet --upgrade pip $(PIP_QUIET)
	$(PY) -m pip install --quiet -e '.[dev]' $(PIP_QUIET)
	$(PY) -c "import torch, torchvision, av; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'av', av.__version__)"
	@touch $@

# Generated notebooks (never committed): regenerated whenever their source is newer.
notebooks/%.ipynb: notebooks/%.py | $(STAMP)
	$(VENV)/bin/jupytext --quiet --to ipynb --output $@ $<

notebooks: $(NOTEBOOKS)

# Real video clips for the loader tests (Debian's opencv-doc). Required in CI, optional elsewhere.
system-deps:
	@if [ -d /usr/share/doc/opencv-doc/examples/data ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo ">> installing Debian's opencv-doc (real video clips for the loader tests)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq opencv-doc >/dev/null; } \
	    || { echo "!! could not install opencv-doc"; [ "$${CI:-}" != "true" ]; }; \
	else echo "!! opencv-doc absent and not installable here: real-clip tests will be skipped"; \
	  [ "$${CI:-}" != "true" ]; fi

-include make/*.mk
WEIGHTS_TARGETS := weights

check-notebooks: $(NOTEBOOKS)
	$(PY) -m vidsynth_lite.booktools.notebook_sync $(NOTEBOOK_SOURCES)

# Lint (ruff, version pinned in pyproject.toml): part of `make test`.
lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Everything, in one pytest run: lint, unit tests, each notebook at smoke (nbval, lax), papermill smoke.
test: $(STAMP) $(NOTEBOOKS) system-deps $(WEIGHTS_TARGETS) lint
	@rm -rf $(TEST_TMP) && mkdir -p $(TEST_TMP)
	@start=$$(date +%s); \
	VIDSYNTH_PROFILE=smoke VIDSYNTH_THREADS=1 VIDSYNTH_RESULTS=$(TEST_TMP)/results VIDSYNTH_RUNS=$(TEST_TMP)/runs \
	  $(VENV)/bin/pytest tests $(NOTEBOOKS) --nbval-lax --nbval-cell-timeout=600 -p no:cacheprovider \
	  --durations=15 -q; \
	echo ">> make test: $$(( $$(date +%s) - start )) s of tests"

test-unit: $(STAMP)
	$(VENV)/bin/pytest tests -q -p no:cacheprovider

# The book: execute every chapter at 'lite' (cached; the cache is dropped whenever the package, the configs or
# a notebook source change) and render _build/html. Any failing cell fails the build.
book: $(STAMP) $(NOTEBOOKS) $(WEIGHTS_TARGETS) _static/vendor/embed-amd.js
	@mkdir -p _build
	@hash=$$(cat pyproject.toml $$(find vidsynth_lite configs notebooks -type f \( -name '*.py' -o -name '*.yaml' \) | sort) \
	  | sha256sum | cut -c1-16); \
	if [ "$$(cat _build/.package-hash 2>/dev/null)" != "$$hash" ]; then \
	  echo ">> package, configs or a chapter changed ($$hash): every chapter is executed again"; \
	  rm -rf _build/.jupyter_cache _build/.doctrees _build/html _build/jupyter_execute; fi; \
	echo "$$hash" > _build/.package-hash
	@start=$$(date +%s); \
	env -u VIDSYNTH_PROFILE -u MPLBACKEND $(VENV)/bin/jupyter-book build . --warningiserror --keep-going; \
	echo ">> make book: $$(( $$(date +%s) - start )) s to execute and render"
	$(PY) -m vidsynth_lite.booktools.check_book _build/html

# Offline widgets: vendor the widget manager and require.js from npm (myst-nb loads them from a CDN otherwise).
_static/vendor/embed-amd.js:
	@mkdir -p _static/vendor && tmp=$$(mktemp -d) && cd $$tmp && \
	{ npm pack --silent @jupyter-widgets/html-manager@1 requirejs@2 >/dev/null 2>&1 && \
	  for t in *.tgz; do tar xzf $$t; mv package $${t%.tgz}; done && \
	  cp jupyter-widgets-html-manager-*/dist/embed-amd.js $(CURDIR)/_static/vendor/ && \
	  cp requirejs-*/require.js $(CURDIR)/_static/vendor/ ; } \
	|| { echo "!! npm could not fetch the widget manager: widgets will render static-only"; \
	     echo "// widget manager unavailable at build time" > $(CURDIR)/_static/vendor/embed-amd.js; \
	     echo "// require.js unavailable at build time" > $(CURDIR)/_static/vendor/require.js; }; rm -rf $$tmp

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo ">> $$b"; $(PY) $$b; done

# Classroom. `assignments/` is an nbgrader course directory: source/<chapter>/ holds the teacher's version (the
# solutions inside nbgrader's solution regions), release/<chapter>/ the students' version that
# `nbgrader generate_assignment` makes from it. The student site is built from the released versions without
# executing them, then every file of it is searched for solution lines. `make assignment CHAPTER=...` does one.
.PHONY: assignments book-student
assignment: $(STAMP)
	@test -n "$(CHAPTER)" || { echo "usage: make assignment CHAPTER=00_running_the_book"; exit 2; }
	$(PY) -m vidsynth_lite.booktools.assignment --course assignments notebooks/$(CHAPTER).py

assignments: $(STAMP)
	@start=$$(date +%s); $(PY) -m vidsynth_lite.booktools.assignment --course assignments; \
	echo ">> make assignments: $$(( $$(date +%s) - start )) s"

book-student: assignments
	@start=$$(date +%s); $(PY) -m vidsynth_lite.booktools.student_site --course assignments --out _build/student; \
	echo ">> make book-student: $$(( $$(date +%s) - start )) s"

clean:
	rm -rf _build results runs notebooks/*.ipynb assignments
