# The two set-up commands of the README: `make demo` (install, crawl the demo web, open Datasette) and
# `make test` (install, run the test suite). `make test-oldest` (by hand, before a release) checks requires-python on the oldest
# supported Python, in its own virtualenv .venv-oldest: mouchard installs there and every module of every package
# imports (tests/test_core_import_all.py). The tests run once, in `make test`, on the newest Python (CI has 20
# minutes; `make test-oldest PYTEST_ARGS=tests/` runs them all on the oldest).
# Under make a missing npm package or system tool fails the tests instead of skipping them (tests/conftest.py).
PYTEST_ARGS ?=
.PHONY: setup demo test test-oldest bench metadata

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/mouchard demo

# The longest test files are named first (pytest skips a path given twice, so tests/ adds only the rest): xdist's
# loadfile hands files out in that order, so no long file starts last and leaves the other worker idle at the end.
# Two workers on two cores: a third was no faster (the suite is CPU-bound) and a crawl under that load timed out.
HEAVY_TESTS = tests/test_demo.py tests/test_readers_browser.py tests/test_audits_e2e.py tests/test_consent_cycle.py \
	tests/test_crawler_hostile.py tests/test_consent_layout.py tests/test_vendors_web.py \
	tests/test_crawler_distributed.py tests/test_crawler_consent.py tests/test_addons_sdks.py tests/test_crawler_resume.py \
	tests/test_crawler_apis.py tests/test_crawler_consent_crawl.py tests/test_crawler_recall.py \
	tests/test_crawler_brokers_markup.py tests/test_api.py tests/test_me_e2e.py

test: setup
	MOUCHARD_TEST_STRICT=1 .venv/bin/python -m pytest -n 2 --dist loadfile -q $(PYTEST_ARGS) $(HEAVY_TESTS) tests/

test-oldest:
	@MOUCHARD_VENV=.venv-oldest MOUCHARD_PYTHON=oldest bash scripts/setup.sh
	MOUCHARD_TEST_STRICT=1 .venv-oldest/bin/python -m pytest -q tests/test_core_import_all.py $(PYTEST_ARGS)

metadata: setup
	.venv/bin/python -m mouchard.publishing.metadata

bench: setup
	.venv/bin/python benchmarks/crawl.py && .venv/bin/python benchmarks/proxy.py && .venv/bin/python benchmarks/datasette.py && .venv/bin/python benchmarks/ingest.py && .venv/bin/python benchmarks/scale.py
