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

.PHONY: help env notebooks system-deps lint site-smoke test test-unit book lab bench assignment check-notebooks clean

help:
	@echo "make book        create .venv if missing, execute every chapter at 'lite', render _build/html"
	@echo "make test        create .venv if missing, run unit tests + every notebook at 'smoke' + papermill smoke"
	@echo "make notebooks   generate notebooks/*.ipynb from their jupytext sources"
	@echo "make lab         JupyterLab on the chapters (a chapter source opens as a paired notebook)"
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

# Debian packages the tests need: real video clips for the loader tests (opencv-doc) and a browser for the site
# tests and `make book`'s screenshots (chromium + chromium-driver). Installed when run as root; required in CI,
# optional elsewhere.
SYSTEM_PACKAGES := opencv-doc chromium chromium-driver
system-deps:
	@missing=""; [ -d /usr/share/doc/opencv-doc/examples/data ] || missing="opencv-doc"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo ">> installing Debian's$$missing (real test clips, the browser for the site tests)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } \
	    || { echo "!! could not install$$missing"; [ "$${CI:-}" != "true" ]; }; \
	else echo "!!$$missing absent and not installable here: the tests that need them will be skipped"; \
	  [ "$${CI:-}" != "true" ]; fi

-include make/*.mk
WEIGHTS_TARGETS := weights

check-notebooks: $(NOTEBOOKS)
	$(PY) -m vidsynth_lite.booktools.notebook_sync $(NOTEBOOK_SOURCES)

# Lint (ruff, version pinned in pyproject.toml): part of `make test`.
lint: $(STAMP)
	$(VENV)/bin/ruff check .

# (defined before the rules that depend on them: make expands prerequisites as it reads them)
VENDOR := _vendor
VENDORED := $(VENDOR)/embed-amd.js $(VENDOR)/require.js $(VENDOR)/mathjax/tex-mml-chtml.js

# The site built from the smoke execution, for the browser tests (its own config and execution cache, so that it
# never mixes with the lite book's).
SMOKE_SITE := _build/smoke-site
site-smoke: $(STAMP) $(NOTEBOOKS) $(VENDORED) $(WEIGHTS_TARGETS)
	@rm -rf $(SMOKE_SITE) && mkdir -p $(SMOKE_SITE)
	$(PY) -m vidsynth_lite.booktools.book_config smoke _config.yml $(SMOKE_SITE)/_config.yml
	@start=$$(date +%s); \
	VIDSYNTH_PROFILE=smoke VIDSYNTH_THREADS=1 VIDSYNTH_RESULTS=$(CURDIR)/$(SMOKE_SITE)/results \
	  VIDSYNTH_RUNS=$(CURDIR)/$(SMOKE_SITE)/runs env -u MPLBACKEND \
	  $(VENV)/bin/jupyter-book build . --config $(SMOKE_SITE)/_config.yml --path-output $(SMOKE_SITE) \
	  --warningiserror --keep-going --quiet > $(SMOKE_SITE)/build.log 2>&1 \
	  || { tail -40 $(SMOKE_SITE)/build.log; exit 1; }; \
	echo ">> smoke site built in $$(( $$(date +%s) - start )) s: $(SMOKE_SITE)/_build/html"

# Everything, in one pytest run: lint, unit tests, each notebook at smoke (nbval, lax), papermill smoke, and the
# smoke site in a real browser.
test: $(STAMP) $(NOTEBOOKS) system-deps $(WEIGHTS_TARGETS) lint site-smoke
	@rm -rf $(TEST_TMP) && mkdir -p $(TEST_TMP)
	@start=$$(date +%s); \
	VIDSYNTH_PROFILE=smoke VIDSYNTH_THREADS=1 VIDSYNTH_RESULTS=$(TEST_TMP)/results VIDSYNTH_RUNS=$(TEST_TMP)/runs \
	  VIDSYNTH_SITE=$(CURDIR)/$(SMOKE_SITE)/_build/html \
	  $(VENV)/bin/pytest tests $(NOTEBOOKS) --nbval-lax --nbval-cell-timeout=600 -p no:cacheprovider \
	  --durations=15 -q; \
	echo ">> make test: $$(( $$(date +%s) - start )) s of tests"

test-unit: $(STAMP)
	$(VENV)/bin/pytest tests -q -p no:cacheprovider

# The book: execute every chapter at 'lite' and render _build/html. Any failing cell fails the build. The
# execution cache keys each notebook on its own code cells, so a changed chapter runs again alone; it cannot see
# what a chapter imports, so the whole cache is dropped when the package or the configs change. The build tools
# (vidsynth_lite/booktools: checks, the teacher and student pages) are no chapter's code: they keep the cache.
BOOK_BUILD = env -u VIDSYNTH_PROFILE -u MPLBACKEND $(VENV)/bin/jupyter-book build . --warningiserror --keep-going
book: $(STAMP) $(NOTEBOOKS) system-deps $(WEIGHTS_TARGETS) $(VENDORED)
	@mkdir -p _build
	@hash=$$(cat pyproject.toml $$(find vidsynth_lite configs -path vidsynth_lite/booktools -prune \
	  -o -type f \( -name '*.py' -o -name '*.yaml' \) -print | sort) \
	  | sha256sum | cut -c1-16); \
	if [ "$$(cat _build/.package-hash 2>/dev/null)" != "$$hash" ]; then \
	  echo ">> the package or the configs changed ($$hash): every chapter is executed again"; \
	  rm -rf _build/.jupyter_cache _build/.doctrees _build/html _build/jupyter_execute; fi; \
	echo "$$hash" > _build/.package-hash
	@start=$$(date +%s); \
	$(BOOK_BUILD); \
	echo ">> make book: $$(( $$(date +%s) - start )) s to execute and render"
	@# Two pages are built from the chapters' results files: the teacher page, which Sphinx reads (and myst-nb
	@# executes) before the chapters (pages go in sorted order), and the Reproduction page, which a cached build
	@# would not read again after one chapter ran anew. Read both again now (their metadata forces execution;
	@# every chapter comes from the cache, so this costs seconds).
	@touch book/teacher.md notebooks/90_reproduction.ipynb; \
	$(BOOK_BUILD) --quiet
	$(PY) -m vidsynth_lite.booktools.check_book _build/html
	$(PY) -m vidsynth_lite.booktools.site_check _build/html --screenshots _build/screenshots

# Offline site: vendor the widget manager (+ its icon fonts), require.js and MathJax from npm into _vendor/ (served
# as _static/). myst-nb and Sphinx load them from public CDNs otherwise, and an offline reader (or one behind a
# firewall) sees blank widgets and raw TeX.

$(VENDORED) &:
	@rm -rf $(VENDOR).tmp && mkdir -p $(VENDOR).tmp && tmp=$$(mktemp -d) && cd $$tmp && \
	npm pack --silent @jupyter-widgets/html-manager@1 requirejs@2 mathjax@3.2.2 >/dev/null && \
	for t in *.tgz; do tar xzf $$t; mv package $${t%.tgz}; done && \
	out=$(CURDIR)/$(VENDOR).tmp && fonts=$$out/@jupyter-widgets/html-manager/dist && mkdir -p $$fonts && \
	cp jupyter-widgets-html-manager-*/dist/embed-amd.js requirejs-*/require.js $$out/ && \
	cp jupyter-widgets-html-manager-*/dist/*.woff* jupyter-widgets-html-manager-*/dist/*.ttf \
	   jupyter-widgets-html-manager-*/dist/*.eot jupyter-widgets-html-manager-*/dist/*.svg $$fonts/ && \
	cp $$fonts/* $$out/@jupyter-widgets/ && \
	mkdir -p $$out/mathjax && cp -r mathjax-*/es5/tex-mml-chtml.js mathjax-*/es5/input mathjax-*/es5/output \
	   mathjax-*/es5/ui mathjax-*/es5/a11y mathjax-*/es5/sre $$out/mathjax/ && \
	cd $(CURDIR) && rm -rf $$tmp $(VENDOR) && mv $(VENDOR).tmp $(VENDOR) && \
	echo ">> vendored the widget manager, require.js and MathJax 3.2.2 into $(VENDOR)/"

# JupyterLab on the chapters: jupytext pairs each notebooks/NN_*.py with its .ipynb (jupytext.toml), and a
# double click on a chapter source opens it as a notebook; saving writes both files.
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings
lab: $(STAMP) $(NOTEBOOKS)
	@mkdir -p $(LAB_SETTINGS)
	@echo '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}}}' \
	  > $(LAB_SETTINGS)/overrides.json
	$(VENV)/bin/jupyter lab --notebook-dir=$(CURDIR) --ServerApp.ip=127.0.0.1 notebooks/

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
