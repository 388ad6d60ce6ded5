# The two commands of the README: `make demo` and `make test`. Both set everything up first.
VENV := .venv
STAMP := $(VENV)/.bootstrapped
export QT_QPA_PLATFORM ?= offscreen

.PHONY: demo test lint bench setup clean

$(STAMP): pyproject.toml packaging/bootstrap.sh
	bash packaging/bootstrap.sh test
	touch $@

setup: $(STAMP)

demo: $(STAMP)
	QT_QPA_PLATFORM= $(VENV)/bin/switchboard demo

lint: $(STAMP)
	$(VENV)/bin/ruff check engine console switchboard tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

# Two test processes (the CI machine has two cores; most tests wait on real-time audio), each
# taking whole files so a module's engine and calls are made once: 13.5 min instead of 24.5 on
# the 2-core machine. TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 2
test: lint
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --durations=25

bench: $(STAMP)
	$(VENV)/bin/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
