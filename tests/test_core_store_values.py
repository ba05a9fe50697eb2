"""Numbers from data that SQLite cannot hold (an integer past int64, a NaN or infinite float) are stored as text:
the record is kept, and a `failures` row (value-out-of-range) says which column of which row. End to end through
`mouchard import` with an OpenRTB request whose `tmax` has 21 digits (the proxy's single writer is the same)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from demoweb import DATA as SAMPLES
from mouchard.storage.store import INT64_MAX, INT64_MIN, OUT_OF_RANGE, Store

PROFILE = SAMPLES / "profiles" / "android.yml"
TMAX = 123456789012345678901  # 21 digits: the OpenRTB timeout a hostile exchange or app sends


def test_an_integer_past_int64_is_stored_as_text_with_a_failure_row(tmp_path):
    with Store(tmp_path / "v.db") as store:
        crawl_id = store.start_crawl("import")
        with store.transaction() as tx:
            flow_id = tx.insert("flows", {"crawl_id": crawl_id, "url": "https://x.example/", "status": 10 ** 30})
            tx.insert("rtb", {"flow_id": flow_id, "event": "openrtb-request", "timeout_ms": TMAX,
                              "fields": {"tmax": TMAX}})
            assert tx.out_of_range == 2
        assert store.values_out_of_range == 2
        rtb = store.rows("SELECT timeout_ms, typeof(timeout_ms) AS t, fields FROM rtb")[0]
        assert (rtb["timeout_ms"], rtb["t"]) == (f"{TMAX}{OUT_OF_RANGE}", "text")
        assert json.loads(rtb["fields"]) == {"tmax": TMAX}  # inside JSON text a big integer is no problem
        assert store.rows("SELECT status FROM flows")[0]["status"] == f"{10 ** 30}{OUT_OF_RANGE}"
        failures = store.rows("SELECT crawl_id, flow_id, component, kind, detail FROM failures ORDER BY id")
        assert [(f["crawl_id"], f["flow_id"], f["component"], f["kind"]) for f in failures] == \
            [(crawl_id, flow_id, "store", "value-out-of-range")] * 2
        assert failures[0]["detail"] == "flows.status: integer of 31 digits stored as text"
        assert failures[1]["detail"] == "rtb.timeout_ms: integer of 21 digits stored as text"


def test_nan_and_infinite_floats_keep_the_row_in_insert_many_and_update(tmp_path):
    with Store(tmp_path / "v.db") as store:
        crawl_id = store.start_crawl("web")
        visit_id = store.insert("visits", {"crawl_id": crawl_id, "key": "k", "url": "https://x.example/"})
        written = store.insert_many("rtb", [{"visit_id": visit_id, "cpm": float("nan")},
                                            {"visit_id": visit_id, "cpm": 1.5},
                                            {"visit_id": visit_id, "cpm": float("-inf")}])
        assert written == 3
        cpms = {r["cpm"] for r in store.rows("SELECT cpm FROM rtb")}
        assert cpms == {1.5, f"nan{OUT_OF_RANGE}", f"-inf{OUT_OF_RANGE}"}
        store.update("visits", visit_id, {"load_ms": 2 ** 64})
        assert store.rows("SELECT load_ms FROM visits")[0]["load_ms"] == f"{2 ** 64}{OUT_OF_RANGE}"
        failures = store.rows("SELECT visit_id, detail FROM failures ORDER BY id")
        assert {f["visit_id"] for f in failures} == {visit_id} and len(failures) == 3
        assert failures[-1]["detail"] == "visits.load_ms: integer of 20 digits stored as text"


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True)))
def test_any_number_is_written_and_read_back_without_loss(tmp_path_factory, number):
    db = tmp_path_factory.mktemp("p") / "p.db"
    with Store(db) as store:
        store.insert("rtb", {"timeout_ms": number})
        value = store.rows("SELECT timeout_ms FROM rtb")[0]["timeout_ms"]
        in_range = isinstance(number, int) and INT64_MIN <= number <= INT64_MAX
        if in_range:
            assert value == number
        elif isinstance(number, int) or number != number or number in (float("inf"), float("-inf")):
            assert value == f"{number}{OUT_OF_RANGE}" and store.count("failures") == 1
        else:
            assert value == number


def test_import_of_an_openrtb_request_with_a_21_digit_tmax_keeps_the_flow(tmp_path):
    from mitmproxy import io
    from mitmproxy.test import tflow

    ad = tflow.tflow(resp=True)
    ad.request.url = "https://ads.exchange.example/openrtb2/auction"
    ad.request.method = "POST"
    ad.request.headers["Content-Type"] = "application/json"
    ad.request.content = json.dumps({"id": "r1", "imp": [{"id": "1", "banner": {"w": 300, "h": 250}}],
                                     "tmax": TMAX, "device": {"ua": "x"}}).encode()
    capture = tmp_path / "tmax.mitm"
    with capture.open("wb") as handle:
        io.FlowWriter(handle).add(ad)
    db = tmp_path / "tmax.db"
    out = subprocess.run([sys.executable, "-m", "mouchard", "import", str(capture), "--db", str(db),
                          "--profile", str(PROFILE)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM flows").fetchone()[0] == 1
    assert con.execute("SELECT event, timeout_ms FROM rtb").fetchall() == [("openrtb-request", f"{TMAX}{OUT_OF_RANGE}")]
    failures = con.execute("SELECT f.kind, f.component, f.flow_id = fl.id, f.detail FROM failures f "
                           "JOIN flows fl ON fl.id = f.flow_id").fetchall()
    assert failures == [("value-out-of-range", "store", 1, "rtb.timeout_ms: integer of 21 digits stored as text")]


def test_non_finite_numbers_inside_json_columns_are_strict_json_and_noted(tmp_path):
    with Store(tmp_path / "j.db") as store:
        crawl_id = store.start_crawl("import")
        with store.transaction() as tx:
            flow_id = tx.insert("flows", {"crawl_id": crawl_id, "url": "https://x.example/"})
            tx.insert("rtb", {"flow_id": flow_id, "event": "openrtb-request",
                              "fields": {"bidfloor": float("nan"), "imp": [{"w": float("inf")}, 300]}})
        fields = store.rows("SELECT fields FROM rtb")[0]["fields"]
        assert json.loads(fields, parse_constant=lambda c: pytest.fail(f"non-strict JSON: {c}")) == {
            "bidfloor": f"nan{OUT_OF_RANGE}", "imp": [{"w": f"inf{OUT_OF_RANGE}"}, 300]}
        details = [r["detail"] for r in store.rows("SELECT detail FROM failures WHERE kind = 'value-out-of-range'")]
        assert details == ["rtb.fields: non-finite number inside JSON stored as text"]
