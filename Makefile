# Jiefen: the two commands are `make run` and `make test` (see README.md).
# Every recipe is one bash script (.ONESHELL) run with -eu -o pipefail.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help

# The interpreter: Debian's python3.11 when there is one. Debian builds it with profile-guided and link-time
# optimisation; a pyenv or source build (often first on PATH as python3) by default has neither and is built
# --enable-shared: the same pages cost it ~10-15 % more CPU under load (README, "The two commands").
PYTHON ?= $(or $(wildcard /usr/bin/python3.11),python3)
VENV ?= .venv
PY := $(VENV)/bin/python
# A venv made by another interpreter (PYTHON changed, or an older checkout's venv) is made again from scratch.
VENV_FROM := $(shell [ -x $(PY) ] && $(PY) -c 'import os, sys; print(os.path.realpath(sys._base_executable))' 2>/dev/null)
PYTHON_REAL := $(shell $(PYTHON) -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null)
PIP := $(PY) -m pip
FLASK := $(VENV)/bin/flask
export FLASK_APP := app

HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test

# Debian packages. Runtime: a CJK font for the PDFs, HarfBuzz's subsetter, without which
# WeasyPrint is ~10x slower, and pg_dump (postgresql-client) for `flask backup` on PostgreSQL.
# Tests add Chromium (Playwright drives /usr/bin/chromium) and poppler-utils (pdftotext, pdffonts).
RUN_DEBS := fonts-wqy-microhei libharfbuzz-subset0 postgresql-client
TEST_DEBS := $(RUN_DEBS) chromium poppler-utils

# pip runs again only when a requirements file is newer than its stamp.
STAMP_RUN := $(VENV)/.requirements.stamp
STAMP_DEV := $(VENV)/.requirements-dev.stamp
# Front-end libraries: npm ci (package-lock.json) then copied into app/static/vendor (git-ignored), served locally.
VENDOR_STAMP := app/static/vendor/.stamp
VENDOR_FILES := node_modules/socket.io-client/dist/socket.io.min.js node_modules/echarts/dist/echarts.min.js

.PHONY: help run test lint lock install install-dev system-deps system-deps-run system-deps-test pg-check clean translations

help:
	@echo "make run     venv + requirements + fonts, flask db upgrade, flask seed-demo, serve on http://$(HOST):$(PORT)"
	@echo "make test    the same + requirements-dev.txt, pytest on SQLite, then on PostgreSQL if it answers"
	@echo "             at TEST_DATABASE_URL ($(TEST_DATABASE_URL)); PYTEST_ARGS='-x -k ...' passes options"
	@echo "make lint    ruff, bandit (fails on high severity) and our semgrep rules (.semgrep/); make test runs it first"
	@echo "make install / install-dev   only the Python dependencies into $(VENV)"
	@echo "make lock    after changing a pin: requirements*.lock (every package, sha256 hashes) and sbom.cdx.json"
	@echo "make system-deps             only the Debian packages ($(TEST_DEBS))"
	@echo "make pg-check                does PostgreSQL answer at TEST_DATABASE_URL?"
	@echo "make clean                   remove the demo SQLite database (instance/jiefen.db)"
	@echo "make translations            re-extract the UI strings, update the .po files, compile the .mo files"

# --- Front-end libraries (npm registry) ----------------------------------------------------------

$(VENDOR_STAMP): package.json package-lock.json
	@if ! command -v npm >/dev/null; then
	    if [[ $$(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
	        echo "==> apt-get install nodejs npm"
	        DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null
	    else
	        echo "error: npm is needed to install the front-end libraries (Socket.IO client, ECharts). As root: apt-get install -y nodejs npm" >&2
	        exit 1
	    fi
	fi
	echo "==> npm ci (front-end libraries into app/static/vendor)"
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p app/static/vendor
	cp $(VENDOR_FILES) app/static/vendor/
	touch $@

# --- Python ----------------------------------------------------------------------------------

ifneq ($(VENV_FROM),$(PYTHON_REAL))
$(PY): venv-interpreter-changed
endif

.PHONY: venv-interpreter-changed
venv-interpreter-changed:
	@if [[ -n "$(VENV_FROM)" ]]; then
	    echo "==> $(VENV) was made by $(VENV_FROM), not $(PYTHON_REAL): making it again"
	    rm -rf $(VENV)
	fi

$(PY):
	@echo "==> Creating the virtual environment $(VENV) ($(PYTHON_REAL))"
	if [[ "$(PYTHON)" == /usr/bin/python3.11 ]]; then  # Debian's venv module (ensurepip) is a package of its own
	    ( $(call ensure_debs,python3.11-venv,1) )
	fi
	if ! $(PYTHON) -m venv $(VENV); then
	    echo "error: '$(PYTHON) -m venv' failed. On Debian/Ubuntu: sudo apt-get install -y python3-venv" >&2
	    exit 1
	fi

# Installs come only from the locks, with --require-hashes: requirements*.txt hold the pins we choose,
# requirements*.lock (written by `make lock`) every package those pull in with the sha256 of each of its files.
# pip refuses a download whose hash is not in the lock, so a substituted or re-uploaded file fails the install.
# --use-pep517: sdists (jieba) are built into wheels and byte-compiled when installed, as newer pips always do;
# Debian's pip 23.0 would otherwise run jieba's setup.py install, leaving modules that are compiled at import,
# where their invalid escape sequences fail the tests' warnings-as-errors.
$(STAMP_RUN): requirements.lock | $(PY)
	@echo "==> pip install --use-pep517 --require-hashes -r requirements.lock"
	$(PIP) install -q --use-pep517 --require-hashes -r requirements.lock
	touch $@

$(STAMP_DEV): requirements-dev.lock $(STAMP_RUN)
	@echo "==> pip install --use-pep517 --require-hashes -r requirements-dev.lock"
	$(PIP) install -q --use-pep517 --require-hashes -r requirements-dev.lock
	touch $@

# `make lock` after changing a pin in requirements.txt or requirements-dev.txt (tests/test_lock.py fails until
# then). pip-tools and cyclonedx-bom live in a venv of their own and need PyPI. The dev lock is built with the
# runtime lock as constraints, so `make run` and `make test` install the same versions. sbom.cdx.json is the
# CycloneDX bill of materials of what production installs (requirements.lock).
LOCK_VENV := $(VENV)/lock
LOCK_OPTS := --generate-hashes --allow-unsafe --strip-extras --no-header --no-emit-index-url \
	--no-emit-find-links --quiet

lock: | $(PY)
	@if [[ ! -x $(LOCK_VENV)/bin/pip-compile ]]; then
	    $(PYTHON) -m venv $(LOCK_VENV)
	    $(LOCK_VENV)/bin/python -m pip install -q pip-tools==7.6.2 cyclonedx-bom==7.5.0
	fi
	header='# Every package FILE pulls in, with the sha256 of its files. Written by `make lock`: do not edit.'
	echo "==> pip-compile requirements.txt -> requirements.lock"
	$(LOCK_VENV)/bin/pip-compile $(LOCK_OPTS) -o requirements.lock requirements.txt
	sed -i "1i $${header/FILE/requirements.txt}" requirements.lock
	echo "==> pip-compile requirements-dev.txt (constrained by requirements.lock) -> requirements-dev.lock"
	printf -- '-c requirements.lock\n-r requirements-dev.txt\n' > .requirements-dev.in
	$(LOCK_VENV)/bin/pip-compile $(LOCK_OPTS) -o requirements-dev.lock .requirements-dev.in
	rm -f .requirements-dev.in
	sed -i "1i $${header/FILE/requirements-dev.txt}" requirements-dev.lock
	echo "==> cyclonedx-py requirements.lock -> sbom.cdx.json"
	$(LOCK_VENV)/bin/cyclonedx-py requirements --output-reproducible --of JSON -o sbom.cdx.json requirements.lock

install: $(STAMP_RUN)
install-dev: $(STAMP_DEV)

# --- Debian packages -------------------------------------------------------------------------

# $(call ensure_debs,PACKAGES,STRICT): install the missing PACKAGES with apt-get when root
# (apt-get update only if the first attempt fails). Otherwise, or if apt-get fails, name them and
# the exact command; fail when STRICT is 1, else warn and go on.
define ensure_debs
if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "note: no dpkg here (not Debian?): make sure these are installed: $(1)" >&2
    exit 0
fi
missing=()
for pkg in $(1); do
    dpkg-query -W -f='$${Status}' "$$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$$pkg")
done
if [[ $${#missing[@]} -eq 0 ]]; then
    exit 0
fi
if [[ $$(id -u) -eq 0 ]]; then
    echo "==> apt-get install -y $${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if apt-get install -y "$${missing[@]}" \
        || { echo "==> apt-get install failed: apt-get update, then once more"; \
             apt-get update && apt-get install -y "$${missing[@]}"; }; then
        exit 0
    fi
    echo "error: apt-get could not install: $${missing[*]}" >&2
    sudo=""
else
    echo "Missing Debian packages: $${missing[*]}" >&2
    echo "Not root, so not installing them. Run:" >&2
    sudo="sudo "
fi
echo "" >&2
echo "    $${sudo}apt-get install -y $${missing[*]}" >&2
echo "" >&2
if [[ "$(2)" == 1 ]]; then
    exit 1
fi
for pkg in "$${missing[@]}"; do
    case "$$pkg" in
        fonts-wqy-microhei) echo "warning: no CJK font: Chinese text in PDFs will show as empty boxes." >&2 ;;
        libharfbuzz-subset0) echo "warning: without libharfbuzz-subset0, PDFs render ~10x slower." >&2 ;;
    esac
done
echo "Going on without them." >&2
endef

system-deps-run:
	@$(call ensure_debs,$(RUN_DEBS),0)

system-deps-test:
	@$(call ensure_debs,$(TEST_DEBS),1)

system-deps: system-deps-test

# --- PostgreSQL reachability -----------------------------------------------------------------

# argv[1]: a database URL (SQLAlchemy's postgresql+psycopg:// form is accepted too).
define PG_CHECK_PY
import re, sys
import psycopg
url = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", sys.argv[1])
try:
    psycopg.connect(url, connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL check: {str(exc).strip()}", file=sys.stderr)
    sys.exit(1)
endef
export PG_CHECK_PY

# The URL as printed: any password masked.
SHOWN_TEST_DB := $(shell printf '%s' '$(TEST_DATABASE_URL)' | sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#')

pg-check: $(STAMP_RUN)
	@if $(PY) -c "$$PG_CHECK_PY" '$(TEST_DATABASE_URL)'; then
	    echo "PostgreSQL answers at $(SHOWN_TEST_DB)"
	else
	    echo "PostgreSQL not reachable at $(SHOWN_TEST_DB)"
	    exit 1
	fi

# --- Static checks ---------------------------------------------------------------------------

# semgrep has pins of its own that clash with requirements-dev.txt: it gets a venv of its own inside $(VENV).
LINT_VENV := $(VENV)/lint
SEMGREP := $(LINT_VENV)/bin/semgrep
STAMP_LINT := $(LINT_VENV)/.requirements.stamp
LINT_PATHS := app bench tests migrations

$(STAMP_LINT): .semgrep/requirements.txt | $(PY)
	@echo "==> pip install -r .semgrep/requirements.txt (into $(LINT_VENV))"
	$(PYTHON) -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/python -m pip install -q -r .semgrep/requirements.txt
	touch $@

# ruff, then bandit and semgrep side by side (each is mostly one core); every finding is printed and any
# ruff or semgrep finding, or a high-severity bandit one, fails. semgrep runs offline: local rules only,
# no metrics, no version check.
lint: $(STAMP_DEV) $(STAMP_LINT)
	@mkdir -p .test-logs
	failed=()
	$(VENV)/bin/bandit -q -r app bench migrations --ini .bandit --severity-level medium -f custom \
	    --msg-template '{relpath}:{line}: {severity} ({confidence} confidence) {test_id} {msg}' \
	    > .test-logs/bandit.log 2>&1 &
	bandit_pid=$$!
	SEMGREP_ENABLE_VERSION_CHECK=0 SEMGREP_SEND_METRICS=off $(SEMGREP) scan --metrics=off --disable-version-check \
	    --config .semgrep/ --error --strict --emacs -q app templates bench tests migrations > .test-logs/semgrep.log 2>&1 &
	semgrep_pid=$$!
	echo "==> ruff check ($(LINT_PATHS); ruff.toml)"
	$(VENV)/bin/ruff check --output-format concise $(LINT_PATHS) || failed+=(ruff)
	wait $$bandit_pid || true  # bandit exits 1 on medium findings too: only HIGH fails, below
	echo "==> bandit (app bench migrations; .bandit): medium and high printed, high fails"
	grep -v '^\[' .test-logs/bandit.log || true
	if grep -q ': HIGH ' .test-logs/bandit.log || grep -q 'ERROR\|Traceback' .test-logs/bandit.log; then failed+=(bandit); fi
	echo "==> semgrep (.semgrep/ rules: |safe and Markup, SQL built from strings)"
	if wait $$semgrep_pid; then echo "semgrep: no findings"; else cat .test-logs/semgrep.log; failed+=(semgrep); fi
	if [[ $${#failed[@]} -gt 0 ]]; then
	    echo "LINT FAILED: $${failed[*]} (see above)" >&2
	    exit 1
	fi
	echo "==> lint passed"

# --- The two commands ------------------------------------------------------------------------

run: $(STAMP_RUN) $(VENDOR_STAMP) system-deps-run
	@echo "==> flask db upgrade"
	$(FLASK) db upgrade
	echo "==> flask seed-demo"
	$(FLASK) seed-demo
	echo "==> Serving Jiefen on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	exec $(FLASK) run --host $(HOST) --port $(PORT)

# pytest on SQLite and, when it answers, on PostgreSQL: both legs at the same time (each is mostly one
# core), each with its own Redis database and log under .test-logs/, printed when it ends. TEST_PARALLEL=0
# runs them one after the other. Both legs run even if one fails; the backends that ran go to
# .test-backends (read by .ci/run); any failed leg fails the target.
TEST_PARALLEL ?= 1

test: $(STAMP_DEV) $(VENDOR_STAMP) system-deps-test lint
	@rm -f .test-backends
	mkdir -p .test-logs
	ran=()
	failed=()
	pids=()
	pg_note=""
	leg() {  # leg <backend> <redis db> [env ...]: pytest in the background, its output to .test-logs/<backend>.log
	    local backend=$$1 redis=$$2; shift 2
	    env JIEFEN_TEST_DB=$$backend JIEFEN_TEST_REDIS_URL=redis://127.0.0.1:6379/$$redis "$$@" \
	        $(PY) -m pytest $(PYTEST_ARGS) > .test-logs/$$backend.log 2>&1 &
	    pids+=($$!)
	    ran+=($$backend)
	    if [[ "$(TEST_PARALLEL)" == "0" ]]; then finish $${#pids[@]}; fi
	}
	finish() {  # finish <n>: wait for the n-th leg, print its log, note a failure
	    local i=$$(($$1 - 1))
	    if wait $${pids[$$i]}; then :; else failed+=($${ran[$$i]}); fi
	    echo "==> pytest on $${ran[$$i]}:"
	    cat .test-logs/$${ran[$$i]}.log
	}
	echo "==> pytest on SQLite (.test-logs/sqlite.log)"
	leg sqlite 15
	if $(PY) -c "$$PG_CHECK_PY" '$(TEST_DATABASE_URL)'; then
	    echo "==> pytest on PostgreSQL at $(SHOWN_TEST_DB) (.test-logs/postgresql.log)"
	    leg postgresql 14 TEST_DATABASE_URL='$(TEST_DATABASE_URL)'
	else
	    pg_note=" (postgresql not reachable at $(SHOWN_TEST_DB))"
	fi
	if [[ "$(TEST_PARALLEL)" != "0" ]]; then
	    for n in $$(seq 1 $${#pids[@]}); do finish $$n; done
	fi
	printf '%s\n' "$${ran[@]}" > .test-backends
	echo ""
	echo "Backends run: $${ran[*]}$$pg_note"
	if [[ $${#failed[@]} -gt 0 ]]; then
	    echo "FAILED on: $${failed[*]}" >&2
	    exit 1
	fi

# --- Translations ----------------------------------------------------------------------------

# The msgids are the Chinese strings; app/translations/en/LC_MESSAGES/messages.po holds the English.
# After this, translate every new or fuzzy entry in the .po and run it again (tests/test_i18n.py
# fails on an untranslated or fuzzy msgid, and when the committed .mo is older than the .po).
PYBABEL := $(VENV)/bin/pybabel
TRANSLATIONS := app/translations

translations: $(STAMP_RUN)
	@$(PYBABEL) extract -F babel.cfg -k lazy_gettext -c TRANSLATORS: --add-location=file --sort-by-file \
	    --project=Jiefen -o $(TRANSLATIONS)/messages.pot .
	$(PYBABEL) update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --ignore-obsolete
	$(PYBABEL) compile -d $(TRANSLATIONS) --statistics

clean:
	@rm -fv instance/jiefen.db instance/jiefen.db-journal instance/jiefen.db-wal instance/jiefen.db-shm .test-backends
