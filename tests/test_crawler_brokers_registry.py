"""`mouchard brokers fetch`: California's real 2025 file imports completely, re-fetches say what changed, newer
headers map, lists import, and the live path (Scrapy) reads California, Vermont, Texas and Oregon from the test web."""

from __future__ import annotations

import csv
import json
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from demoweb import DATA as SAMPLES
from mouchard.cli import cli

DATA = SAMPLES / "brokers"
CA_2025 = DATA / "ca-registry-2025.csv"


def fetch(*args: str):
    """`mouchard brokers fetch` in process (a local file needs no Scrapy)."""
    return CliRunner().invoke(cli, ["brokers", "fetch", *args], catch_exceptions=False)


def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """`mouchard ...` in a subprocess (Scrapy's reactor runs once per process)."""
    return subprocess.run([sys.executable, "-m", "mouchard", *args], capture_output=True, text=True, timeout=timeout)


def rows(db: Path, sql: str, params=()) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def read_csv_independently() -> tuple[list[str], list[list[str]]]:
    """The 2025 file as the standard csv module sees it: row 1 is filing guidance, row 2 the header."""
    with CA_2025.open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    return table[1], table[2:]


@pytest.fixture(scope="module")
def ca_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("ca") / "m.db"
    result = fetch("--from", str(CA_2025), "--db", str(db))
    assert result.exit_code == 0, result.output
    return db


def yes_no(text: str) -> str:
    return {"Yes": "yes", "No": "no"}.get(text.strip(), "unknown")


def test_2025_registry_imports_every_broker_with_every_field(ca_db):
    header, data = read_csv_independently()
    assert len(header) == 67 and len(data) == 535
    brokers = rows(ca_db, "SELECT * FROM brokers ORDER BY id")
    assert len(brokers) == 535
    snapshot = rows(ca_db, "SELECT * FROM registry_snapshots")[0]
    assert (snapshot["registry"], snapshot["year"], snapshot["rows"]) == ("ca", 2025, 535)
    # Every field of every row is kept, under its header exactly as written (NBSP and curly quotes included).
    for broker, row in zip(brokers, data):
        assert json.loads(broker["raw_json"]) == dict(zip(header, row))
    # Every metric cell that holds a number is in broker_metrics (30 per fully filled row).
    numbers = sum(1 for row in data for cell in row[35:65] if cell.strip().replace(",", "").replace(".", "").isdigit())
    assert rows(ca_db, "SELECT count(*) n FROM broker_metrics")[0]["n"] == numbers


def test_2025_registry_fields_match_the_file_row_by_row(ca_db):
    header, data = read_csv_independently()
    brokers = rows(ca_db, "SELECT * FROM brokers ORDER BY id")
    sample = sorted(random.Random(2025).sample(range(len(data)), 12) + [0, 78, 534])  # 78: several websites
    for i in sample:
        row, broker = data[i], brokers[i]
        assert broker["name"] == " ".join(row[0].split())
        dba = row[1].strip()
        assert broker["dba"] == (None if dba.lower() in ("", "n/a", "na") else dba)
        first_site = row[2].replace(";", " ").split()[0].strip().rstrip("/").lower()
        assert broker["website"].rstrip("/").lower().endswith(first_site.split("://")[-1])
        assert broker["email"] == (row[3].strip() or None)
        assert broker["city"] == (row[6].strip() or None)
        assert broker["country"] == (row[9].strip() or None)
        assert broker["minors"] == yes_no(row[11])
        assert broker["precise_geolocation"] == yes_no(row[12])
        assert broker["reproductive_health"] == yes_no(row[13])
        assert broker["fcra"] == yes_no(row[15])
        assert broker["glba"] == yes_no(row[19])
        declarations = json.loads(broker["declarations"])
        assert declarations["regulated_hipaa"] == yes_no(row[31])
        assert declarations["regulated_cmia"] == yes_no(row[27])
        assert broker["rights_url"].split("#")[0].rstrip("/") in row[14] or "urldefense" in row[14]
        metrics = {(m["request_type"], m["measure"]): m["value"] for m in rows(
            ca_db, "SELECT * FROM broker_metrics WHERE broker_id = ?", (broker["id"],))}
        if row[35].strip():
            assert metrics[("delete", "received")] == float(row[35].replace(",", ""))
            assert metrics[("delete", "mean_days")] == float(row[40].replace(",", ""))
            assert metrics[("opt-out", "denied")] == float(row[56].replace(",", ""))
            assert metrics[("limit", "median_days")] == float(row[63].replace(",", ""))


def test_2025_registry_awkward_cells_are_read_right(ca_db):
    spokeo = rows(ca_db, "SELECT * FROM brokers WHERE name = 'Spokeo, Inc.'")[0]
    assert json.loads(spokeo["websites"]) == ["https://www.spokeo.com", "https://www.freepeopledirectory.com",
                                               "https://www.peoplewin.com", "https://thatsthem.com"]
    assert spokeo["site"] == "spokeo.com"
    verisk = rows(ca_db, "SELECT rights_url FROM brokers WHERE name LIKE 'Lead Intelligence%'")[0]
    assert verisk["rights_url"] == "https://marketing.verisk.com/privacy-center/"  # urldefense wrapper removed
    decimals = rows(ca_db, "SELECT count(*) n FROM broker_metrics WHERE value != CAST(value AS INTEGER)")[0]["n"]
    assert decimals > 100
    compact = rows(ca_db, "SELECT key FROM brokers WHERE name = 'Compact Information Systems, LLC' ORDER BY id")
    assert len({r["key"] for r in compact}) == 4  # one registration per DBA, told apart
    personal = rows(ca_db, "SELECT email FROM brokers WHERE email_personal = 1")
    flagged = {r["email"] for r in personal}
    assert {"roger.abbott@slashdotmedia.com", "legal@altrata.com; amy.eades@altrata.com"} <= flagged
    assert not rows(ca_db, "SELECT 1 FROM brokers WHERE email_personal = 1 AND email LIKE 'privacy@%'")
    evidence = rows(ca_db, "SELECT e.* FROM evidence_files e JOIN registry_snapshots s ON s.file_id = e.id")[0]
    kept = Path(f"{ca_db}.evidence") / evidence["path"]
    assert kept.read_bytes() == CA_2025.read_bytes() and evidence["documents"] == "registry"


def test_refetch_says_which_brokers_appeared_left_or_changed(tmp_path):
    db = str(tmp_path / "m.db")
    assert fetch("--from", str(CA_2025), "--db", db).exit_code == 0
    same = fetch("--from", str(CA_2025), "--db", db)
    assert "nothing new stored" in same.output
    header_row, data = read_csv_independently()
    with CA_2025.open(encoding="utf-8-sig", newline="") as handle:
        guidance = next(csv.reader(handle))
    data = [list(r) for r in data]
    data[0][2] = "https://www.explorium-new.ai"  # Explorium changed its website
    gone = data.pop(1)[0]  # M1 Data & Analytics left
    data.append(["Brand New Broker LLC"] + [""] * 66)
    changed = tmp_path / "registry2025.csv"
    with changed.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([guidance, header_row, *data])
    result = fetch("--from", str(changed), "--db", db)
    assert result.exit_code == 0, result.output
    assert "1 appeared, 1 left, 1 changed" in result.output
    assert "appeared: brand new broker" in result.output
    assert "left: m1 data and analytics" in result.output and gone.startswith("M1 Data")
    assert "changed: explorium (websites)" in result.output
    summary = json.loads(rows(tmp_path / "m.db", "SELECT summary FROM crawls ORDER BY id DESC LIMIT 1")[0]["summary"])
    assert summary["snapshots"][0]["changed"] == {"explorium": ["websites"]}


def test_newer_headers_map_and_blank_declarations_stay_unknown(tmp_path):
    db = tmp_path / "m.db"
    result = fetch("--from", str(DATA / "ca-registry-2026-sample.csv"), "--year", "2026", "--db", str(db))
    assert result.exit_code == 0, result.output
    brokers = {b["name"]: b for b in rows(db, "SELECT * FROM brokers")}
    sample = brokers["Sample Reconstructed Data, Inc."]
    declarations = json.loads(sample["declarations"])
    genai = [v for k, v in declarations.items() if k.startswith("shared_or_sold_consumers_data_to_a_developer_of")]
    assert genai == ["yes"]
    assert declarations["collects_consumers_biometric_data"] == "no"
    assert sample["precise_geolocation"] == "yes" and sample["fcra"] == "no"
    metrics = {(m["request_type"], m["measure"]): m["value"] for m in rows(
        db, "SELECT * FROM broker_metrics WHERE broker_id = ?", (sample["id"],))}
    assert metrics[("delete", "received")] == 1204 and metrics[("delete", "mean_days")] == 15.5
    assert metrics[("delete", "complied_whole")] == 1100 and metrics[("opt-out", "denied")] == 0
    blank = brokers["Invented People Search LLC"]
    assert blank["minors"] == "yes" and blank["precise_geolocation"] == "unknown"
    assert set(json.loads(blank["declarations"]).values()) == {"unknown"}
    assert json.loads(blank["websites"]) == ["https://www.findfolks-sample.net", "https://www.peoplelens-sample.net"]
    assert blank["email_personal"] == 1


def test_a_journalists_list_imports_as_registry_list(tmp_path):
    listing = tmp_path / "filiales.csv"
    listing.write_text("name,website,country,notes\nMediapost Data,www.mediapost-data-sample.fr,France,"
                       "filiale données d'un groupe postal\nCampaign Voters Inc,https://voters-sample.com/,USA,\n",
                       encoding="utf-8")
    db = tmp_path / "m.db"
    result = fetch("--registry", "list", "--from", str(listing), "--db", str(db))
    assert result.exit_code == 0, result.output
    brokers = rows(db, "SELECT * FROM brokers ORDER BY id")
    assert [(b["registry"], b["name"], b["website"], b["country"]) for b in brokers] == [
        ("list", "Mediapost Data", "https://www.mediapost-data-sample.fr", "France"),
        ("list", "Campaign Voters Inc", "https://voters-sample.com/", "USA")]
    assert brokers[0]["notes"] == "filiale données d'un groupe postal"


def test_a_file_that_is_not_a_registry_is_one_line_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    out = run("brokers", "fetch", "--from", str(bad), "--db", str(tmp_path / "m.db"))
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and "no header row found" in out.stderr
    out = run("brokers", "fetch", "--from", str(tmp_path / "missing.csv"), "--db", str(tmp_path / "m.db"))
    assert out.returncode == 1 and "no such file" in out.stderr


def test_live_registries_are_read_through_the_proxy_with_the_same_code(testweb, tmp_path):
    db = str(tmp_path / "m.db")
    out = run("brokers", "fetch", "--registry", "all", "--proxy", testweb.proxy_url, "--db", db)
    assert out.returncode == 0, out.stderr
    snapshots = rows(tmp_path / "m.db", "SELECT registry, rows FROM registry_snapshots")
    counts = {r["registry"]: r["rows"] for r in snapshots}
    assert counts == {"ca": 3, "vt": 5, "tx": 5, "or": 2}  # ca: the current year's (reconstructed) registry.csv
    vt = {b["name"]: b for b in rows(tmp_path / "m.db", "SELECT * FROM brokers WHERE registry = 'vt'")}
    assert vt["Green Mountain Lists LLC"]["rights_url"] == "https://www.greenmountain-lists-sample.com/opt-out"
    assert vt["Maple Data Exchange, Inc."]["minors"] == "yes" and vt["Maple Data Exchange, Inc."]["email_personal"] == 1
    assert json.loads(vt["Ski Country Marketing Data LLC"]["raw_json"])["Business Status"] == "Expired"
    # The paging POST carried the token and session of the search answer (the portal refuses it otherwise).
    pages = [e for e in testweb.requests_to("bizfilings.vermont.gov") if e["path"].endswith("BusinessSearchList")]
    assert pages and pages[-1]["body"] == b"undefined&sortby=BusinessID&stype=a&pidx=2"
    tx = {b["name"]: b for b in rows(tmp_path / "m.db", "SELECT * FROM brokers WHERE registry = 'tx'")}
    assert tx["Panhandle Location Data LLC"]["rights_url"] == "https://www.panhandle-sample.com/opt-out"
    assert tx["Rio Grande Lists Co"]["rights_url"] is None
    oregon = rows(tmp_path / "m.db", "SELECT * FROM brokers WHERE registry = 'or' ORDER BY id")
    assert oregon[1]["rights_url"].startswith("https://privacyportal.onetrust.com/")
    evidence = rows(tmp_path / "m.db", "SELECT e.media_type FROM evidence_files e JOIN registry_snapshots s "
                                       "ON s.file_id = e.id WHERE s.registry = 'vt'")
    assert evidence == [{"media_type": "application/json"}]  # every portal answer, kept


def test_california_year_file_comes_from_the_agency_url_table(testweb, tmp_path):
    out = run("brokers", "fetch", "--year", "2025", "--proxy", testweb.proxy_url, "--db", str(tmp_path / "m.db"))
    assert out.returncode == 0, out.stderr
    assert "ca 2025: 535 brokers read from https://cppa.ca.gov/data_broker_registry/registry2025.csv" in out.stdout
    assert "linked to tracker entities" in out.stdout
    linked = {r["name"]: r["tracker_entity"] for r in rows(
        tmp_path / "m.db", "SELECT name, tracker_entity FROM brokers WHERE tracker_entity IS NOT NULL")}
    assert linked["LiveRamp, Inc."] == "LiveRamp" and linked["Tapad, Inc."] == "Experian"
    bad = run("brokers", "fetch", "--year", "2019", "--db", str(tmp_path / "m.db"))
    assert bad.returncode == 1 and "no California registry file known for 2019" in bad.stderr
