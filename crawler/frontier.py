"""The run's shared queue in Redis: tasks taken with a lease, renewed while a worker works, acknowledged when done,
reaped when a worker died (back to the head of the queue, or given up after `max_attempts` leases).

scrapy-redis pops work destructively (a start-URL list, or its scheduler's request queue): a machine that dies
loses what it held. Here a task moves atomically (a Lua script, on the Redis server's clock, so machines with
skewed clocks agree) from the queue to a sorted set of lease deadlines; it leaves that set only when acknowledged,
released, or reaped. The client is built by scrapy-redis's connection helper (its defaults and `REDIS_URL` form).

Redis keys of run R (prefix `mouchard:run:R:`): `config` (JSON), `tasks` (hash id -> task JSON), `queue` (list
of ids), `leases` (zset id -> deadline), `owners` (hash id -> worker), `attempts` (hash id -> leases taken),
`done` (set of ids), `failed` (list of given-up ids), `workers` (hash worker -> last heartbeat). `mouchard:current`
names the run `mouchard worker` joins by default.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mouchard.errors import UserError

if TYPE_CHECKING:
    import redis

PREFIX = "mouchard:run:"
CURRENT = "mouchard:current"
DEFAULT_LEASE = 120.0  # seconds a worker holds a task without renewing it: how long a dead worker's task waits
DEFAULT_MAX_ATTEMPTS = 3

# Lua scripts run atomically on the server, with the server's clock: two workers never take the same task, and
# machines with skewed clocks agree on when a lease expires.
_NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000\n"
LEASE = _NOW + """
local out = {}
local want = tonumber(ARGV[1])
while #out < want * 3 do
  local id = redis.call('LPOP', KEYS[1])
  if not id then break end
  if redis.call('SISMEMBER', KEYS[4], id) == 0 then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), id)
    redis.call('HSET', KEYS[3], id, ARGV[3])
    local attempt = redis.call('HINCRBY', KEYS[5], id, 1)
    table.insert(out, id); table.insert(out, attempt); table.insert(out, redis.call('HGET', KEYS[6], id))
  end
end
return out
"""
RENEW = _NOW + """
local lost = {}
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[1] then
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[i])
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
"""
ACK = """
local held = 0
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  held = redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
end
redis.call('SADD', KEYS[3], ARGV[1])
return held
"""
RELEASE = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HINCRBY', KEYS[4], ARGV[1], -1)
  redis.call('LPUSH', KEYS[3], ARGV[1])
  return 1
end
return 0
"""
REAP = _NOW + """
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
local requeued = 0
local given_up = {}
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  if redis.call('SISMEMBER', KEYS[5], id) == 0 then
    local attempt = tonumber(redis.call('HGET', KEYS[6], id) or '0')
    if attempt >= tonumber(ARGV[1]) then
      redis.call('SADD', KEYS[5], id)
      redis.call('RPUSH', KEYS[4], id)
      table.insert(given_up, id); table.insert(given_up, attempt); table.insert(given_up, redis.call('HGET', KEYS[7], id))
    else
      redis.call('LPUSH', KEYS[3], id)
      requeued = requeued + 1
    end
  end
end
return {requeued, given_up}
"""


# Bounds of what a task read back from Redis may be: anyone who can write to the Redis can write a task.
TASK_ID_MAX = 4096  # characters of a task id
TASK_JSON_MAX = 64 * 1024  # characters of a task's JSON


@dataclass(frozen=True)
class Task:
    """One unit of a spider's input, as the queue holds it; `attempt` counts the leases taken on it (1 = first).

    `problem` is set (and `data` empty) when what Redis held is not a task at all: the worker drops it (see
    `crawler.distributed.WorkFromRedis.screen`)."""

    id: str
    data: dict
    attempt: int = 1
    problem: str | None = None


def connect(url: str) -> "redis.Redis":
    """A Redis client from a URL, with scrapy-redis's connection defaults; a clear error if it cannot be reached."""
    import redis
    from scrapy_redis.connection import get_redis

    try:
        client = get_redis(url=url, decode_responses=True)
        client.ping()
    except ValueError as exc:
        raise UserError(f"bad --redis URL {url!r}: {exc} (expected redis://HOST:PORT/DB)") from None
    except redis.RedisError as exc:
        raise UserError(f"cannot reach Redis at {redact_url(url)}: {exc} (start redis-server or check --redis)") from None
    return client


def redact_url(url: str) -> str:
    """The URL without its password, for records and messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return url


class Frontier:
    """The run's shared queue of tasks, with leases; every method is one atomic Redis operation."""

    def __init__(self, client: "redis.Redis", run: str):
        self.client = client
        self.run = run
        self.key = {name: f"{PREFIX}{run}:{name}" for name in
                    ("config", "tasks", "queue", "leases", "owners", "attempts", "done", "failed", "workers")}
        self._lease = client.register_script(LEASE)
        self._renew = client.register_script(RENEW)
        self._ack = client.register_script(ACK)
        self._release = client.register_script(RELEASE)
        self._reap = client.register_script(REAP)

    @classmethod
    def join(cls, url: str, run: str | None = None) -> "Frontier":
        """The frontier of `run`, or of the run seeded last; a clear error when there is none."""
        client = connect(url)
        run = run or client.get(CURRENT)
        if not run:
            raise UserError(f"no crawl seeded in Redis at {redact_url(url)}: run 'mouchard crawl --redis URL --list FILE' first")
        frontier = cls(client, run)
        if not client.exists(frontier.key["config"]):
            raise UserError(f"no run {run!r} in Redis at {redact_url(url)}")
        return frontier

    # --- seeding ------------------------------------------------------------------------------------------------
    @classmethod
    def seed(cls, url: str, config: dict, tasks: Iterable[Task], run: str | None = None) -> tuple["Frontier", int]:
        """Create (or extend) run `run` with its config and tasks; a task already known is not queued again.

        Returns the frontier and how many tasks were queued. The run becomes the one workers join by default.
        """
        tasks = list(tasks)
        client = connect(url)
        frontier = cls(client, run or uuid.uuid4().hex[:12])
        key = frontier.key
        if not client.set(key["config"], json.dumps({**config, "run": frontier.run}, sort_keys=True), nx=True):
            old = json.loads(client.get(key["config"]))
            if {k: v for k, v in old.items() if k != "run"} != config:
                raise UserError(f"run {frontier.run} was seeded with another configuration: choose another run id")
        queued = 0
        pipe = client.pipeline()
        for task in tasks:
            pipe.hsetnx(key["tasks"], task.id, json.dumps(task.data, sort_keys=True))
        new = pipe.execute()
        pipe = client.pipeline()
        for task, added in zip(tasks, new):
            if added:
                pipe.rpush(key["queue"], task.id)
                queued += 1
        pipe.set(CURRENT, frontier.run)
        pipe.execute()
        return frontier, queued

    @classmethod
    def unfinished(cls, url: str, config: dict) -> str | None:
        """The run seeded last, if it has this config and work left: the one to resume."""
        client = connect(url)
        run = client.get(CURRENT)
        if not run:
            return None
        frontier = cls(client, run)
        stored = frontier.config()
        if {k: v for k, v in stored.items() if k != "run"} != config or frontier.finished():
            return None
        return run

    def config(self) -> dict:
        return json.loads(self.client.get(self.key["config"]) or "{}")

    # --- leases -------------------------------------------------------------------------------------------------
    def lease(self, n: int, worker: str, seconds: float) -> list[Task]:
        """Take up to `n` tasks for `worker`, each leased for `seconds`."""
        if n <= 0:
            return []
        k = self.key
        flat = self._lease(keys=[k["queue"], k["leases"], k["owners"], k["done"], k["attempts"], k["tasks"]],
                           args=[n, seconds, worker])
        return _tasks(flat)

    def renew(self, ids: Iterable[str], worker: str, seconds: float) -> list[str]:
        """Push back the deadlines of `worker`'s leases; returns the ids it no longer holds (reaped meanwhile)."""
        ids = list(ids)
        if not ids:
            return []
        return list(self._renew(keys=[self.key["leases"], self.key["owners"]], args=[worker, seconds, *ids]))

    def ack(self, task_id: str, worker: str) -> bool:
        """The task is done. False if `worker` no longer held it (its lease expired: another worker may be doing
        it again, and keeps its lease; the task is done all the same and will not be queued again)."""
        return bool(self._ack(keys=[self.key["leases"], self.key["owners"], self.key["done"]], args=[task_id, worker]))

    def release(self, task_id: str) -> bool:
        """Give a task back unfinished (a worker stopping cleanly): first in the queue, the attempt not counted."""
        k = self.key
        return bool(self._release(keys=[k["leases"], k["owners"], k["queue"], k["attempts"]], args=[task_id]))

    def reap(self, max_attempts: int) -> tuple[int, list[Task]]:
        """Expired leases: re-queue their tasks at the head, or give up those leased `max_attempts` times.

        Returns (tasks re-queued, tasks given up); a given-up task is done: the caller records its failure.
        """
        k = self.key
        requeued, flat = self._reap(keys=[k["leases"], k["owners"], k["queue"], k["failed"], k["done"],
                                          k["attempts"], k["tasks"]], args=[max_attempts])
        return int(requeued), _tasks(flat)

    def heartbeat(self, worker: str) -> None:
        self.client.hset(self.key["workers"], worker, time.time())

    # --- state --------------------------------------------------------------------------------------------------
    def finished(self) -> bool:
        """Nothing queued and nothing leased: every task is done or given up."""
        pipe = self.client.pipeline()
        pipe.llen(self.key["queue"])
        pipe.zcard(self.key["leases"])
        queued, leased = pipe.execute()
        return queued == 0 and leased == 0

    def status(self) -> dict:
        k = self.key
        pipe = self.client.pipeline()
        for command, name in (("hlen", "tasks"), ("llen", "queue"), ("zcard", "leases"), ("scard", "done"),
                              ("llen", "failed")):
            getattr(pipe, command)(k[name])
        tasks, queued, leased, done, failed = pipe.execute()
        return {"run": self.run, "tasks": tasks, "queued": queued, "leased": leased, "done": done - failed,
                "given_up": failed}

    def owners(self) -> dict[str, str]:
        """Task id -> worker holding its lease."""
        return self.client.hgetall(self.key["owners"])


def _tasks(flat: list) -> list[Task]:
    """Tasks from a script's flat answer (id, attempt, JSON)*; what is not a task comes back with its `problem`."""
    if not isinstance(flat, list):
        return []
    return [parse_task(*flat[i:i + 3]) for i in range(0, len(flat) - 2, 3)]


def parse_task(task_id, attempt, text) -> Task:
    """One task as Redis holds it, never trusted: bounded id and JSON, a JSON object, an integer attempt."""
    task_id = task_id if isinstance(task_id, str) else str(task_id)[:TASK_ID_MAX]
    try:
        attempt = int(attempt)
    except (TypeError, ValueError):
        attempt = 0
    if not task_id or len(task_id) > TASK_ID_MAX:
        return Task(task_id[:TASK_ID_MAX], {}, attempt, f"task id of {len(task_id)} characters")
    if not isinstance(text, str):
        return Task(task_id, {}, attempt, "no task data (id queued without a task)")
    if len(text) > TASK_JSON_MAX:
        return Task(task_id, {}, attempt, f"task data of {len(text)} characters (limit {TASK_JSON_MAX})")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return Task(task_id, {}, attempt, f"task data is not JSON ({type(exc).__name__})")
    if not isinstance(data, dict):
        return Task(task_id, {}, attempt, f"task data is a JSON {type(data).__name__}, not an object")
    return Task(task_id, data, attempt)
