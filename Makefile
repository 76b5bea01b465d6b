# Bridges: two commands on a machine with only Python 3.11+.
#   make up    run the whole system on embedded PostgreSQL + NATS (Ctrl-C stops it)
#   make test  install everything needed and run the test suite
PYTHON ?= python3
TOOLS  := .tools
UV     := $(TOOLS)/bin/uv
VENV   := .venv
UV_VERSION := 0.13.9
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))

.PHONY: up test lint fmt docs sync bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) uv.lock pyproject.toml */pyproject.toml services/*/pyproject.toml
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

sync: $(VENV)/.synced

up: sync
	$(VENV)/bin/bridges up

test: sync
	$(VENV)/bin/pytest

PACKAGES := shared kit devstack services/directory services/referrals services/notifications

lint: sync
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	@for package in $(PACKAGES); do \
		(cd $$package && $(abspath $(VENV))/bin/deptry src) || exit 1; \
	done

fmt: sync
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

docs: sync
	$(VENV)/bin/python -m bridges_schema.docgen --docs docs

bench: sync
	$(VENV)/bin/python -m bench.run_all

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
