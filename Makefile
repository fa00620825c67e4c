# The two quick-start commands (see README.md):
#   make demo   set up .venv with the CPU extra and run the offline main job
#   make test   set up .venv with the CPU and test extras and run the whole suite
# Each target creates the virtual environment when it is missing and re-installs
# only when setup.cfg changed since the last install.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test clean-venv

demo: $(VENV)/.installed-cpu
	$(BIN)/gluon-finetune augment --out runs/preview/augment.png

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q tests

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-cpu: setup.cfg pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e ".[cpu]"
	touch $@

$(VENV)/.installed-test: setup.cfg pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e ".[cpu,test]"
	touch $@ $(VENV)/.installed-cpu

clean-venv:
	rm -rf $(VENV)
