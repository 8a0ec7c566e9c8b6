# GridCare: two commands for a newcomer — `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEMO_CUSTOMERS ?= 5000
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck pytest bench fuzz clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "GridCare needs Python 3.11 or newer"'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(VENV): $(STAMP)

run: $(STAMP)
	mkdir -p var
	DEBUG=$${DEBUG:-true} $(BIN)/gridcare migrate --no-input
	DEBUG=$${DEBUG:-true} $(BIN)/gridcare demo --if-empty --customers $(DEMO_CUSTOMERS)
	DEBUG=$${DEBUG:-true} $(BIN)/gridcare demo-logins
	DEBUG=$${DEBUG:-true} $(BIN)/gridcare serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check gridcare tests bench
	$(BIN)/ruff format --check gridcare tests bench
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy gridcare

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

# The API fuzz test of `make test`, with many more examples per operation (override: make fuzz FUZZ_EXAMPLES=2000).
FUZZ_EXAMPLES ?= 500
fuzz: $(STAMP)
	GRIDCARE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/test_fuzz.py -p no:cacheprovider -q

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
