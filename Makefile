# Every target sets up the virtual environment first, so a fresh clone needs only `make solve`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/us_default.yaml

.PHONY: setup browser solve test lint check compare tradeoff export clean

setup: $(VENV)/.installed browser

# The map test opens map.html in headless Chromium. Debian's package is installed when it
# is missing and this runs as root; otherwise the message says what to install.
CHROMIUM := $(shell command -v chromium || command -v chromium-browser || command -v google-chrome)

browser:
ifeq ($(CHROMIUM),)
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get install -y -qq chromium >/dev/null 2>&1 || \
		(apt-get update -qq && apt-get install -y -qq chromium); \
	else \
		echo "Chromium is missing: install it (Debian/Ubuntu: sudo apt-get install chromium)" \
			"or the map browser test will fail."; \
	fi
endif

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

solve: setup
	$(BIN)/territory solve $(SCENARIO)

check: setup
	$(BIN)/territory check $(SCENARIO)

# Pre-built against just-in-time over the same hiring horizon; writes out/compare/<name>/.
compare: setup
	$(BIN)/territory compare scenarios/us_hiring_prebuilt.yaml scenarios/us_hiring_jit.yaml

# Balance and distance against accounts moved, one solve per disruption budget. Writes
# out/<name>/tradeoff/, and the scenario must map a current_owner column.
tradeoff: setup
	$(BIN)/territory tradeoff $(SCENARIO)

# CRM load files for every target (Salesforce, HubSpot, Dynamics 365, CSV) of the solved
# plan; solves first when the plan folder is missing. Writes out/<name>/export/<target>/.
PLAN_DIR ?= out/us_default

export: setup
	test -f $(PLAN_DIR)/summary.json || $(BIN)/territory solve $(SCENARIO)
	$(BIN)/territory export $(PLAN_DIR) --to all

test: setup
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check solver tests $(wildcard benchmarks)
	$(BIN)/ruff format --check solver tests $(wildcard benchmarks)
	$(BIN)/mypy solver

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache .mypy_cache

# Benchmarks, outside the test run (see benchmarks/README.md). bench cuts the M time limit
# to 60 s so that three solvers per size finish within 10 minutes on 2 cores; bench-full
# uses the default limits and adds L and XL.
.PHONY: bench bench-full bench-contiguity

bench: setup
	$(BIN)/python -m benchmarks.run --sizes S M --time-limit M=60

bench-full: setup
	$(BIN)/python -m benchmarks.run --sizes S M L XL

# Contiguity on grids of 3,600 and 10,000 units, scalable path plus repair (about 3 minutes).
bench-contiguity: setup
	$(BIN)/python -m benchmarks.contiguity
