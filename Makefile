# Two commands do all the setup on a machine with Python >= 3.11:
#   make run    install, migrate, serve on http://127.0.0.1:8000 (embedded defaults)
#   make test   install with dev extras, run the test suite

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
BIN := $(VENV)/bin
PIP_INSTALL := $(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt

# Local runs are development runs unless the environment says otherwise.
export DEBUG ?= 1

.PHONY: run test lint format migrate superuser demo lock clean image-check compose-check

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

migrate: $(VENV)/.installed-run
	$(BIN)/python manage.py migrate --noinput

run: migrate
	@$(BIN)/python manage.py collectstatic --noinput -v 0
	@echo ""
	@echo "  GHL Agent Hub is starting on http://$(HOST):$(PORT)/"
	@echo "  Health: http://$(HOST):$(PORT)/health   Admin: http://$(HOST):$(PORT)/admin/"
	@echo "  Create a staff user in another terminal with:  make superuser"
	@echo ""
	$(BIN)/python -m config.serve -b $(HOST) -p $(PORT) config.asgi:application

# The whole product offline: the local GHL sandbox (OAuth, API, webhooks) and
# the web app signed in through it. `manage.py ghl_sandbox` runs the sandbox alone.
SANDBOX_PORT ?= 8100
demo: migrate
	$(BIN)/python manage.py ghl_demo --host $(HOST) --port $(PORT) --sandbox-port $(SANDBOX_PORT)

superuser: migrate
	$(BIN)/python manage.py createsuperuser

# One test process per CPU: most tests wait on real subprocesses and sockets.
TEST_WORKERS ?= auto

test: $(VENV)/.installed-dev
	$(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# mypy's Django plugin loads config.settings, so it runs with development defaults
# whatever the shell says; lint-imports checks the import contracts in pyproject.toml.
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile
	DEBUG=1 $(BIN)/mypy
	$(BIN)/lint-imports --no-logo

# The image proven to serve: built with docker/podman when one works, otherwise its
# build rehearsed into a scratch folder; then started as compose starts it (see
# scripts/image_check.py). Uses IMAGE_CHECK_DATABASE_URL (dropped and created anew)
# and IMAGE_CHECK_REDIS_URL (flushed): give it a database and a Redis db of its own.
image-check: $(VENV)/.installed-dev
	$(BIN)/python scripts/image_check.py

# compose.yaml resolved with .env.example filled in with fresh keys, the web service's
# environment loaded into the settings and `check --deploy` run on it.
compose-check: $(VENV)/.installed-dev
	$(BIN)/python scripts/compose_env.py --from-example check

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-pin from a fresh resolution of pyproject.toml: requirements.txt holds the
# runtime pins (the Docker image installs it), constraints.txt runtime + dev.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --disable-pip-version-check -q .
	.venv-lock/bin/python -m pip freeze | grep -v '^ghl-agent-hub' > requirements.txt
	.venv-lock/bin/python -m pip install --disable-pip-version-check -q '.[dev]'
	.venv-lock/bin/python -m pip freeze | grep -v '^ghl-agent-hub' > constraints.txt
	rm -rf .venv-lock build *.egg-info

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .mypy_cache .import_linter_cache .hypothesis .coverage htmlcov
