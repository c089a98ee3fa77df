# tier1 — the two commands of the quick start, plus a few helpers.
#   make run    create/refresh .venv, train if needed, seed the demo KB, start everything
#   make test   create/refresh .venv and run the whole test suite
.PHONY: run test test-fast lock lint help

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2

help:
	@echo "make run   - start tier1 (app :8000, Rasa, action server)"
	@echo "make test  - run the whole test suite"

run:
	@bash scripts/bootstrap.sh
	.venv/bin/tier1 run

test:
	@bash scripts/bootstrap.sh
	.venv/bin/python -m pytest $(PYTEST_ARGS)

test-fast:
	@bash scripts/bootstrap.sh
	.venv/bin/python -m pytest -m "unit" $(PYTEST_ARGS)

lint:
	.venv/bin/ruff check tier1 bot knowledge_base handoff schema_migration tests

# Regenerate constraints.txt from the working environment after changing dependencies.
lock:
	{ echo "# tier1's resolved dependency set for Python 3.10 (pip freeze of a working .venv)."; \
	  echo "# Used as pip constraints so a fresh install is one pass. Regenerate: make lock"; \
	  .venv/bin/pip freeze --exclude-editable | grep -v '^-e' | grep -vi '^tier1'; } > constraints.txt
