# Helpdesk — developer entry points. GNU make + bash.
#   make run    everything needed, then web + worker + beat on http://localhost:8000
#   make test   lint, migration check, message compile, pytest (what CI runs)
#   make help   the other targets

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory
.NOTPARALLEL:

VENV    := .venv
PY      := $(VENV)/bin/python
PIP     := $(VENV)/bin/pip
MANAGE  := $(PY) manage.py
STAMP   := $(VENV)/.installed
PYPROJECT := $(wildcard pyproject.toml)

HOST ?= 127.0.0.1
PORT ?= 8000

# Directories that Django's message commands must not walk into.
MSG_IGNORE := --ignore=.venv --ignore=.data --ignore=node_modules --ignore=staticfiles
# compilemessages errors out when no locale/ directory exists yet: skip it then.
COMPILEMESSAGES := if [[ -n "$$(find . \( -path ./.venv -o -path ./.data -o -path ./node_modules -o -path ./.git \) -prune \
	    -o -name '*.po' -print -quit)" ]]; then $(MANAGE) compilemessages $(MSG_IGNORE) -v 0; \
	else echo "(no .po message catalogues yet: nothing to compile)"; fi

.PHONY: help venv install services stop status run chromium sysdeps test test-steps lint fmt \
        messages compilemessages migrate seed collectstatic clean clean-data

help:
	@echo "make run         install, start Postgres+Redis, migrate, seed demo data, run web+worker+beat"
	@echo "make test        ruff, format check, migrations check, compilemessages, pytest (as CI)"
	@echo "make install     create .venv (Python 3.12+) and pip install -e '.[dev]'"
	@echo "make services    start/reuse project-local Postgres and Redis under .data/, write .env"
	@echo "make stop        stop those services (data is kept)"
	@echo "make status      show whether they run"
	@echo "make migrate     apply migrations            make seed       load the demo data"
	@echo "make lint        ruff check + format check   make fmt        ruff format + ruff check --fix"
	@echo "make messages    makemessages (zh_Hans, en) + compilemessages"
	@echo "make chromium    install Debian's chromium + CJK fonts (for e2e tests)"
	@echo "make clean       remove .venv                make clean-data stop services and delete .data/"

# ---------------------------------------------------------------- python env

# (Re)create .venv when missing, broken, or older than Python 3.12.
$(PY):
	@if [[ -x "$(PY)" ]] && "$(PY)" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	    touch "$(PY)"; exit 0; fi; \
	python="$$(bash scripts/find-python.sh)"; \
	echo "Creating $(VENV) with $$python ($$("$$python" -V))"; \
	rm -rf "$(VENV)"; \
	"$$python" -m venv "$(VENV)"; \
	"$(PIP)" install -q --disable-pip-version-check --upgrade pip

venv: $(PY)
	@if ! "$(PY)" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	    rm -f "$(PY)"; $(MAKE) $(PY); fi

# pip install only when pyproject.toml is newer than the stamp (fast second run).
$(STAMP): $(PYPROJECT) | venv
	@if [[ ! -f pyproject.toml ]]; then \
	    echo "WARNING: no pyproject.toml yet; nothing to install"; exit 0; fi
	@echo "Installing the project and dev dependencies into $(VENV)..."
	@"$(PIP)" install -q --disable-pip-version-check -e '.[dev]'
	@touch "$(STAMP)"

install: venv $(STAMP)

# ---------------------------------------------------------------- services

services:
	@bash scripts/devservices.sh up

stop:
	@bash scripts/devservices.sh down

status:
	@bash scripts/devservices.sh status || true

# System packages: gettext (msgfmt) for compilemessages; dovecot-imapd, the real IMAP server the
# IMAP polling tests start on a free loopback port (tests/imap_server.py; they skip without it).
sysdeps:
	@missing=(); \
	command -v msgfmt >/dev/null 2>&1 || missing+=(gettext); \
	command -v dovecot >/dev/null 2>&1 || [[ -x /usr/sbin/dovecot ]] || missing+=(dovecot-imapd); \
	if (( $${#missing[@]} )); then \
	    if [[ $$(id -u) == 0 ]]; then \
	        echo "Installing $${missing[*]} with apt-get..."; \
	        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
	        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$${missing[@]}" >/dev/null; \
	    elif [[ " $${missing[*]} " == *" gettext "* ]]; then \
	        echo "ERROR: msgfmt not found: install gettext (sudo apt-get install -y $${missing[*]})" >&2; exit 1; \
	    else \
	        echo "WARNING: dovecot not found, the IMAP tests will be skipped (sudo apt-get install -y dovecot-imapd)" >&2; \
	    fi; \
	fi

# Debian's Chromium (Playwright drives /usr/bin/chromium; never 'playwright install')
# and Noto CJK fonts so Chinese pages render in screenshots.
chromium:
	@missing=(); \
	[[ -x /usr/bin/chromium ]] || missing+=(chromium); \
	dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk); \
	if (( $${#missing[@]} )); then \
	    if [[ $$(id -u) != 0 ]]; then \
	        echo "ERROR: missing $${missing[*]}: run 'sudo apt-get install -y $${missing[*]}' (or make chromium as root)" >&2; exit 1; fi; \
	    echo "Installing $${missing[*]} with apt-get (one time, ~1 min)..."; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq >/dev/null; \
	    apt-get install -y -qq --no-install-recommends "$${missing[@]}" >/dev/null; \
	fi

# ---------------------------------------------------------------- django

compilemessages: install sysdeps
	@$(COMPILEMESSAGES)

messages: install sysdeps
	$(MANAGE) makemessages -l zh_Hans -l en $(MSG_IGNORE)
	$(MANAGE) compilemessages $(MSG_IGNORE)

migrate: install services
	$(MANAGE) migrate --noinput

seed: install services
	$(MANAGE) seed_demo

collectstatic: install
	@$(MANAGE) collectstatic --noinput -v 0

# Ctrl-C stops what this run started: web, worker and beat always; Postgres and Redis too when
# they were not already running before `make run` (otherwise they are left as they were).
run: install
	@if bash scripts/devservices.sh status >/dev/null 2>&1; then rm -f .data/.run-started-services; \
	else mkdir -p .data && touch .data/.run-started-services; fi
	@bash scripts/devservices.sh up
	@$(MAKE) compilemessages
	$(MANAGE) migrate --noinput
	HELPDESK_PUBLIC_PORT="$${HELPDESK_PUBLIC_PORT:-$(PORT)}" $(MANAGE) seed_demo
	@$(MANAGE) collectstatic --noinput -v 0
	@mkdir -p .data
	@if (exec 3<>"/dev/tcp/$(HOST)/$(PORT)") 2>/dev/null; then \
	    echo "ERROR: $(HOST):$(PORT) is already in use; stop that, or run 'make run PORT=8001'" >&2; exit 1; fi
	@echo
	@echo "================================================================"
	@echo " Helpdesk is starting (Ctrl-C stops web, worker and beat, and"
	@echo " the Postgres and Redis this run started; data is kept in .data/)"
	@echo
	@echo "   Agent app (acme, English):  http://acme.localhost:$(PORT)/agent/"
	@echo "   Huaxia home (Chinese):      http://huaxia.localhost:$(PORT)/"
	@echo "   Landing / sign-up:          http://localhost:$(PORT)/"
	@echo
	@echo " Demo logins, password demo-pass-123 for all:"
	@echo "   acme:    admin@acme.test  manager@acme.test  agent1@acme.test  agent2@acme.test  tier2@acme.test"
	@echo "   huaxia:  admin@huaxia.test  manager@huaxia.test  agent1@huaxia.test  agent2@huaxia.test  tier2@huaxia.test"
	@echo "   portal customers (either tenant):  alice@customer.test  bob@customer.test"
	@echo "================================================================"
	@echo
	@trap 'if [[ -f .data/.run-started-services ]]; then rm -f .data/.run-started-services; \
	    echo "Stopping the Postgres and Redis this run started..."; bash scripts/devservices.sh down; fi' EXIT; \
	HOST="$(HOST)" HELPDESK_PUBLIC_PORT="$${HELPDESK_PUBLIC_PORT:-$(PORT)}" $(VENV)/bin/honcho start -f Procfile -p $(PORT)

# ---------------------------------------------------------------- quality

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# What CI runs (.ci/run). Exits non-zero on any failure, including pytest's exit 5 when no
# test ran. pytest's summary stays the last line of output (CI reads it).
test: test-steps

test-steps: install services chromium sysdeps
	@echo "== ruff check";            $(VENV)/bin/ruff check .
	@echo "== ruff format --check";   $(VENV)/bin/ruff format --check .
	@echo "== makemigrations --check"; $(MANAGE) makemigrations --check --dry-run
	@echo "== compilemessages";       $(COMPILEMESSAGES)
	@echo "== pytest";                $(VENV)/bin/pytest

# ---------------------------------------------------------------- cleanup

clean:
	rm -rf "$(VENV)"

# Deletes the local database and Redis data (and the cluster kept outside the
# checkout when .data/pg is a link, see scripts/devservices.sh).
clean-data: stop
	@if [[ -L .data/pg ]]; then rm -rf "$$(readlink -f .data/pg)"; fi
	rm -rf .data
