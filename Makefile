# VoxLoop: `make demo` runs the product with demo data; `make test` runs the whole suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup assets lint messages bench-quick clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml package.json | $(BIN)/python
	$(BIN)/pip install -q -e ".[test,train]"
	npm install --no-audit --no-fund --silent
	touch $(STAMP)

setup: $(STAMP)
	$(BIN)/voxloop collectstatic --noinput -v 0

demo: setup
	$(BIN)/voxloop migrate --noinput -v 0
	$(BIN)/voxloop createcachetable
	$(BIN)/voxloop load_demo
	VOXLOOP_DEMO=1 $(BIN)/voxloop serve --host 127.0.0.1 --port 8000

test: setup
	scripts/run-tests

lint:
	$(BIN)/ruff check .

# Translations: .po and compiled .mo files are committed, so setup needs no gettext.
messages:
	for app in voxloop/*/ voxloop/channels/*/; do [ -d $$app/locale ] && (cd $$app && $(CURDIR)/$(BIN)/voxloop makemessages -l zh_Hans -l en -v 0); done; true
	$(BIN)/voxloop compilemessages --ignore=.venv --ignore=node_modules -v 0

bench-quick: setup
	$(BIN)/python benchmarks/ingest.py --quick

clean:
	rm -rf $(VENV) node_modules staticfiles
