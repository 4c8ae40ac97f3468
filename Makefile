# Voces — the two commands a newcomer needs:
#   make demo   set up, ingest the illustrative demo corpus, serve on http://127.0.0.1:8000
#   make test   set up, run the whole test suite (slow real-model tests included) on the
#               embedded backend, then again on PostgreSQL + pgvector (pgserver, started
#               and stopped by the tests)

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: setup demo test test-embedded test-postgres test-fast lint bench clean

setup: $(STAMP)

# torch is installed first and pinned: a CPU build of 2.13.0 is available here, while an
# unpinned torch (pulled in by sentence-transformers) would download a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(BIN)/voces demo

test: test-embedded test-postgres

test-embedded: setup
	$(BIN)/ruff check api pipeline models corpus tests bench
	$(BIN)/python -m pytest

test-postgres: setup
	VOCES_TEST_BACKEND=postgresql $(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m 'not slow'

lint: setup
	$(BIN)/ruff check api pipeline models corpus tests bench docs/deploy
	$(BIN)/ruff format --check api pipeline models corpus tests bench docs/deploy
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python docs/deploy/check_compose.py

bench: setup
	$(BIN)/python bench/transcribe.py
	$(BIN)/python bench/embed_crosslingual.py
	$(BIN)/python bench/ingest_search.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
