# The two set-up commands of the README: `make demo` (install, crawl the demo web, open Datasette) and
# `make test` (install, run the test suite).
PYTEST_ARGS ?=
.PHONY: setup demo test bench metadata

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/mouchard demo

test: setup
	.venv/bin/python -m pytest -n 2 --dist loadfile -q $(PYTEST_ARGS)

metadata: setup
	.venv/bin/python -m mouchard.metadata

bench: setup
	.venv/bin/python benchmarks/crawl.py && .venv/bin/python benchmarks/proxy.py && .venv/bin/python benchmarks/datasette.py && .venv/bin/python benchmarks/ingest.py && .venv/bin/python benchmarks/scale.py
