# Quick start: `make run` (server on 127.0.0.1:8080, SQLite, demo markets, a log line per
# request) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck unit bench install install-dev browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: $(VENV)/.installed
	$(BIN)/copytrade serve --access-log

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# Debian's headless Chromium for the dashboard test (Playwright drives it; its own browser
# download is never used). Installed when missing and apt can run (root); otherwise the test
# is skipped, or fails under COPYTRADE_REQUIRE_SERVICES=1.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ ! -x "$(CHROMIUM)" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi

# `make test PYTEST_WORKERS=2` runs two pytest-xdist workers (a file's tests on one worker, so
# its module fixtures are made once; each worker has its own session servers and databases).
# Opt-in: on a busy 2-core machine the rate-limit tests (18 a second, client-side throttle) can
# draw a 1032 when two workers starve each other, and the wall-clock gain there was nil.
PYTEST_WORKERS ?= 0
# Bytecode is written even where the environment says PYTHONDONTWRITEBYTECODE (as this
# machine does): the suite starts dozens of `copytrade` processes (serve, CLI, plugin runs)
# and each compiled the package again (~0.35 s a start; collection ~12 s). The caches go to
# __pycache__/, which git ignores.
test: lint typecheck browser
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/table.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
