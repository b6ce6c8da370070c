# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

# Some machines set PYTHONDONTWRITEBYTECODE=1: every Python process the suite,
# CI and the benches start (test workers, manage.py, gunicorn, the servers of
# the load test) then compiles the portal's 500 modules again. Measured
# 2026-12-06 on a slow 2-core VM: the files that start processes ran in 35 s
# with bytecode kept, 47 s without. __pycache__ is ignored by git.
unexport PYTHONDONTWRITEBYTECODE

# Debian packages the portal needs beyond Python: pango and a CJK font for the
# printable boards' PDF (WeasyPrint). Installed when missing and apt-get is there.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk

.PHONY: install system-deps run test loadtest lint format migrate demo vendor clean \
	seed-scale bench bench-smoke pageweight vendor-axe vendor-vnu messages

system-deps:
	@if command -v dpkg >/dev/null && ! dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(SYSTEM_PACKAGES); \
	  else echo "Please install: $(SYSTEM_PACKAGES)"; exit 1; fi; \
	fi

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP) system-deps

migrate: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput

demo: migrate
	DEBUG=1 $(BIN)/python manage.py seed_demo

# `make run PORT=8001` when 8000 is taken; links in mails follow the port.
PORT ?= 8000
run: demo
	DEBUG=1 PORTAL_BASE_URL=$${PORTAL_BASE_URL:-http://127.0.0.1:$(PORT)} \
	  $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# On both cores (pytest-xdist: a file's tests on one worker, each worker its
# own database), then the browser tests, on both cores too (each worker its
# own live server and browser).
test: install vendor-vnu
	$(BIN)/python -m pytest -m "not e2e" -n 2 --dist loadfile
	$(BIN)/python -m pytest -m e2e -n 2 --dist loadfile tests/e2e

# Load and fault test on a private PostgreSQL cluster behind gunicorn (about
# 3 minutes; needs PostgreSQL's server binaries and Redis on 127.0.0.1:6379).
loadtest: install
	$(BIN)/python loadtest/run.py --submissions 2000 --clients 50
	$(BIN)/python loadtest/run.py --fault --submissions 600 --clients 20

# County-scale data into DATABASE_URL: 30 towns, ~300,000 disclosures,
# ~200,000 回音壁 submissions; idempotent, a few minutes.
seed-scale: migrate
	$(BIN)/python manage.py seed_scale --towns 30 --units-per-town 16 --years 10

# The benchmark (docs/PERFORMANCE.md; not part of `make test`): gunicorn with
# production settings beside hello world, loaded by wrk (installed when missing),
# on SQLite, then on PostgreSQL with the two-server scale-out check. About 15
# minutes the first time (seeding both data sets), 8 after. Needs Redis.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/fengming_scale
bench: install
	env -u DATABASE_URL $(BIN)/python bench/run.py
	$(BIN)/python bench/run.py --database $(BENCH_DATABASE_URL) --scale-out

# A short run on a small SQLite data set (about 2 minutes): CI's smoke test.
bench-smoke: install
	env -u DATABASE_URL $(BIN)/python bench/run.py --smoke

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Refresh the vendored Bootstrap from the npm registry (needs npm).
vendor:
	rm -rf /tmp/fengming-vendor && mkdir -p /tmp/fengming-vendor
	cd /tmp/fengming-vendor && npm pack --silent bootstrap@5.3.8 && tar xzf bootstrap-5.3.8.tgz
	cp /tmp/fengming-vendor/package/dist/css/bootstrap.min.css* static/vendor/bootstrap/css/
	cp /tmp/fengming-vendor/package/dist/js/bootstrap.bundle.min.js* static/vendor/bootstrap/js/
	cp /tmp/fengming-vendor/package/LICENSE static/vendor/bootstrap/LICENSE

# What a first visit to the home page and a board transfers (budget 150 KB),
# in Debian's chromium against collected, compressed static files.
# Lighthouse's scores too when LIGHTHOUSE points to its npm binary.
pageweight: install
	$(BIN)/python bench/pageweight.py --lighthouse

# Refresh the axe-core used by the browser tests (tests/e2e/vendor/, needs npm).
AXE_VERSION ?= 4.14.1
vendor-axe:
	rm -rf /tmp/fengming-axe && mkdir -p /tmp/fengming-axe
	cd /tmp/fengming-axe && npm pack --silent axe-core@$(AXE_VERSION) && tar xzf axe-core-$(AXE_VERSION).tgz
	cp /tmp/fengming-axe/package/axe.min.js tests/e2e/vendor/axe.min.js
	cp /tmp/fengming-axe/package/LICENSE tests/e2e/vendor/LICENSE-axe-core
	printf 'axe-core %s (npm package axe-core, file axe.min.js), MPL-2.0: LICENSE-axe-core.\nRefresh with `make vendor-axe AXE_VERSION=x.y.z`. Used only by the browser tests.\n' $(AXE_VERSION) > tests/e2e/vendor/VERSION

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 .pytest_cache

# The Nu HTML Checker (vnu.jar, MIT) for tests/markup/, from the npm registry
# into the git-ignored .vendor/ (a 30 MB jar, not kept in git). It runs on
# java (Debian's default-jre-headless, which .ci/run installs). Without npm the
# markup test is skipped, unless CI=true.
VNU_VERSION ?= 26.9.27
VNU_JAR := .vendor/vnu-$(VNU_VERSION)/vnu.jar
vendor-vnu:
	@if [ -f $(VNU_JAR) ]; then exit 0; fi; \
	if ! command -v npm >/dev/null; then \
	  echo "npm not found: no Nu HTML Checker, its test will be skipped"; \
	  [ "$${CI:-}" != true ]; exit; \
	fi; \
	tmp=$$(mktemp -d) && \
	(cd $$tmp && npm pack --silent vnu-jar@$(VNU_VERSION) >/dev/null && \
	  tar xzf vnu-jar-$(VNU_VERSION).tgz) && \
	mkdir -p $(dir $(VNU_JAR)) && \
	cp $$tmp/package/build/dist/vnu.jar $(VNU_JAR).part && \
	cp $$tmp/package/LICENSE $(dir $(VNU_JAR))LICENSE && \
	mv $(VNU_JAR).part $(VNU_JAR) && rm -rf $$tmp && echo "Nu HTML Checker: $(VNU_JAR)"

# Our overrides of Django's Chinese catalogs (locale/zh_Hans: the admin's
# wording and the strings its catalog lacks). The .mo files are committed, so
# only who edits a .po needs gettext's msgfmt.
messages:
	for po in locale/*/LC_MESSAGES/*.po; do msgfmt --check -o "$${po%.po}.mo" "$$po"; done
