"""Distributed crawls: the same spiders, unchanged, on any number of workers fed from one Redis queue.

Everything plugs in from outside through Scrapy settings (`worker_settings()` is the overlay):
- `WorkFromRedis` (extension) leases tasks from the run's queue (`crawler.frontier`), hands them to the running
  spider by setting its input attribute and iterating the spider's own `start()` (so the spider's logic is reused
  as it is), renews the leases, acknowledges a task when everything it spawned was recorded, reaps the leases of
  dead workers, and lets the spider close only when the whole run is done;
- a `TaskAdapter` per spider says how a task becomes the spider's input, when it is done (per item for the browser
  spider: the landing page and the internal pages it sampled; when the spider is idle otherwise), and how a task
  given up after `max_attempts` is recorded (a `visits` row with status `crashed` and `attempt` = the tries);
- `RecordWorker` (pipeline) writes the worker's name in `visits.worker`.

Whoever can write to the Redis can write a task: every task leased is screened before a spider sees it (the
frontier's generic checks, then the adapter's schema: `check_browser_task`, `check_broker_task`). A bad task is
dropped with a one-line warning, counted (`mouchard/distributed/bad_tasks`), recorded in the shard's `failures`
(kind decode-error) and acknowledged, so no worker takes it again; it never reaches the spider.
"""

from __future__ import annotations

import logging
import math
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crawler.frontier import DEFAULT_LEASE, DEFAULT_MAX_ATTEMPTS, Frontier, Task, connect
from crawler.spiders.broker_sites import BrokerSitesSpider, load_targets
from mouchard.errors import UserError
from mouchard.store import Store, utcnow

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

log = logging.getLogger("mouchard.distributed")

URL_MAX = 2048  # characters of a task's URL (what browsers and servers commonly accept)
TAGS_MAX, TAG_MAX = 32, 100  # tags of a task, characters of one tag
MAX_ATTEMPTS_LIMIT = 100  # a run's max_attempts read from Redis is clamped to 1..this


def check_browser_task(task_id: str, data: dict) -> str | None:
    """Why a browser task read from Redis is not one a seeder writes (None if it is): exactly {key, url, tags,
    phase}; an http(s) URL of bounded length with a host; a known consent phase; short string tags; and the key
    (and task id) the seeder derives from URL and phase."""
    from crawler.consent.phases import PHASES
    from crawler.spiders.browser import visit_key

    if not isinstance(data, dict):
        return "not an object"
    unknown = set(data) - {"key", "url", "tags", "phase"}
    if unknown:
        return f"unknown field(s) {', '.join(sorted(map(str, unknown)))[:100]}"
    url, phase, tags = data.get("url"), data.get("phase", "initial"), data.get("tags", [])
    if not isinstance(url, str) or not url or len(url) > URL_MAX:
        return f"url is not a string of 1 to {URL_MAX} characters"
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        return "url holds spaces or control characters"
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        parts.port  # raises on a bad port
    except ValueError:
        return "url does not parse"
    if parts.scheme not in ("http", "https") or not host:
        return "url is not http(s) with a host"
    if phase not in PHASES:
        return f"unknown phase (known: {', '.join(PHASES)})"
    if not isinstance(tags, list) or len(tags) > TAGS_MAX or \
            not all(isinstance(t, str) and 0 < len(t) <= TAG_MAX for t in tags):
        return f"tags are not a list of at most {TAGS_MAX} strings of 1 to {TAG_MAX} characters"
    key = visit_key(url, phase)
    if data.get("key") != key or task_id != key:
        return "key and task id are not the seeder's (phase and URL)"
    return None


def check_broker_task(task_id: str, data: dict) -> str | None:
    """Why a broker task read from Redis is not one a seeder writes (None if it is): {broker_id: positive int}."""
    if not isinstance(data, dict) or set(data) != {"broker_id"}:
        return "not an object with broker_id only"
    broker_id = data["broker_id"]
    if not isinstance(broker_id, int) or isinstance(broker_id, bool) or not 0 < broker_id < 2 ** 63:
        return "broker_id is not a positive integer"
    if task_id != f"broker:{broker_id}":
        return "task id is not the seeder's (broker:ID)"
    return None


def max_attempts_of(config: dict) -> int:
    """The run's max_attempts from its Redis config, an integer clamped to 1..MAX_ATTEMPTS_LIMIT."""
    value = config.get("max_attempts", DEFAULT_MAX_ATTEMPTS) if isinstance(config, dict) else DEFAULT_MAX_ATTEMPTS
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            (isinstance(value, float) and not math.isfinite(value)):
        return DEFAULT_MAX_ATTEMPTS
    return max(1, min(MAX_ATTEMPTS_LIMIT, int(value)))


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

    def check(self, task: Task) -> str | None:
        """Why `task` cannot be this spider's input (None if it can): the frontier's problem, then the schema."""
        return task.problem

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

    def check(self, task: Task) -> str | None:
        return task.problem or check_browser_task(task.id, task.data)

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

    def check(self, task: Task) -> str | None:
        return task.problem or check_broker_task(task.id, task.data)

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
                  max_attempts=max_attempts_of(frontier.config()),
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
        import redis
        from scrapy.exceptions import DontCloseSpider

        if self.feeding:
            raise DontCloseSpider
        try:
            if self.held:  # idle: nothing spawned by the held tasks is left anywhere in the engine
                if self.adapter.per_item:
                    self._count("acked_on_idle", len(self.held))  # items that did not say so: should not happen
                for task_id in list(self.held):
                    self._ack(task_id)
            self.reap()
            if self.feed() or self.held or not self.frontier.finished():
                raise DontCloseSpider  # other workers hold leases: if they die, their tasks come back here
        except redis.RedisError as exc:  # Redis away for a moment: never end the run for that
            self._count("redis_errors")
            log.warning("Redis unavailable while idle: %s", exc)
            raise DontCloseSpider from None

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
        try:
            for task_id in self.adapter.completed(item):
                if task_id in self.held:
                    self._ack(task_id)
            self.feed()
        except Exception as exc:  # the next tick or idle check acks and feeds
            self._count("redis_errors")
            log.warning("could not acknowledge or take tasks: %s", exc)

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
            problem = self.adapter.check(task)
            if problem is not None:  # never a spider's input: nothing to record as a visit
                self._drop(task, problem, ack=False)
                continue
            try:
                self.adapter.give_up(task, self.worker)
            except Exception as exc:
                log.error("could not record given-up task %s: %s", task.id, exc)

    def feed(self) -> bool:
        """Lease tasks up to capacity and hand them to the spider; True if any were taken."""
        if self.feeding or self.spider is None:
            return False
        room = self.capacity - len(self.held)
        tasks = self.screen(self.frontier.lease(room, self.worker, self.lease) if room > 0 else [])
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

    def screen(self, tasks: list[Task]) -> list[Task]:
        """The tasks this spider can take; each other one is dropped (logged, counted, recorded, acknowledged)."""
        good = []
        for task in tasks:
            problem = self.adapter.check(task)
            if problem is None:
                good.append(task)
            else:
                self._drop(task, problem)
        return good

    def _drop(self, task: Task, problem: str, *, ack: bool = True) -> None:
        """A bad task: one warning line, a count, a `failures` row, and acknowledged so it is never leased again."""
        self._count("bad_tasks")
        shown = ascii(task.id[:80])
        log.warning("dropped bad task %s from Redis: %s", shown, problem)
        if ack:
            self.frontier.ack(task.id, self.worker)
        db = self.crawler.settings.get("MOUCHARD_DB")
        if not db:
            return
        try:
            with Store(db) as store:
                store.record_failure("redis", "decode-error", f"bad task {shown}: {problem}",
                                     crawl_id=self.crawler.settings.getint("MOUCHARD_CRAWL_ID") or None)
        except Exception as exc:  # the count and the log line stand; the worker goes on
            log.error("could not record the bad task: %s", exc)

    async def _feed(self, tasks: list[Task]) -> None:
        from scrapy import Request

        try:
            async for output in self.adapter.feed(self.spider, tasks):
                if isinstance(output, Request):
                    self.crawler.engine.crawl(output)
                else:  # start() may yield items (the broker spider answers from pages it already fetched)
                    await self.crawler.engine.scraper.start_itemproc_async(output, response=None)
        except Exception:  # not started: hand the tasks back rather than acknowledge them when idle
            for task in tasks:
                self.held.pop(task.id, None)
                self.adapter.forget(task.id)
                self.frontier.release(task.id)
            raise
        finally:
            self.feeding = False
        for task_id in self.adapter.pop_done():
            if task_id in self.held:
                self._ack(task_id)

    def _ack(self, task_id: str) -> None:
        self.held.pop(task_id, None)
        self.adapter.forget(task_id)
        if self.frontier.ack(task_id, self.worker):
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
