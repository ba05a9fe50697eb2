# The two set-up commands of the README: `make demo` (install, crawl the demo web, open Datasette) and
# `make test` (install, run the test suite). `make test-oldest` (CI) checks requires-python on the oldest
# supported Python, in its own virtualenv .venv-oldest: every module imports (tests/test_core_import_all.py) and the
# pure-logic tests run (the core, the readers' pages, the rollups, the audits, the docs), without Chromium and without
# the slow ones. The tests that drive a browser, mitmdump or Scrapy run in `make test` (CI has 20 minutes).
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
	MOUCHARD_TEST_STRICT=1 .venv-oldest/bin/python -m pytest -n 2 --dist loadfile -q -m "not browser and not slow" \
		tests/test_core_*.py tests/test_readers_*.py tests/test_rollups.py tests/test_audits_*.py tests/test_docs.py \
		$(PYTEST_ARGS)

metadata: setup
	.venv/bin/python -m mouchard.publishing.metadata

bench: setup
	.venv/bin/python benchmarks/crawl.py && .venv/bin/python benchmarks/proxy.py && .venv/bin/python benchmarks/datasette.py && .venv/bin/python benchmarks/ingest.py && .venv/bin/python benchmarks/scale.py
