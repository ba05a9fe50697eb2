"""Tasks read from Redis are hostile: whoever can write to the Redis can write one. Each is screened before a
spider sees it; a bad one is dropped with a one-line warning, counted, recorded in `failures` and acknowledged (never
leased again), and the worker goes on. Property tests on the validators; a real redis-server for the queue."""

from __future__ import annotations

import json
import logging
import uuid
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.distributed import (BrowserTasks, WorkFromRedis, check_broker_task, check_browser_task,
                                 max_attempts_of)
from crawler.frontier import TASK_JSON_MAX, Frontier, Task, parse_task
from crawler.spiders.browser import visit_key
from mouchard.store import Store

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20)


def good(url: str = "https://www.example-news.fr/", phase: str = "initial") -> tuple[str, dict]:
    key = visit_key(url, phase)
    return key, {"key": key, "url": url, "tags": ["news"], "phase": phase}


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=50), st.integers(), st.none()), st.one_of(st.integers(), st.text(max_size=5), st.none()),
       st.one_of(st.text(max_size=200), st.none(), st.integers(), JSON.map(json.dumps)))
def test_parse_task_never_raises_and_only_passes_json_objects(task_id, attempt, text):
    task = parse_task(task_id, attempt, text)
    assert isinstance(task, Task) and isinstance(task.data, dict)
    assert (task.problem is None) == (isinstance(text, str) and bool(task_id if isinstance(task_id, str) else 1)
                                      and isinstance(_loads(text), dict))


def _loads(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), JSON)
def test_validators_never_raise_on_garbage(task_id, data):
    for check in (check_browser_task, check_broker_task):
        assert check(task_id, data) is None or isinstance(check(task_id, data), str)
    assert 1 <= max_attempts_of({"max_attempts": data}) <= 100


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["initial", "reject", "accept", "gpc"]), st.sampled_from(["http", "https"]),
       st.from_regex(r"[a-z]{1,12}(\.[a-z]{2,6}){1,2}", fullmatch=True), st.from_regex(r"(/[a-z0-9]{0,8}){0,3}",
                                                                                       fullmatch=True))
def test_every_task_a_seeder_writes_passes(phase, scheme, host, path):
    key, data = good(f"{scheme}://{host}{path or '/'}", phase)
    assert check_browser_task(key, data) is None


def test_bad_browser_tasks_are_named():
    key, data = good()
    cases = {
        "javascript:alert(1)": ({**data, "url": "javascript:alert(1)", "key": "initial javascript:alert(1)"},
                                "initial javascript:alert(1)"),
        "file": ({**data, "url": "file:///etc/passwd", "key": "initial file:///etc/passwd"}, "initial file:///etc/passwd"),
        "phase": ({**data, "phase": "evil", "key": "evil https://www.example-news.fr/"}, "evil https://www.example-news.fr/"),
        "long": ({**data, "url": "https://a.example/" + "a" * 5000}, key),
        "tags": ({**data, "tags": ["x"] * 1000}, key),
        "extra": ({**data, "spider": "other"}, key),
        "forged key": ({**data, "key": "initial https://other.example/"}, key),
        "space": ({**data, "url": "https://a.example/ x"}, key),
    }
    for name, (bad, task_id) in cases.items():
        assert check_browser_task(task_id, bad), name
    assert check_broker_task("broker:7", {"broker_id": 7}) is None
    assert check_broker_task("broker:7", {"broker_id": True}) and check_broker_task("broker:7", {"broker_id": "7"})


def _worker(frontier: Frontier, db: str):
    stats = {}
    crawler = SimpleNamespace(
        stats=SimpleNamespace(inc_value=lambda k, n=1: stats.__setitem__(k, stats.get(k, 0) + n)),
        settings=SimpleNamespace(get=lambda k, d=None: {"MOUCHARD_DB": db}.get(k, d),
                                 getint=lambda k, d=0: {"MOUCHARD_CRAWL_ID": 1}.get(k, d)))
    return WorkFromRedis(crawler, frontier, BrowserTasks(crawler), worker="w1", lease=60, max_attempts=3,
                         capacity=10), stats


def test_garbage_tasks_in_redis_are_dropped_counted_recorded_and_acknowledged(redis_url, tmp_path, caplog):
    key, data = good()
    frontier, _ = Frontier.seed(redis_url, {"spider": "browser", "max_attempts": 3}, [Task(key, data)],
                                run=uuid.uuid4().hex[:8])
    garbage = {"not-json": "{nope", "a-list": "[1, 2]", "huge": json.dumps({"x": "a" * (TASK_JSON_MAX + 1)}),
               "ftp": json.dumps({"key": "initial ftp://x.example/", "url": "ftp://x.example/", "phase": "initial"}),
               "deep": "[" * 100000 + "]" * 100000}
    client = frontier.client
    for task_id, text in garbage.items():
        client.hset(frontier.key["tasks"], task_id, text)
        client.rpush(frontier.key["queue"], task_id)
    client.rpush(frontier.key["queue"], "id-without-task")
    db = str(tmp_path / "shard.db")
    with Store(db) as store:
        store.start_crawl("web")
    ext, stats = _worker(frontier, db)
    with caplog.at_level(logging.WARNING, logger="mouchard.distributed"):
        tasks = ext.screen(frontier.lease(20, "w1", 60))
    assert [t.id for t in tasks] == [key] and tasks[0].data == data
    assert stats["mouchard/distributed/bad_tasks"] == len(garbage) + 1
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == len(garbage) + 1 and all("\n" not in line and len(line) < 300 for line in lines)
    assert frontier.lease(20, "w2", 60) == []  # acknowledged: never handed out again
    frontier.ack(key, "w1")
    assert frontier.finished() and frontier.status()["done"] == len(garbage) + 2
    with Store(db) as store:
        rows = store.rows("SELECT component, kind, crawl_id, detail FROM failures")
    assert len(rows) == len(garbage) + 1 and {(r["component"], r["kind"], r["crawl_id"]) for r in rows} == \
        {("redis", "decode-error", 1)}
    assert any("not JSON" in r["detail"] for r in rows) and any("http(s)" in r["detail"] for r in rows)
