# The two set-up commands of the README: `make demo` (install, crawl the demo web, open Datasette) and
# `make test` (install, run the test suite). `make test-oldest` (CI) runs every test that does not start
# Chromium on the oldest supported Python, in its own virtualenv .venv-oldest, except the few marked slow (the
# SDK matrix and the wheel build: about a minute of CI's 20, and they run in `make test`).
# Under make a missing npm package or system tool fails the tests instead of skipping them (tests/conftest.py).
PYTEST_ARGS ?=
.PHONY: setup demo test test-oldest bench metadata

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/mouchard demo

test: setup
	MOUCHARD_TEST_STRICT=1 .venv/bin/python -m pytest -n 2 --dist loadfile -q $(PYTEST_ARGS)

test-oldest:
	@MOUCHARD_VENV=.venv-oldest MOUCHARD_PYTHON=oldest bash scripts/setup.sh
	MOUCHARD_TEST_STRICT=1 .venv-oldest/bin/python -m pytest -n 2 --dist loadfile -q -m "not browser and not slow" $(PYTEST_ARGS)

metadata: setup
	.venv/bin/python -m mouchard.publishing.metadata

bench: setup
	.venv/bin/python benchmarks/crawl.py && .venv/bin/python benchmarks/proxy.py && .venv/bin/python benchmarks/datasette.py && .venv/bin/python benchmarks/ingest.py && .venv/bin/python benchmarks/scale.py
