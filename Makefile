# videorl: make install | make demo | make test
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_VERSION := 2.13.0

.PHONY: install demo test lint bench clean osmesa

install: $(STAMP) osmesa

# The virtual environment; torch is installed first and pinned so that no
# dependency can pull the multi-gigabyte CUDA build on a CPU machine.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)"
	$(BIN)/python -m pip install --quiet -e ".[test,ray]"
	@touch $(STAMP)

# MuJoCo renders offscreen through OSMesa on machines without a GPU.
osmesa:
	@if ldconfig -p 2>/dev/null | grep -q libOSMesa; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "installing libosmesa6 (offscreen rendering)"; \
		(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libosmesa6 >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libosmesa6 >/dev/null)) || \
		{ echo "could not install libosmesa6: run 'apt-get install libosmesa6'"; exit 1; }; \
	else \
		echo "videorl renders images through OSMesa: run 'sudo apt-get install libosmesa6'"; exit 1; \
	fi

demo: install
	$(BIN)/videorl demo

test: install
	$(BIN)/python -m pytest tests

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: install
	$(BIN)/python -m pip install --quiet -e ".[bench]"

clean:
	rm -rf $(VENV) build src/*.egg-info
