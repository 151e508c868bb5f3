# Two commands do all the set-up on a fresh machine:
#   make run    venv, pinned deps, DSFR assets, migrations, reference + demo data, server
#   make test   the same set-up, then the whole test suite (SQLite and PostgreSQL)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
DSFR_SRC := node_modules/@gouvfr/dsfr/dist
DSFR := static/vendor/dsfr
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL := $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?= -n auto

.PHONY: run test setup database system-deps pdf-deps translations-update clean

setup: $(VENV)/.installed $(DSFR)/.installed translations

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

# The DSFR's own install script wants a project configuration we do not use.
node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

$(DSFR)/.installed: node_modules/.installed
	rm -rf $(DSFR) && mkdir -p $(DSFR)/utility
	cp -r $(DSFR_SRC)/dsfr.min.css $(DSFR_SRC)/dsfr.module.min.js $(DSFR_SRC)/dsfr.nomodule.min.js \
	      $(DSFR_SRC)/fonts $(DSFR_SRC)/icons $(DSFR_SRC)/favicon $(DSFR)/
	cp -r $(DSFR_SRC)/utility/icons $(DSFR)/utility/
	touch $@

PO_FILES := $(wildcard extranet/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)
.PHONY: translations
translations: $(MO_FILES)
%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel -q compile -i $< -o $@

# Re-extract the English source strings after changing templates or code, then translate the new French entries.
translations-update: $(VENV)/.installed
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -o extranet/translations/messages.pot --no-location --omit-header --sort-output .
	$(BIN)/pybabel -q update -i extranet/translations/messages.pot -d extranet/translations --no-fuzzy-matching

database: setup
	$(FLASK) db upgrade
	$(FLASK) extranet load-reference-data
	$(FLASK) extranet load-demo-data

# The mail worker runs in the background for as long as the server does: the
# EXIT trap stops it (SIGTERM: it finishes the mail in flight) however the server ends.
run: database pdf-deps
	@echo "Extranet on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	@$(FLASK) extranet send-mail & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; \
	$(FLASK) run --host $(HOST) --port $(PORT)

# WeasyPrint (roadmap PDFs) renders text with Pango, a system library.
pdf-deps:
	@ldconfig -p | grep -q libpangoft2-1.0.so.0 || { $(APT_INSTALL) libpango-1.0-0 libpangoft2-1.0-0; }

# Debian's chromium drives the browser tests; PostgreSQL 15 binaries run the PostgreSQL half of the suite.
system-deps: pdf-deps
	@command -v chromium >/dev/null || { $(APT_INSTALL) chromium; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { $(APT_INSTALL) postgresql; }

test: setup system-deps
	$(BIN)/ruff check --quiet .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) node_modules $(DSFR) .pytest_cache
	find extranet -name '*.mo' -delete
