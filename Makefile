# The two quick-start commands (see README.md):
#   make demo   set up .venv with the CPU extra and run the offline main job
#   make test   set up .venv with the CPU and test extras and run the whole suite
# Each target creates the virtual environment when it is missing and re-installs
# only when setup.cfg changed since the last install.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# A separate deployment environment for the ONNX parity test: every onnxruntime
# wheel for Python 3.11 needs numpy>=1.24, which MXNet 1.9.1 cannot import.
DEPLOY ?= .venv-deploy

.PHONY: demo test clean-venv

demo: $(VENV)/.installed-cpu
	$(BIN)/gluon-finetune augment --out runs/preview/augment.png

test: $(VENV)/.installed-test $(DEPLOY)/.installed
	$(BIN)/python -m pytest -q tests

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-cpu: setup.cfg pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e ".[cpu]"
	touch $@

$(VENV)/.installed-test: setup.cfg pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e ".[cpu,test,onnx]"
	touch $@ $(VENV)/.installed-cpu

$(DEPLOY)/.installed:
	$(PYTHON) -m venv $(DEPLOY)
	$(DEPLOY)/bin/python -m pip install -q onnxruntime numpy pillow
	touch $@

clean-venv:
	rm -rf $(VENV) $(DEPLOY)
