# Two promises, kept on a fresh clone with only python3 and make:
#   make demo   runs the product on an embedded default
#   make test   sets itself up and passes
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
# Bytecode, as a wheel's install writes it: the editable install does not, and where
# PYTHONDONTWRITEBYTECODE is set, every start would compile the sources again.
	$(BIN)/python -m compileall -q codspot_tui
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/codspot demo

test: $(STAMP)
	$(BIN)/ruff check codspot_tui tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check codspot_tui tests benchmarks
	$(BIN)/ruff format --check codspot_tui tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_core.py
	$(BIN)/python benchmarks/bench_carriers.py
	$(BIN)/python benchmarks/bench_tui.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build *.egg-info
