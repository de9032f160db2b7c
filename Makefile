# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The GPU worker's tests run a tiny model on the CPU; this torch is then kept
# by the `gpu` extra's range (no second download).
TORCH_VERSION ?= 2.13.0

.PHONY: run test lint lock clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Stamps: reinstall only when the lock files change. Every package comes
# pinned from a lock file (`make lock` writes them from the environment).
$(VENV)/.site: pyproject.toml requirements.lock | $(PY)
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@

$(VENV)/.test: pyproject.toml requirements-dev.lock | $(PY)
	$(PY) -m pip install -q "torch==$(TORCH_VERSION)"
	$(PY) -m pip install -q -r requirements-dev.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@ $(VENV)/.site

run: $(VENV)/.site
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py bootstrap_admin
	$(PY) manage.py run_site

test: $(VENV)/.test
	$(PY) -m pytest

lint: $(VENV)/.test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/hadolint Dockerfile

# After changing dependencies in pyproject.toml: install them, then pin what is installed.
lock: | $(PY)
	$(PY) -m pip install -q "torch==$(TORCH_VERSION)"
	$(PY) -m pip install -q -e '.[test,gpu]'
	$(PY) bin/lock

clean:
	rm -rf $(VENV) staticfiles
