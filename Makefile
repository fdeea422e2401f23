# Two entry points (see README): `make book` and `make test`.
# Both create or reuse the virtual environment at .venv and install the package into it
# with the exact pins of requirements-lock.txt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
MATHJAX := book/_mathjax/mathjax/tex-chtml.js
SCALE  ?= cpu
JB_FLAGS ?= -W --keep-going

.PHONY: venv test lint book book-only reproduce smoke-book mathjax clean

$(STAMP): pyproject.toml requirements-lock.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -c requirements-lock.txt -e ".[test,fast]"
	touch $(STAMP)

venv: $(STAMP)

lint: venv
	$(BIN)/ruff check hashlib_core tests benchmarks

test: lint
	$(BIN)/python -m pytest

# MathJax 3, served from the book itself (the build machine and the reader may be offline).
$(MATHJAX):
	rm -rf .cache/npm && mkdir -p .cache/npm book/_mathjax/mathjax
	npm install --silent --no-audit --no-fund --prefix .cache/npm mathjax@3.2.2
	cp -r .cache/npm/node_modules/mathjax/es5/. book/_mathjax/mathjax/

mathjax: $(MATHJAX)

# The book from the committed results: the table and figure notebooks are executed on
# results/ (papermill, nothing trains), then the HTML book is built offline.
book: venv mathjax
	$(BIN)/python -m hashlib_core.book --scale $(SCALE)
	$(BIN)/jupyter-book build . $(JB_FLAGS)

# The HTML book from the notebooks already in book/generated (no execution).
book-only: venv mathjax
	$(BIN)/jupyter-book build . $(JB_FLAGS)

# Retrain the grid of a scale (resumable: cells with a record are skipped), then rebuild
# the book from it: make reproduce SCALE=cpu
reproduce: venv mathjax
	$(BIN)/python -m hashlib_core.reproduce --scale $(SCALE)

# A fresh smoke grid (into runs/smoke, not committed) and the smoke book built from it.
SMOKE_DIR := runs/smoke
smoke-book: venv mathjax
	rm -rf $(SMOKE_DIR)
	$(BIN)/python -m hashlib_core.reproduce --scale smoke --root $(SMOKE_DIR)/results \
		--artifacts $(SMOKE_DIR)/artifacts --logs $(SMOKE_DIR)/logs

clean:
	rm -rf _build book/generated
