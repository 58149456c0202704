# Kring: `make run` sets up and serves the app with a demo conference; `make test` sets up
# and runs the whole test suite. Both work on a fresh Debian machine with python3, node/npm.

VENV      ?= .venv
PYTHON    ?= python3
HOST      ?= 127.0.0.1
PORT      ?= 8000
BIN       := $(VENV)/bin
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
WEB_BUILD := web/static/build/manifest.json

.PHONY: run test lint setup assets fonts chromium clean screenshots pg-client prod-check

# Links and QR codes point at the address Kring is served on (set KRING_BASE_URL for a LAN
# or a public name; see the README).
run: export KRING_BASE_URL ?= http://127.0.0.1:$(PORT)
run: $(VENV)/.installed assets fonts
	$(BIN)/kring db upgrade
	$(BIN)/kring demo --if-empty
	$(BIN)/kring serve --host $(HOST) --port $(PORT)

# `make test` is `make lint`, then the whole suite; .pre-commit-config.yaml runs `make lint`
# too: one list of checks, so the three cannot drift apart. Branch coverage is printed at the
# end (settings in pyproject.toml).
test: lint assets fonts chromium pg-client prod-check
	$(BIN)/pytest -n 2 --dist loadfile --cov --cov-report=term:skip-covered

lint: $(VENV)/.installed-test web/node_modules/.package-lock.json
	$(BIN)/ruff check server tests bench deploy
	$(BIN)/ruff format --check server tests bench deploy
	$(BIN)/mypy
	cd web && node_modules/.bin/biome check --error-on-warnings

setup: $(VENV)/.installed assets fonts

$(VENV)/bin/pip:
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund

assets: $(WEB_BUILD)

# The Regular of each variable font the PDF copies are set in (server/formats/fonts.py):
# made when missing, damaged or made from another version of the font packages.
fonts: | $(VENV)/.installed
	$(BIN)/python -m server.formats.fonts --if-needed

$(WEB_BUILD): web/node_modules/.package-lock.json web/build.mjs $(shell find web/src -type f)
	cd web && npm run build

# The README's screenshots of the plan editor, taken on a real server in Chromium.
screenshots: $(VENV)/.installed-test assets chromium
	$(BIN)/python docs/screenshots.py

# The production setup of deploy/ run whole: Caddy over HTTPS in front of two Kring processes
# on PostgreSQL and Redis, driven by Chromium (see the README's "Serving it"). It installs
# Debian's caddy and libnss3-tools when missing.
prod-check: $(VENV)/.installed-test assets fonts chromium
	$(BIN)/python deploy/prod_check.py

# Browser tests drive Debian's chromium (Playwright's own browser download is not used).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

# Backups of a PostgreSQL database are made and read with pg_dump and pg_restore, from Debian's
# postgresql-client (the same major version as Debian's PostgreSQL server).
pg-client:
	@command -v pg_dump >/dev/null 2>&1 && command -v pg_restore >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql-client; }

clean:
	rm -rf $(VENV) web/node_modules web/static/build server/formats/build .coverage .coverage.*
