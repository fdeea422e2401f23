# Entry points (see README and book/rerun.md): `make book`, `make test`, `make reproduce`.
#
# The environment (ENV):
#   ENV=venv    .venv with the exact pins of requirements-lock.txt, created and installed
#               on first use (needs pip and an index or a wheel cache);
#   ENV=active  the Python environment that is active now (a conda env from
#               environment.yml, a GPU box's image) used as it is: nothing is installed.
# Default: venv when .venv exists, else active when the active Python already imports
# hashlib_core and jupyter_book, else venv.
PYTHON ?= python3
VENV   := .venv
STAMP  := $(VENV)/.installed-stamp
MATHJAX_DEST := book/_mathjax/mathjax
MATHJAX := $(MATHJAX_DEST)/tex-chtml.js
MATHJAX_VERSION := 3.2.2
NPM ?= npm
SCALE  ?= cpu
DEVICE ?= cpu
# extra arguments of the runner, e.g. ARGS="--datasets nuswide --pretrained /w/resnet50.pth"
ARGS   ?=
JB_FLAGS ?= -W --keep-going

ENV ?= $(shell test -x $(VENV)/bin/python && echo venv || \
	($(PYTHON) -c "import hashlib_core, jupyter_book" >/dev/null 2>&1 && echo active || echo venv))
ifeq ($(ENV),active)
PY    := $(shell command -v $(PYTHON))
SETUP :=
else
PY    := $(VENV)/bin/python
SETUP := $(STAMP)
endif
JB := $(dir $(PY))jupyter-book

.PHONY: venv test lint book book-only reproduce smoke-book mathjax clean

$(STAMP): pyproject.toml requirements-lock.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -c requirements-lock.txt -e ".[test,fast]"
	touch $(STAMP)

venv: $(SETUP)

lint: venv
	$(PY) -m ruff check hashlib_core tests benchmarks

test: lint
	$(PY) -m pytest

# MathJax 3, served from the book itself (the build machine and the reader may be offline).
# In order: a copy already there; MATHJAX_DIR=<MathJax's es5 folder>; npm. Without any of
# them the book still builds, with a stated fallback: a loader that fetches MathJax from
# the jsDelivr CDN when the page is read (formulas render for readers who are online and
# show as TeX source otherwise); book/_mathjax/FALLBACK marks it, and the next `make`
# tries again to get a local copy.
mathjax:
	@if [ -f $(MATHJAX) ] && [ ! -f book/_mathjax/FALLBACK ]; then \
		echo "MathJax: local copy in $(MATHJAX_DEST)"; \
	elif [ -n "$(MATHJAX_DIR)" ] && [ -f "$(MATHJAX_DIR)/tex-chtml.js" ]; then \
		rm -rf $(MATHJAX_DEST) book/_mathjax/FALLBACK && mkdir -p $(MATHJAX_DEST) && \
		cp -r "$(MATHJAX_DIR)/." $(MATHJAX_DEST)/ && echo "MathJax: copied from $(MATHJAX_DIR)"; \
	elif command -v $(NPM) >/dev/null 2>&1 && rm -rf .cache/npm && mkdir -p .cache/npm && \
		$(NPM) install --silent --no-audit --no-fund --prefix .cache/npm mathjax@$(MATHJAX_VERSION); then \
		rm -rf $(MATHJAX_DEST) book/_mathjax/FALLBACK && mkdir -p $(MATHJAX_DEST) && \
		cp -r .cache/npm/node_modules/mathjax/es5/. $(MATHJAX_DEST)/ && echo "MathJax: installed with npm"; \
	else \
		mkdir -p $(MATHJAX_DEST) && touch book/_mathjax/FALLBACK && \
		printf '%s\n' "/* Fallback written by make mathjax: no local MathJax copy and no npm on the build machine. */" \
		"(function(){var s=document.createElement('script');s.async=true;" \
		"s.src='https://cdn.jsdelivr.net/npm/mathjax@$(MATHJAX_VERSION)/es5/tex-chtml.js';document.head.appendChild(s);})();" \
		> $(MATHJAX) && \
		echo "NOTE: no local MathJax and no npm: the book is built with MathJax loaded from the jsDelivr CDN" \
		     "when a page is read (formulas show as TeX source for offline readers)." \
		     "For a fully offline book: MATHJAX_DIR=/path/to/mathjax/es5 make book"; \
	fi

# The book from the committed results: the table and figure notebooks are executed on
# results/ (papermill, nothing trains), then the HTML book is built offline.
book: venv mathjax
	$(PY) -m hashlib_core.report.book --scale $(SCALE)
	$(JB) build . $(JB_FLAGS)

# The HTML book from the notebooks already in book/generated (no execution).
book-only: venv mathjax
	$(JB) build . $(JB_FLAGS)

# Retrain the grid of a scale (resumable: cells with a record are skipped), then rebuild
# the book from it: make reproduce SCALE=paper DEVICE=cuda ARGS="--datasets cifar10"
reproduce: venv mathjax
	$(PY) -m hashlib_core.reproduce --scale $(SCALE) --device $(DEVICE) $(ARGS)

# A fresh smoke grid (into runs/smoke, not committed) and the smoke book built from it.
SMOKE_DIR := runs/smoke
smoke-book: venv mathjax
	rm -rf $(SMOKE_DIR)
	$(PY) -m hashlib_core.reproduce --scale smoke --root $(SMOKE_DIR)/results \
		--artifacts $(SMOKE_DIR)/artifacts --logs $(SMOKE_DIR)/logs

clean:
	rm -rf _build book/generated
