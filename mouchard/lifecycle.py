"""Stopping long-running commands cleanly: stop signals handled explicitly, children that never outlive us.

A command started in the background by a script inherits SIGINT *ignored* (any non-interactive shell does that
to `cmd &`), and Python then never raises KeyboardInterrupt; supervisors stop with SIGTERM; a closed terminal
or an ssh session that drops sends SIGHUP. `mouchard proxy`, `crawl`, `worker`, `serve` and `demo` therefore
install their own handlers for all three (`StopSignals`), whatever they inherited, and pass a stop on to
their children, which they start with `child_options()`: in a process group of their own (so a terminal's
Ctrl-C reaches the parent once, and the parent decides) and with a parent-death signal (Linux
`PR_SET_PDEATHSIG`, set in the child between fork and exec), so that even a SIGKILLed parent leaves no child
running and holding a port. Every child is waited for; what is left of its process group afterwards gets
SIGTERM (`sweep_group`).

The parent-death signal fires when the *thread* that started the child ends: children are started from the
main thread (every caller here does).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable, Sequence
from types import FrameType

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class Stopped(KeyboardInterrupt):
    """A stop signal arrived while nothing else was there to handle it (a KeyboardInterrupt, so that code which
    already cleans up on Ctrl-C cleans up on SIGTERM and SIGHUP too)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum


def signal_name(signum: int) -> str:
    """SIGTERM, SIGINT... for messages."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _parent_death_setter(death_signal: int, parent: int | None = None) -> Callable[[], None] | None:
    """A function to run in the child before exec that asks the kernel to send `death_signal` when the parent
    (`parent`, by default this process) dies; None where prctl does not exist (not Linux). ctypes is loaded
    here, in the parent, not after fork."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid() if parent is None else parent

    def set_parent_death_signal() -> None:
        prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: the kernel will not tell us
            os.kill(os.getpid(), death_signal)

    return set_parent_death_signal


def child_options(death_signal: int = signal.SIGTERM) -> dict:
    """Keyword arguments for `subprocess.Popen` so the child never outlives this process: its own process group
    (this process forwards stops to it) and `death_signal` sent to it by the kernel if this process dies, even by
    SIGKILL. SIGTERM by default: every child we start stops cleanly on it and keeps what it recorded."""
    options: dict = {"process_group": 0}
    setter = _parent_death_setter(int(death_signal))
    if setter is not None:
        options["preexec_fn"] = setter
    return options


def sweep_group(pgid: int, signum: int = signal.SIGTERM) -> None:
    """Send `signum` to what is left of a child's process group once the child itself has ended (its own helpers,
    e.g. mitmdump's recording process); nothing if the group is empty."""
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


class StopSignals:
    """Handles SIGINT, SIGTERM and SIGHUP (whatever was inherited, ignored included) while in use.

    A stop is passed on to the running children (`run`, `wait`), or given to `on_stop(signum)`; with neither,
    `Stopped` is raised in the main thread while `raising` is true, else the stop is only noted. `received`
    is the first stop signal. Outside the main thread (where Python cannot handle signals) it does nothing.
    Leaving the context restores the handlers found on entry.
    """

    def __init__(self, on_stop: Callable[[int], None] | None = None, *, raising: bool = True,
                 signals: Sequence[int] = STOP_SIGNALS) -> None:
        self.on_stop = on_stop
        self.raising = raising
        self.signals = tuple(signals)
        self.received: int | None = None
        self.children: list[subprocess.Popen] = []
        self._starting = 0
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "StopSignals":
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.restore()

    def restore(self) -> None:
        """Put back the handlers found by the first `install`. A stop this one received is noted (not raised) by
        the `StopSignals` it was nested in, if any: a caller whose child job ended `interrupted` (run_in_child)
        can tell that a stop arrived, and which."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
            outer = getattr(handler, "__self__", None)
            if self.received is not None and isinstance(outer, StopSignals) and outer.received is None:
                outer.received = self.received
        self._previous.clear()

    def install(self) -> "StopSignals":
        """(Re)install the handlers: after a library replaced some of them (Scrapy does, uvicorn restores them)."""
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum in self.signals:
            previous = signal.signal(signum, self._handle)
            self._previous.setdefault(signum, previous)
        return self

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
        running = [p for p in self.children if p.returncode is None]
        for process in running:
            try:
                os.kill(process.pid, signum)  # each child handles all three stop signals as a stop
            except ProcessLookupError:
                pass
        if self.on_stop is not None:
            self.on_stop(signum)
        elif not running and self.raising and not self._starting:
            raise Stopped(signum)

    def start(self, args: Sequence[str], **popen: object) -> subprocess.Popen:
        """Start a child with `child_options()`; from now on stops are passed on to it."""
        self._starting += 1  # a stop arriving now is noted (and passed on below), not raised
        try:
            process = subprocess.Popen(list(args), **child_options(), **popen)
            self.children.append(process)
        finally:
            self._starting -= 1
        if self.received is not None:
            os.kill(process.pid, self.received)
        return process

    def wait(self, processes: Iterable[subprocess.Popen]) -> list[int]:
        """Wait for children from `start`, passing stops on to them; then sweep what is left of their groups."""
        processes = list(processes)
        try:
            return [process.wait() for process in processes]
        finally:
            for process in processes:
                if process.returncode is None:  # we are leaving on an error: do not leave it behind
                    process.kill()
                    process.wait()
                sweep_group(process.pid)
                if process in self.children:
                    self.children.remove(process)

    def run(self, args: Sequence[str], **popen: object) -> int:
        """Run one child to its end (see `start` and `wait`); its exit status."""
        return self.wait([self.start(args, **popen)])[0]


def follow_sigterm(signals: Sequence[int] = (signal.SIGHUP,)) -> None:
    """Route `signals` to whatever handles SIGTERM when they arrive: for libraries that install their own
    graceful shutdown on SIGTERM and SIGINT only (Scrapy, uvicorn), so that SIGHUP stops them the same way."""
    if threading.current_thread() is not threading.main_thread():
        return

    def relay(signum: int, frame: FrameType | None) -> None:
        handler = signal.getsignal(signal.SIGTERM)
        if callable(handler):
            handler(signum, frame)
        elif handler == signal.SIG_DFL:
            raise Stopped(signum)

    for signum in signals:
        signal.signal(signum, relay)


def note_stop_signals(loop, shutdown: Callable[[], None], signals: Sequence[int] = STOP_SIGNALS) -> StopSignals:
    """For a process run by an asyncio loop (mitmdump): each stop signal calls `shutdown` on the loop, and the
    returned object's `received` tells later code whether the run was stopped rather than ended by itself."""
    note = StopSignals(raising=False, signals=signals)

    def on_signal(signum: int) -> None:
        if note.received is None:
            note.received = signum
        shutdown()

    for signum in signals:
        try:
            loop.add_signal_handler(signum, on_signal, signum)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
            pass
    return note


def run_stoppable(start: Callable[[], None]) -> int | None:
    """Run the blocking main loop of a library that installs its own graceful shutdown on SIGINT and SIGTERM
    once it is running (Scrapy's CrawlerProcess.start): SIGHUP follows whatever handles SIGTERM, and a stop
    that arrives before the library's handlers are in place ends `start` too. Returns that early stop signal,
    or None (the library noted its own stops: Scrapy's finish_reason is then `shutdown`)."""
    with StopSignals():
        follow_sigterm()
        try:
            start()
        except Stopped as exc:
            return exc.signum
    return None


def die_with_parent(parent: int, death_signal: int = signal.SIGTERM) -> None:
    """For a child started by a library (multiprocessing) rather than `child_options()`: ask, from the child
    itself, for `death_signal` when `parent` dies (at once if it already has)."""
    setter = _parent_death_setter(int(death_signal), parent)
    if setter is not None:
        setter()
