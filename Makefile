# Everything a fresh clone needs: `make synth` and `make test` set up the rest.
PYTHON ?= python3
ENV ?= example
VENV := .venv
PY := $(VENV)/bin/python
CDK := npx --no-install cdk

# Keep CDK and jsii output to what matters: no Node.js end-of-life banner, no
# notices, no telemetry.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: synth test lint format benchmark clean deps

synth: deps
	@rm -rf cdk.out
	@$(CDK) synth -c env=$(ENV) --quiet --no-notices > cdk.synth.log 2>&1 \
		|| { grep '^error: ' cdk.synth.log >&2 || cat cdk.synth.log >&2; \
		     rm -f cdk.synth.log; exit 1; }
	@rm -f cdk.synth.log
	@$(PY) scripts/assembly_summary.py cdk.out

test: deps
	$(PY) -m pytest

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: deps
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

benchmark: deps
	$(PY) benchmarks/synth_domains.py 1 10 50

deps: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	@npm ci --silent --no-audit --no-fund
	@touch $@

clean:
	rm -rf cdk.out .pytest_cache
