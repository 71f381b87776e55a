# Two entry points: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The zoo venv: the newest torch with torchvision and timm (no CPU wheel of torchvision for the pinned torch).
ZOO    := .venv-zoo
ZOOBIN := $(ZOO)/bin
ZOOSTAMP := $(ZOO)/.installed-stamp
export KERAS_BACKEND := torch

.PHONY: demo test test-zoo lint typecheck bench browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[all,dev]'
	touch $(STAMP)

$(ZOOSTAMP): pyproject.toml
	test -x $(ZOOBIN)/python || $(PYTHON) -m venv $(ZOO)
	$(ZOOBIN)/python -m pip install -q torch torchvision timm onnx onnxruntime pytest hypothesis pytest-xdist \
	  pyyaml torchinfo
	$(ZOOBIN)/python -m pip install -q --no-deps -e .
	touch $(ZOOSTAMP)

demo: $(STAMP)
	$(BIN)/python -m padstride.demo

browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1) || \
	  echo "chromium could not be installed: browser tests will skip"

test: $(STAMP) $(ZOOSTAMP) browser
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q
	$(ZOOBIN)/python -m pytest -n 2 --dist loadgroup -q tests/zoo

test-zoo: $(ZOOSTAMP)
	$(ZOOBIN)/python -m pytest -n 2 --dist loadgroup -q tests/zoo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(ZOO) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
