# Backprop from Scratch: `make lab` opens the course, `make test` runs every test.
# Both set up .venv/ first; a second run reinstalls nothing unless pyproject.toml changed.
# `make explorer` serves the loss-curve explorer as a web app; `make screenshots` retakes docs/images.
# `make hub` (as root) serves the course to a demo class on a real JupyterHub; `make hub-down` removes it.

# Any Python from 3.11 on: the first of these that is installed (or PYTHON=... to choose).
PYTHON ?= $(shell for p in python3.11 python3.12 python3.13 python3.14 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && \
	{ echo $$p; break; }; done)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# JupyterLab refuses to run as root without --allow-root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# nbgrader (and its Lab extension) find the course configuration here.
export JUPYTER_CONFIG_PATH := $(CURDIR)/grader
# nbgrader runs the `alembic` command to create a gradebook: the formgrader needs the venv on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup lab explorer screenshots test release notebooks-check bench clean hub hub-deps hub-down

# Extra options for `make lab` and `make explorer`, e.g. EXPLORER_ARGS=--port=8867
# (the browser tests pass a free port and the headless flags this way).
LAB_ARGS ?=
EXPLORER_ARGS ?=
# Options of grader/hub/bootstrap.py for `make hub` and `make hub-down`, e.g. HUB_ARGS="--port=8010 --students=30".
HUB_ARGS ?=
CHP := .hub/node_modules/.bin/configurable-http-proxy

setup: venv-python $(STAMP)

# `make setup PYTHON=python3.12` in a clone whose .venv was built by another Python rebuilds it (and says so).
.PHONY: venv-python
venv-python:
ifeq ($(origin PYTHON),command line)
	@if [ -x $(BIN)/python ] && [ "$$($(BIN)/python -c 'import sys; print(sys.version_info[:2])')" != "$$($(PYTHON) -c 'import sys; print(sys.version_info[:2])')" ]; then \
	  echo "$(VENV) was built with Python $$($(BIN)/python -c 'import platform; print(platform.python_version())'); rebuilding it with $(PYTHON) ($$($(PYTHON) -c 'import platform; print(platform.python_version())'))"; \
	  rm -rf $(VENV); fi
endif

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "This course needs Python 3.11 or newer, and none was found: install one, or pass PYTHON=/path/to/python3.x"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "$(PYTHON) is older than Python 3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (backprop course)" >/dev/null
	@touch $@

# The formgrader's gradebook lives in the grading workspace (grader/nbgrader_config.py), and sqlite
# makes the file, not its folder: a fresh clone has none, so make it here (the config has no side effects).
lab: setup
	@mkdir -p "$${COURSE_GRADER_WORKSPACE:-grader/work}"
	$(BIN)/jupyter lab $(ROOT_FLAG) --LabApp.default_url=/lab/tree/notebooks $(LAB_ARGS)

# The loss-curve explorer (notebook 08) as a web app for readers: sliders, plots and readouts, no code.
# Voilà reads explorer/voila.py (offline page, one kernel per open page, shut down when it closes).
explorer: setup
	JUPYTER_CONFIG_PATH=$(CURDIR)/explorer JUPYTER_PATH=$(CURDIR)/explorer \
	  $(BIN)/voila explorer/loss_curve_explorer.ipynb $(EXPLORER_ARGS)

# The README's pictures (docs/images/*.png), taken by the browser tests in headless Chromium.
screenshots: setup
	$(BIN)/python docs/make_screenshots.py

# The course on JupyterHub for a demo class (grader/hub/): Unix users with passwords (PAM), the
# instructor's course folder, nbgrader's exchange, then JupyterHub; it prints the URL and the logins.
hub: setup hub-deps
	$(BIN)/python -m grader.hub.bootstrap up $(HUB_ARGS)

hub-down: setup
	$(BIN)/python -m grader.hub.bootstrap down $(HUB_ARGS)

# What the hub needs beyond the venv: JupyterHub's proxy from npm (pinned in grader/hub/proxy/) in .hub/,
# and setfacl (Debian's acl) when root, to let the class reach an interpreter under /root. Neither is
# fatal here: without them the hub tests skip (and fail under CI=true) with the command that installs them.
hub-deps: $(CHP)
	@command -v setfacl >/dev/null || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
	  { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q acl >/dev/null; } || \
	  echo "could not install Debian's acl (setfacl): the hub tests will skip"

$(CHP): grader/hub/proxy/package.json grader/hub/proxy/package-lock.json
	@mkdir -p .hub && cp grader/hub/proxy/package.json grader/hub/proxy/package-lock.json .hub/
	@{ command -v npm >/dev/null && npm ci --prefix .hub --no-audit --no-fund --loglevel=error && touch $@; } || \
	  echo "could not install configurable-http-proxy with npm (is npm installed?): the hub tests will skip"

# The suite in TEST_WORKERS processes (pytest-xdist), a whole test file to each in turn: a file's
# graded class is built once, and the files that grade whole classes go first (tests/conftest.py).
# TEST_WORKERS=0 runs it in this one process.
TEST_WORKERS ?= 2
test: setup hub-deps
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

release: setup
	$(BIN)/course-grader release

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
