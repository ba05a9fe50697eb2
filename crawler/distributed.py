"""Distributed crawls: the same spiders, unchanged, on any number of workers fed from one Redis queue.

scrapy-redis shares a crawl through Redis: a start-URL list the spiders read (`RedisSpider`), or the request
queue and dupefilter themselves (its `Scheduler`). Neither survives a worker that dies: both pop destructively,
so a visit in flight on a killed machine is lost. This module keeps scrapy-redis's model (a Redis list of work
read by every worker, connection settings `REDIS_URL`/`REDIS_PARAMS`) and adds leases:

- a *task* is one unit of a spider's input (a site for the browser spider, a broker for the broker-sites spider),
  stored once in a hash and queued by id;
- a worker takes a task with a lease (a Redis sorted set of deadlines, taken atomically by a Lua script with the
  server's clock), renews its leases while it works, and acknowledges a task when everything it spawned was
  recorded (the landing page and its sampled internal pages) -- or, for spiders without per-item tracking, when
  the spider is idle;
- any worker reaps expired leases: the task goes back to the head of the queue, or, after `max_attempts` leases
  that never ended (each one a worker or browser that died on it), it is given up and recorded as failed (a
  `visits` row with status `crashed` and `attempt` = the number of tries), never retried forever.

Everything plugs in from outside through Scrapy settings: the `WorkFromRedis` extension feeds the running spider
by setting its input attribute and iterating the spider's own `start()` (so the spider's logic is reused as it
is), `RecordWorker` writes the worker's name in `visits.worker`. `worker_settings()` is the overlay.

Redis keys of run R (prefix `mouchard:run:R:`): `config` (JSON), `tasks` (hash id -> task JSON), `queue` (list
of ids), `leases` (zset id -> deadline), `owners` (hash id -> worker), `attempts` (hash id -> leases taken),
`done` (set of ids), `failed` (list of given-up ids), `workers` (hash worker -> last heartbeat). `mouchard:current`
names the run `mouchard worker` joins by default.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crawler.spiders.broker_sites import BrokerSitesSpider, load_targets
from mouchard.errors import UserError
from mouchard.store import Store, utcnow

if TYPE_CHECKING:
    import redis
    from scrapy.crawler import Crawler

log = logging.getLogger("mouchard.distributed")

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
local held = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
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


@dataclass(frozen=True)
class Task:
    """One unit of a spider's input, as the queue holds it; `attempt` counts the leases taken on it (1 = first)."""

    id: str
    data: dict
    attempt: int = 1


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

    def ack(self, task_id: str) -> bool:
        """The task is done; False if its lease had expired meanwhile (another worker may be doing it again)."""
        return bool(self._ack(keys=[self.key["leases"], self.key["owners"], self.key["done"]], args=[task_id]))

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
    return [Task(flat[i], json.loads(flat[i + 2]), int(flat[i + 1])) for i in range(0, len(flat), 3)]


# --- how a task becomes a spider's input ----------------------------------------------------------------------

class TaskAdapter:
    """Per spider: how tasks become the spider's input, when a task is done, and how a given-up task is recorded.

    `feed` sets the spider's own input attribute and iterates the spider's own `start()`: the spider is unchanged.
    An adapter that tracks completion per item (`per_item`) acks tasks as their items are recorded; otherwise a
    task is done when the spider is idle (nothing scheduled, downloading or being processed).
    """

    per_item = False

    def __init__(self, crawler: "Crawler"):
        self.crawler = crawler
        self.stats = crawler.stats

    async def feed(self, spider: Any, tasks: list[Task]) -> AsyncIterator[Any]:
        raise NotImplementedError
        yield  # pragma: no cover

    def completed(self, item: Any) -> list[str]:
        """Ids of the tasks this item finishes."""
        return []

    def pop_done(self) -> list[str]:
        """Ids of tasks found already done while feeding them."""
        return []

    def forget(self, task_id: str) -> None:
        """The task was acked (or lost): drop what was tracked for it."""

    def give_up(self, task: Task, worker: str) -> None:
        """Record that the run gave up on `task` after `task.attempt` tries."""
        log.warning("gave up on task %s after %d attempts", task.id, task.attempt)


@dataclass
class _SiteTask:
    """A browser task in flight: the landing page's key and the internal pages still to be recorded."""

    task: Task
    landing_done: bool = False
    pending: set[str] = field(default_factory=set)


class BrowserTasks(TaskAdapter):
    """Browser spider: a task is a landing page ({key, url, tags, phase}); it is done when the landing visit and
    the internal pages it sampled (`--pages-per-site`) are recorded."""

    per_item = True

    def __init__(self, crawler: "Crawler"):
        super().__init__(crawler)
        self.sites: dict[str, _SiteTask] = {}  # task id -> state
        self.waiting: dict[str, set[str]] = {}  # visit key -> ids of the tasks waiting for it
        self.recorded: set[str] = set()  # visit keys recorded by this worker
        self.done_now: list[str] = []

    async def feed(self, spider: Any, tasks: list[Task]) -> AsyncIterator[Any]:
        """The spider schedules each key once: a task whose landing page this worker already recorded (or has in
        flight, after its own lease expired) waits for that visit instead of visiting again."""
        from crawler.browser.visit import VisitSpec

        specs = []
        for task in tasks:
            data = task.data
            self.sites[task.id] = _SiteTask(task)
            self._wait(data["key"], task.id)
            if data["key"] in self.recorded:
                self.done_now += self.completed_key(data["key"], [])
            specs.append(VisitSpec(data["key"], data["url"], tuple(data.get("tags") or ()), data.get("phase", "initial"),
                                   0, None, task.attempt))
        spider.specs, spider.pending = specs, []
        async for request in spider.start():
            yield request

    def pop_done(self) -> list[str]:
        done, self.done_now = self.done_now, []
        return done

    def _wait(self, key: str, task_id: str) -> None:
        self.waiting.setdefault(key, set()).add(task_id)

    def completed(self, item: Any) -> list[str]:
        from crawler.browser.visit import VisitRecord
        from crawler.spiders.browser import visit_key

        if not isinstance(item, VisitRecord):
            return []
        children = [visit_key(url, item.spec.phase) for url in item.samples] if item.spec.depth == 0 else []
        return self.completed_key(item.spec.key, children)

    def completed_key(self, key: str, children: list[str]) -> list[str]:
        self.recorded.add(key)
        done = []
        for task_id in self.waiting.pop(key, set()):
            site = self.sites.get(task_id)
            if site is None:
                continue
            if site.task.data["key"] == key and not site.landing_done:
                site.landing_done = True
                for child in children:
                    if child not in self.recorded:
                        site.pending.add(child)
                        self._wait(child, task_id)
            site.pending.discard(key)
            if site.landing_done and not site.pending:
                done.append(task_id)
        return done

    def forget(self, task_id: str) -> None:
        self.sites.pop(task_id, None)

    def give_up(self, task: Task, worker: str) -> None:
        """A `crashed` visit row in this worker's shard: the landing page was tried `attempt` times."""
        from mouchard.domains import site_of

        settings = self.crawler.settings
        data = task.data
        now = utcnow()
        with Store(settings.get("MOUCHARD_DB")) as store:
            store.insert("visits", {
                "crawl_id": settings.getint("MOUCHARD_CRAWL_ID"), "key": data["key"], "url": data["url"],
                "site": site_of(data["url"]), "tags": list(data.get("tags") or ()),
                "phase": data.get("phase", "initial"), "depth": 0, "status": "crashed",
                "reason": f"given up after {task.attempt} attempts: each ended with its worker or browser gone",
                "started_at": now, "finished_at": now, "attempt": task.attempt, "worker": worker})
        self.stats.inc_value("mouchard/visits/crashed")


class BrokerTasks(TaskAdapter):
    """Broker-sites spider: a task is a broker ({broker_id}); `BrokerSitesFromQueue.targets` is its input."""

    async def feed(self, spider: Any, tasks: list[Task]) -> AsyncIterator[Any]:
        wanted = {int(t.data["broker_id"]) for t in tasks}
        with Store(self.crawler.settings.get("MOUCHARD_DB"), create=False, readonly=True) as store:
            spider.targets = [t for t in load_targets(store, spider.registries) if t.broker_id in wanted]
        async for output in spider.start():
            yield output


class BrokerSitesFromQueue(BrokerSitesSpider):
    """BrokerSitesSpider whose brokers are the ones leased from the run's queue (`targets`, set by `BrokerTasks`)
    instead of every broker of the database; everything else is the spider's own."""

    targets: list = []

    async def start(self) -> AsyncIterator[Any]:
        for target in self.targets:  # the loop of BrokerSitesSpider.start(), over the leased brokers
            outputs = self.want(target.websites[0], target, "home", 0) if target.websites \
                else self.after_home(target, None)
            for output in outputs:
                yield output


ADAPTERS: dict[str, type[TaskAdapter]] = {"browser": BrowserTasks, "broker_sites": BrokerTasks}


# --- the extension ---------------------------------------------------------------------------------------------

class WorkFromRedis:
    """Feeds the running spider tasks leased from the run's queue, renews the leases, acks done tasks, reaps
    expired leases, and lets the spider close only when the whole run is done (not merely this worker's part)."""

    def __init__(self, crawler: "Crawler", frontier: Frontier, adapter: TaskAdapter, *, worker: str, lease: float,
                 max_attempts: int, capacity: int):
        self.crawler = crawler
        self.frontier = frontier
        self.adapter = adapter
        self.worker = worker
        self.lease = lease
        self.max_attempts = max_attempts
        self.capacity = capacity
        self.held: dict[str, Task] = {}
        self.feeding = False
        self.spider = None
        self._loop = None

    @classmethod
    def from_crawler(cls, crawler: "Crawler") -> "WorkFromRedis":
        from scrapy import signals
        from scrapy.exceptions import NotConfigured

        settings = crawler.settings
        url = settings.get("MOUCHARD_REDIS_URL")
        if not url:
            raise NotConfigured("no MOUCHARD_REDIS_URL: a single-machine crawl")
        name = crawler.spidercls.name
        if name not in ADAPTERS:
            raise UserError(f"spider {name} cannot take work from Redis (known: {', '.join(ADAPTERS)})")
        frontier = Frontier(connect(url), settings.get("MOUCHARD_RUN"))
        ext = cls(crawler, frontier, ADAPTERS[name](crawler), worker=settings.get("MOUCHARD_WORKER"),
                  lease=settings.getfloat("MOUCHARD_LEASE_SECONDS", DEFAULT_LEASE),
                  max_attempts=frontier.config().get("max_attempts", DEFAULT_MAX_ATTEMPTS),
                  capacity=settings.getint("MOUCHARD_TASKS_IN_FLIGHT") or settings.getint("CONCURRENT_REQUESTS"))
        crawler.signals.connect(ext.spider_opened, signals.spider_opened)
        crawler.signals.connect(ext.spider_idle, signals.spider_idle)
        crawler.signals.connect(ext.spider_closed, signals.spider_closed)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(ext.item_done, signal)
        return ext

    def _count(self, key: str, n: int = 1) -> None:
        self.crawler.stats.inc_value(f"mouchard/distributed/{key}", n)

    # --- signals ------------------------------------------------------------------------------------------------
    def spider_opened(self, spider) -> None:
        from scrapy.utils.asyncio import create_looping_call

        self.spider = spider
        self.frontier.heartbeat(self.worker)
        self._loop = create_looping_call(self.tick)
        self._loop.start(max(0.5, self.lease / 4), now=False)
        self.feed()

    def spider_idle(self, spider) -> None:
        from scrapy.exceptions import DontCloseSpider

        if self.feeding:
            raise DontCloseSpider
        if self.held:  # idle: nothing spawned by the held tasks is left anywhere in the engine
            if self.adapter.per_item:
                self._count("acked_on_idle", len(self.held))  # items that did not say so: should not happen
            for task_id in list(self.held):
                self._ack(task_id)
        self.reap()
        if self.feed() or self.held:
            raise DontCloseSpider
        if not self.frontier.finished():
            raise DontCloseSpider  # other workers hold leases: if they die, their tasks come back here

    def spider_closed(self, spider, reason: str) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        for task_id in list(self.held):  # stopped before the end (Ctrl-C): hand the tasks to the other workers
            if self.frontier.release(task_id):
                self._count("released")
            self.held.pop(task_id, None)

    def item_done(self, item, spider=None, **kwargs) -> None:
        if not self.adapter.per_item:
            return
        for task_id in self.adapter.completed(item):
            if task_id in self.held:
                self._ack(task_id)
        self.feed()

    # --- work ---------------------------------------------------------------------------------------------------
    def tick(self) -> None:
        """Every lease/4 seconds: renew this worker's leases, reap expired ones, take work if there is room."""
        try:
            self.frontier.heartbeat(self.worker)
            lost = self.frontier.renew(self.held, self.worker, self.lease)
            if lost:
                self._count("leases_lost", len(lost))
                log.warning("%d lease(s) expired before renewal; another worker may redo them", len(lost))
            self.reap()
            self.feed()
        except Exception as exc:  # Redis down for a moment: try again at the next tick
            self._count("tick_errors")
            log.warning("distributed tick failed: %s", exc)

    def reap(self) -> None:
        requeued, given_up = self.frontier.reap(self.max_attempts)
        if requeued:
            self._count("requeued", requeued)
        for task in given_up:
            self._count("given_up")
            try:
                self.adapter.give_up(task, self.worker)
            except Exception as exc:
                log.error("could not record given-up task %s: %s", task.id, exc)

    def feed(self) -> bool:
        """Lease tasks up to capacity and hand them to the spider; True if any were taken."""
        if self.feeding or self.spider is None:
            return False
        room = self.capacity - len(self.held)
        tasks = self.frontier.lease(room, self.worker, self.lease) if room > 0 else []
        if not tasks:
            return False
        for task in tasks:
            self.held[task.id] = task
        self._count("leased", len(tasks))
        from scrapy.utils.defer import deferred_from_coro

        self.feeding = True
        deferred = deferred_from_coro(self._feed(tasks))
        deferred.addErrback(lambda failure: log.error("feeding tasks failed: %s", failure.getErrorMessage()))
        return True

    async def _feed(self, tasks: list[Task]) -> None:
        from scrapy import Request

        try:
            async for output in self.adapter.feed(self.spider, tasks):
                if isinstance(output, Request):
                    self.crawler.engine.crawl(output)
                else:  # start() may yield items (the broker spider answers from pages it already fetched)
                    await self.crawler.engine.scraper.start_itemproc_async(output, response=None)
        finally:
            self.feeding = False
        for task_id in self.adapter.pop_done():
            if task_id in self.held:
                self._ack(task_id)

    def _ack(self, task_id: str) -> None:
        self.held.pop(task_id, None)
        self.adapter.forget(task_id)
        if self.frontier.ack(task_id):
            self._count("acked")
        else:
            self._count("acked_after_expiry")


class RecordWorker:
    """Item pipeline: writes the worker's name in each visit row (`visits.worker`), before StoreVisits."""

    def __init__(self, worker: str | None):
        self.worker = worker

    @classmethod
    def from_crawler(cls, crawler: "Crawler") -> "RecordWorker":
        from scrapy.exceptions import NotConfigured

        worker = crawler.settings.get("MOUCHARD_WORKER")
        if not worker:
            raise NotConfigured
        return cls(worker)

    def process_item(self, item, spider=None):
        visit = getattr(item, "visit", None)
        if isinstance(visit, dict):
            visit["worker"] = self.worker
        return item


def worker_settings(settings: dict, *, redis_url: str, run: str, worker: str, lease: float) -> dict:
    """The overlay that turns a single-machine spider run into a worker of run `run` (returns new settings)."""
    pipelines = dict(settings.get("ITEM_PIPELINES") or {})
    pipelines["crawler.distributed.RecordWorker"] = 850  # before StoreVisits (900)
    return {
        **settings,
        "MOUCHARD_REDIS_URL": redis_url,
        "REDIS_URL": redis_url,  # scrapy-redis components read this one
        "MOUCHARD_RUN": run,
        "MOUCHARD_WORKER": worker,
        "MOUCHARD_LEASE_SECONDS": lease,
        "EXTENSIONS": {**(settings.get("EXTENSIONS") or {}), "crawler.distributed.WorkFromRedis": 500},
        "ITEM_PIPELINES": pipelines,
    }
