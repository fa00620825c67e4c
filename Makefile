# The two quick-start commands (see README.md):
#   make demo   set up .venv with the CPU extra and run the offline main job
#               (gluon-finetune demo: runs/demo/report.html)
#   make test   set up .venv with the CPU and test extras (and Debian's chromium, for
#               the report's browser test), run the linter (ruff) and the whole suite
# Each target creates the virtual environment when it is missing and re-installs
# only when setup.cfg changed since the last install.

PYTHON ?= python3
VENV   ?= .venv
# pytest processes (pytest-xdist): the suite waits on `import mxnet` and on subprocesses
# more than it computes: three processes keep two cores busy (measured fresh on a 2-core
# Xeon: 6 min 43 s with the setup, pytest 5 min 47 s, 562 passed; on a 2-core Zen 5:
# 7 min 25 s, pytest 6 min 15 s, 582 passed; CI on a Zen 3: 586 s);
# set TEST_WORKERS=0 for one.
TEST_WORKERS ?= 3
BIN    := $(VENV)/bin
# A separate deployment environment for the ONNX parity test: every onnxruntime
# wheel for Python 3.11 needs numpy>=1.24, which MXNet 1.9.1 cannot import.
DEPLOY ?= .venv-deploy
# The MLflow tracking server the --mlflow test logs to (SQLAlchemy, Flask, ...: more than
# the client in $(VENV) needs), apart from MXNet's pins.
MLFLOW ?= .venv-mlflow

.PHONY: demo test docs clean-venv

# The environments of `make test` are independent: set them up side by side.
MAKEFLAGS += -j4

demo: $(VENV)/.installed-cpu
	$(BIN)/gluon-finetune demo

test: $(VENV)/.installed-test $(DEPLOY)/.installed $(MLFLOW)/.installed $(VENV)/.chromium
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup tests

# The documentation site (mkdocs.yml, docs/) into site/, its reference pages regenerated
# from the code first (scripts/gen_docs.py); --strict fails on a broken link.
docs: $(VENV)/.installed-test
	$(BIN)/python scripts/gen_docs.py
	$(BIN)/python -m mkdocs build --strict

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-cpu: setup.cfg pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e ".[cpu]"
	touch $@

$(VENV)/.installed-test: setup.cfg pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e ".[cpu,test,onnx]"
	touch $@ $(VENV)/.installed-cpu

# Debian's chromium, for the test that loads the demo's report.html in a real browser.
# Best effort: where apt-get cannot install it (no root, no apt), the build goes on
# and that test is skipped with the reason. The stamp is only made once it is there.
$(VENV)/.chromium: | $(VENV)/bin/python
	@command -v chromium >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) || \
	  echo "note: could not install chromium; the report's browser test will be skipped"
	@if command -v chromium >/dev/null 2>&1; then touch $@; fi

$(DEPLOY)/.installed:
	$(PYTHON) -m venv $(DEPLOY)
	$(DEPLOY)/bin/python -m pip install -q onnxruntime numpy pillow
	touch $@

$(MLFLOW)/.installed:
	$(PYTHON) -m venv $(MLFLOW)
	$(MLFLOW)/bin/python -m pip install -q "mlflow==3.17.2"
	touch $@

clean-venv:
	rm -rf $(VENV) $(DEPLOY) $(MLFLOW)
