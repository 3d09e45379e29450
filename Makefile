# The README's two set-up commands: `make run` and `make test`.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: install run test lint openapi bench-ingest bench-education bench-linkage bench-reconcile bench-load bench-synthetic crash clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || (echo "Python 3.11+ is required" && exit 1)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# `make run PORT=8080`: the service's public address follows unless CME_PUBLIC_BASE_URL is set.
PORT ?= 8000
run: install
	$(BIN)/cme db upgrade
	CME_PUBLIC_BASE_URL=$${CME_PUBLIC_BASE_URL:-http://127.0.0.1:$(PORT)} $(BIN)/cme serve --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-cache

test: lint
	$(BIN)/pytest -n 2

openapi: install
	$(BIN)/cme openapi > openapi/openapi.json

bench-ingest: install
	$(BIN)/python bench/ingest.py

bench-education: install
	$(BIN)/python bench/education_upload.py

bench-linkage: install
	$(BIN)/python bench/linkage.py
	$(BIN)/python bench/linkage_scale.py

bench-reconcile: install
	$(BIN)/python bench/reconcile.py
	$(BIN)/python bench/reconcile.py --all

bench-load: install
	$(BIN)/python bench/load.py

bench-synthetic: install
	$(BIN)/python bench/synthetic.py

crash: install
	$(BIN)/python -m tests.crash.harness --rounds 30

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
