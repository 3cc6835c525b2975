# OneDesk — `make run` and `make test` are the two commands the README promises.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

# Find a Python >= 3.12 by itself: the one `make python` built, if any, then the newest of python3.13/python3.12
# on PATH, then pyenv's builds. Shims that fail to run (pyenv without a selected version) are skipped because
# we run each candidate.
define find_python
for c in $(CURDIR)/.python/bin/python3 python3.13 python3.12 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[3-9]*/bin/python3 $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3 2>/dev/null | sort -rV) python3; do \
  if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then \
    command -v $$c; exit 0; fi; done; exit 1
endef

.PHONY: help run setup test lint messages clean gettext translations bench soak backup restore python

# compilemessages needs GNU gettext's msgfmt; Debian has it as the `gettext` package.
gettext:
	@command -v msgfmt >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then apt-get update -qq && apt-get install -y -qq gettext >/dev/null; \
	  else echo "OneDesk needs GNU gettext (msgfmt) to compile translations: sudo apt-get install gettext"; exit 1; fi; }

# The compiled catalogues (locale/*/LC_MESSAGES/*.mo, not committed) that every page is served with: before
# the app runs, the suite runs, or the bench and the soak measure it.
translations: $(VENV)/.installed gettext
	$(MANAGE) compilemessages --ignore=.venv -v 0

help:
	@echo "make run   — set up (venv, install, migrate, demo data, translations) and serve on http://$(HOST):$(PORT)"
	@echo "make test  — run the whole suite (on DATABASE_URL if set, else SQLite)"
	@echo "make bench SIZE=small|district — load-test the production setup on PostgreSQL (bench/results/); builds an optimised CPython first if the venv has none"
	@echo "make python — build an optimised CPython $(PYTHON_VERSION) (PGO + LTO) into .python/ and remake the venv with it (~20 min on 2 cores)"
	@echo "make soak  — load with faults (PostgreSQL restart, a killed worker) on a throw-away cluster; nothing lost or duplicated"
	@echo "make backup  — pg_dump DATABASE_URL (PostgreSQL) into var/backups/onedesk-<timestamp>.dump"
	@echo "make restore FILE=var/backups/….dump TARGET_DATABASE_URL=postgres://… — restore a dump (FORCE=1 to overwrite DATABASE_URL itself)"

$(VENV)/.installed: pyproject.toml
	@PYBIN=$$( $(find_python) ) || { echo "OneDesk needs Python >= 3.12 (Django 6.1). Install python3.12 or python3.13 (e.g. with pyenv), or run 'make python', and retry."; exit 1; }; \
	echo "Using $$PYBIN ($$($$PYBIN --version))"; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then rm -rf $(VENV); $$PYBIN -m venv $(VENV); fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet '.[dev]'
	@touch $@

setup: $(VENV)/.installed translations
	@mkdir -p var
	$(MANAGE) migrate --noinput -v 0
	$(MANAGE) load_demo

run: setup
	@$(MANAGE) demo_logins
	$(MANAGE) runserver $(HOST):$(PORT)

test: $(VENV)/.installed translations
	$(MANAGE) makemigrations --check --dry-run -v 1
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest $(PYTEST_ARGS)

# Generates (or reuses) a PostgreSQL data set, runs gunicorn (2 workers, DEBUG off) on 127.0.0.1 and drives
# a bounded page mix; writes bench/results/$(SIZE).json and .md. BENCH_DATABASE_URL overrides the database.
# It measures the interpreter production runs: CPython built with PGO and LTO, as Debian's and the official
# Docker images' are (pyenv's default build is ~15 % slower on this mix). A venv on any other build is made
# again on the one `make python` builds (once, ~20 minutes); BENCH_PYTHON=venv measures the venv as it is.
# The translations are compiled first (`translations`), as `make run` does: without them a clean checkout's
# pages fall back to the English source strings, and the bench would measure pages nobody is shown.
SIZE ?= small
BENCH_PYTHON ?= optimised
bench: $(VENV)/.installed translations
	@if [ "$(BENCH_PYTHON)" != venv ] && ! $(PY) bench/report.py --optimised; then \
	  if [ -x .python/bin/python3 ] && .python/bin/python3 bench/report.py --optimised; then \
	    echo "make bench: making the venv again on the optimised CPython in .python/"; \
	    rm -rf $(VENV) && $(MAKE) --no-print-directory $(VENV)/.installed; \
	  else \
	    echo "make bench: the venv's Python ($$($(PY) --version)) is not built with PGO and LTO; building one first (make python, ~20 minutes, once; BENCH_PYTHON=venv skips this)"; \
	    $(MAKE) --no-print-directory python; \
	  fi; fi
	$(PY) bench/run.py --size $(SIZE) $(BENCH_ARGS)

# Not part of `make test`: its own PostgreSQL cluster (initdb in a temporary directory, never the server on
# 5432), gunicorn, ~60 s of mixed load, a PostgreSQL restart and a killed worker, then every write the clients
# were told succeeded is checked in the database. Writes bench/results/soak.json; fails on any lost or
# duplicated write, a 5xx outside the fault windows or a recovery over 30 s. SOAK_ARGS="--seconds 120" etc.
soak: $(VENV)/.installed translations
	$(PY) bench/soak.py $(SOAK_ARGS)

# CPython built the way Debian's own and the official Docker images' are (profile-guided, link-time
# optimised, libpython linked in), which pyenv's default build is not: the bench's mix serves ~15 % more
# pages a second on it (docs/deploy.md). The upstream tarball, checked against its SHA-256, from python.org
# or from Debian's archive, which carries it unchanged (with upstream's signature) as the python3.13 source.
# 17.5 minutes on 2 cores, most of it the profiling run; .python/ is left alone by `make clean`.
PYTHON_VERSION := 3.13.5
PYTHON_SHA256 := 93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640
PYTHON_URLS := https://www.python.org/ftp/python/$(PYTHON_VERSION)/Python-$(PYTHON_VERSION).tar.xz \
	http://deb.debian.org/debian/pool/main/p/python3.13/python3.13_$(PYTHON_VERSION).orig.tar.xz
python:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && apt-get install -y -qq build-essential pkg-config libssl-dev zlib1g-dev libbz2-dev \
	    liblzma-dev libffi-dev libsqlite3-dev libreadline-dev uuid-dev libncurses-dev >/dev/null; fi
	@rm -rf .python-build && mkdir -p .python-build && cd .python-build && \
	for url in $(PYTHON_URLS); do \
	  curl -fsSL --retry 2 -m 600 -o python.tar.xz "$$url" && echo "$(PYTHON_SHA256)  python.tar.xz" | sha256sum -c --quiet - && break; \
	  rm -f python.tar.xz; done; \
	test -f python.tar.xz || { echo "Could not download CPython $(PYTHON_VERSION) from: $(PYTHON_URLS)"; exit 1; }
	cd .python-build && tar xf python.tar.xz && cd Python-$(PYTHON_VERSION) && \
	  ./configure -q --prefix=$(CURDIR)/.python --enable-optimizations --with-lto && \
	  $(MAKE) -s -j$$(nproc) && $(MAKE) -s install >/dev/null
	rm -rf .python-build $(VENV)
	$(MAKE) $(VENV)/.installed
	@$(PY) -c 'import sys, sysconfig; print("The venv now runs", sys.version.split()[0], sysconfig.get_config_var("CONFIG_ARGS"))'

lint:
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

messages: $(VENV)/.installed
	$(MANAGE) makemessages -l zh_Hans -l en --ignore=.venv --ignore=static/vendor --ignore=tests --no-location
	@# English is the source language: its catalogue says so explicitly (msgstr = msgid), new entries included.
	@# Fuzzy guesses are wrong English: empty them, then msgen fills every empty msgstr with its msgid.
	msgattrib --clear-fuzzy --empty locale/en/LC_MESSAGES/django.po -o locale/en/LC_MESSAGES/django.po
	msgen locale/en/LC_MESSAGES/django.po -o locale/en/LC_MESSAGES/django.po
	$(MANAGE) compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var/*.sqlite3

# Backups: PostgreSQL only (DATABASE_URL); the logic is in residents' backup_db / restore_db commands.
backup:
	$(MANAGE) backup_db $(if $(BACKUP_DIR),--output-dir "$(BACKUP_DIR)")

restore:
	@test -n "$(FILE)" -a -n "$(TARGET_DATABASE_URL)" || { \
	  echo "Usage: make restore FILE=var/backups/onedesk-….dump TARGET_DATABASE_URL=postgres://user:pw@host:5432/scratch [FORCE=1]"; exit 2; }
	@$(MANAGE) restore_db "$(FILE)" --target-database-url "$(TARGET_DATABASE_URL)" $(if $(filter 1 true yes,$(FORCE)),--force)
