"""The SDK matrix (issue #15): real analytics and attribution SDKs, from PyPI and npm, through `mouchard proxy`.

values.py (planted values and decoys), sink.py (the SDK hosts on a local test web), python/ and node/ (one driver
per SDK), score.py (ground truth and scoring), harness.py (runs it all: `python -m tests.sdks.harness`); the test
is tests/test_addons_sdks.py.

Adding an SDK: a driver `python/<sdk>.py` (see python/_driver.py) or `node/<sdk>.mjs` (node/_common.mjs); its
production hosts in `sink.SINK_HOSTS` (and an answer in `sink.answer` if the generic JSON does not satisfy its
client); its exact version in pyproject.toml's test extra or package.json; in tests/test_addons_sdks.py, the
kinds it cannot carry in `NOT_CARRIED` (and a Python SDK's distribution in `PYTHON_SDKS`).
"""
