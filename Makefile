# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

# Debian packages the portal needs beyond Python: pango and a CJK font for the
# printable boards' PDF (WeasyPrint). Installed when missing and apt-get is there.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk

.PHONY: install system-deps run test loadtest lint format migrate demo vendor clean

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

run: demo
	DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:8000

test: install
	$(BIN)/python -m pytest

# Load and fault test on a private PostgreSQL cluster behind gunicorn (about
# 3 minutes; needs PostgreSQL's server binaries and Redis on 127.0.0.1:6379).
loadtest: install
	$(BIN)/python loadtest/run.py --submissions 2000 --clients 50
	$(BIN)/python loadtest/run.py --fault --submissions 600 --clients 20

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

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 .pytest_cache
