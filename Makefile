# Backprop from Scratch: `make lab` opens the course, `make test` runs every test.
# Both set up .venv/ first; a second run reinstalls nothing unless pyproject.toml changed.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# JupyterLab refuses to run as root without --allow-root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# nbgrader (and its Lab extension) find the course configuration here.
export JUPYTER_CONFIG_PATH := $(CURDIR)/grader

.PHONY: setup lab test release notebooks-check bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (backprop course)" >/dev/null
	@touch $@

lab: setup
	$(BIN)/jupyter lab $(ROOT_FLAG) --LabApp.default_url=/lab/tree/notebooks

test: setup
	$(BIN)/python -m pytest

release: setup
	$(BIN)/course-grader release

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
