"""`mouchard classify` rebuilds the derived tracker columns of recorded rows."""

import subprocess
import sys

from mouchard.storage.store import Store


def test_classify_fills_and_corrects_tracker_columns(tmp_path):
    db = tmp_path / "m.db"
    store = Store(db)
    crawl = store.start_crawl("web")
    with store.transaction() as tx:
        visit = tx.insert("visits", {"crawl_id": crawl, "key": "k", "url": "https://www.example-news.fr/",
                                     "site": "example-news.fr"})
        tx.insert_many("requests", [
            {"visit_id": visit, "url": "https://stats.g.doubleclick.net/g/collect", "resource_type": "image"},
            {"visit_id": visit, "url": "https://www.example-news.fr/app.js", "resource_type": "script",
             "tracker_entity": "Wrong Inc", "tracker_category": "advertising", "tracker_list": "old"},
        ])
        tx.insert("cookies", {"visit_id": visit, "name": "IDE", "domain": ".doubleclick.net"})
        tx.insert("flows", {"crawl_id": crawl, "url": "https://graph.facebook.com/v1/events", "host": "graph.facebook.com"})
    store.close()
    out = subprocess.run([sys.executable, "-m", "mouchard", "classify", "--db", str(db)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    store = Store(db)
    requests = store.rows("SELECT url, tracker_entity, tracker_category FROM requests ORDER BY id")
    assert requests[0]["tracker_entity"] == "Google" and requests[0]["tracker_category"] == "advertising"
    assert requests[1]["tracker_entity"] is None
    assert store.rows("SELECT tracker_entity FROM cookies")[0]["tracker_entity"] == "Google"
    assert store.rows("SELECT tracker_entity FROM flows")[0]["tracker_entity"] == "Meta"
    assert store.rows("SELECT kind, status FROM crawls WHERE kind = 'classify'") == [{"kind": "classify", "status": "finished"}]


def test_classify_without_a_database_is_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "mouchard", "classify", "--db", str(tmp_path / "none.db")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "no database" in out.stderr and "Traceback" not in out.stderr


def test_classify_through_the_api(tmp_path):
    from mouchard import api
    from mouchard.errors import UserError

    db = tmp_path / "a.db"
    with Store(db) as store:
        crawl = store.start_crawl("web")
        with store.transaction() as tx:
            visit = tx.insert("visits", {"crawl_id": crawl, "key": "k", "url": "https://www.example-news.fr/",
                                         "site": "example-news.fr"})
            tx.insert("requests", {"visit_id": visit, "url": "https://stats.g.doubleclick.net/g/collect",
                                   "resource_type": "image"})
    changed = api.classify(str(db))
    assert changed["requests"] == 1 and changed["brokers"] == 0
    assert api.classify(str(db))["requests"] == 0  # nothing left to change
    with Store(db) as store:
        assert [r["status"] for r in store.rows("SELECT status FROM crawls WHERE kind = 'classify'")] == ["finished"] * 2
    try:
        api.classify(str(tmp_path / "none.db"))
    except UserError as error:
        assert "no database" in str(error)
    else:
        raise AssertionError("no UserError for a missing database")
