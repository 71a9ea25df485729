# Two entry points for a fresh machine: `make demo` and `make test`. Each creates .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch 2.13.0 is the CPU build that lies on this kind of machine; pin it so pip never pulls a CUDA build.
TORCH := torch==2.13.0

.PHONY: venv demo test test-slow bench browser clean

$(BIN)/activate:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)

$(VENV)/.installed-base: $(BIN)/activate pyproject.toml
	$(BIN)/pip install -q $(TORCH) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-base
	$(BIN)/pip install -q $(TORCH) -e ".[test]"
	$(BIN)/pip install -q --no-deps molsets  # the MOSES splits (moses_small); its pins do not install
	touch $@

venv: $(VENV)/.installed-base

demo: $(VENV)/.installed-base
	$(BIN)/qedm demo

# The HTML report test opens the report in Debian's headless Chromium; install it when we can
# (root with apt), otherwise that one test is skipped with its reason.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium not installed: the browser test will be skipped"; }

test: $(VENV)/.installed-test browser
	$(BIN)/ruff check qedm tests benchmarks
	$(BIN)/python -m pytest -q

test-slow: $(VENV)/.installed-test
	QEDM_SLOW=1 $(BIN)/python -m pytest -q

# The simulator against PennyLane with the protocol of BENCHMARKS.md (1 thread, CPU-time clock).
bench: $(VENV)/.installed-test
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/bench_quantum.py --threads 1 --repeats 5 --runs 5 --clock cpu

clean:
	rm -rf $(VENV) runs .pytest_cache
