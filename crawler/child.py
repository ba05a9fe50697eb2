"""Run one job of the Python API in a child process: `run_in_child("crawler.crawl:crawl_sites", targets=..., run=...)`.

Why a child: Twisted's reactor runs once per process, so a Python program that crawls twice (a newsroom's pipeline,
an audit with several collectors, a Dask worker taking task after task) cannot run Scrapy in its own process more
than once. Each Scrapy job therefore runs in a fresh `python -m crawler.child`:
- the child is started with `mouchard.lifecycle.child_options()`: its own process group (a terminal's Ctrl-C
  reaches the parent once, which passes it on once: a second SIGINT would make Scrapy stop uncleanly) and a
  parent-death signal, so a SIGKILLed parent leaves no child, and no Chromium (swept with the child's group);
- SIGINT, SIGTERM and SIGHUP received by the parent are passed on (`StopSignals`), so the job finishes its run as
  `interrupted` and the result says so;
- the call travels as a pickle in a private temporary folder (written by this process, read by its own child:
  nothing from outside is unpickled), and so does the result. kwargs and results must be picklable.
A `UserError` raised by the job is raised again here with the same one-line message; any other exception becomes
`JobFailed` (its type and message); a child that dies without an answer (killed, crashed) is `JobFailed` too.
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

from mouchard.errors import UserError
from mouchard.lifecycle import StopSignals, Stopped, signal_name

CALL, ANSWER = "call.pickle", "answer.pickle"

# In a job's child: the job it runs may itself call the API (the audit's collector step calls `mouchard.api.crawl`,
# which would start a child of its own). The first such call runs here instead: the reactor is still unused.
_job_child = {"reactor_free": False}


class JobFailed(RuntimeError):
    """A job run in a child ended with an unexpected error, or the child died without answering."""


def run_in_child(function: str, /, *, log: str | os.PathLike | None = None, **kwargs: Any) -> Any:
    """Call `"package.module:function"(**kwargs)` in a fresh Python process and return its result.

    `log`: a file that receives the child's stdout and stderr (appended), else they are this process's. Blocks
    until the child ends; stops received meanwhile are passed on to it. Raises `UserError` (the job's own one-line
    error), `Stopped` (the job ended by a stop without a result) or `JobFailed`.

        >>> from crawler.child import run_in_child
        >>> result = run_in_child("crawler.crawl:crawl_sites", targets=targets, run=settings)
    """
    module, _, name = function.partition(":")
    if not module or not name:
        raise ValueError(f"not a 'module:function': {function!r}")
    if _job_child["reactor_free"]:  # already a job's child, nothing run here yet: no second child
        _job_child["reactor_free"] = False
        return getattr(importlib.import_module(module), name)(**kwargs)
    with tempfile.TemporaryDirectory(prefix="mouchard-job-") as folder:
        call = Path(folder) / CALL
        with open(call, "wb") as out:
            pickle.dump((module, name, kwargs, sys.argv), out, protocol=pickle.HIGHEST_PROTOCOL)
        output = open(log, "ab") if log is not None else None  # noqa: SIM115  (closed below)
        try:
            with StopSignals(raising=False) as stops:
                code = stops.run([sys.executable, "-m", "crawler.child", folder], stdin=subprocess.DEVNULL,
                                 stdout=output, stderr=subprocess.STDOUT if output else None)
        finally:
            if output is not None:
                output.close()
        answer = Path(folder) / ANSWER
        if not answer.exists():
            if stops.received is not None:
                raise Stopped(stops.received)
            how = f"was killed by {signal_name(-code)}" if code < 0 else f"exited with status {code}"
            raise JobFailed(f"{function}: the child process {how} without an answer")
        with open(answer, "rb") as source:
            kind, value = pickle.load(source)
    if kind == "ok":
        return value
    if kind == "user":
        raise UserError(value)
    if kind == "stopped":
        raise Stopped(stops.received or value)
    raise JobFailed(value)


def _answer(folder: Path, kind: str, value: Any) -> None:
    """Write the answer atomically: a parent never reads half of one."""
    partial = folder / (ANSWER + ".partial")
    with open(partial, "wb") as out:
        pickle.dump((kind, value), out, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(partial, folder / ANSWER)


def main(folder: str) -> int:
    """The child's side: read the call, run it, write the answer."""
    where = Path(folder)
    with open(where / CALL, "rb") as source:
        module, name, kwargs, argv = pickle.load(source)
    sys.argv = list(argv)  # what the caller ran: `crawls.command` records it, not this child's own arguments
    _job_child["reactor_free"] = True
    from mouchard.cli import install_rules

    install_rules()  # a composition root like the command: a crawl's run ends with its findings
    try:
        result = getattr(importlib.import_module(module), name)(**kwargs)
    except UserError as exc:
        _answer(where, "user", str(exc))
        return 1
    except Stopped as exc:
        _answer(where, "stopped", exc.signum)
        return 1
    except KeyboardInterrupt:
        _answer(where, "stopped", 2)
        return 1
    except BaseException as exc:  # noqa: BLE001  (whatever it was, the parent gets one line, the log the trace)
        traceback.print_exc()
        _answer(where, "error", f"{module}:{name}: {type(exc).__name__}: {str(exc)[:500]}")
        return 1
    try:
        _answer(where, "ok", result)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        _answer(where, "error", f"{module}:{name}: its result cannot be sent back: {exc}")
        return 1
    return 0


if __name__ == "__main__":  # run as `python -m crawler.child`: use the module's own state, not __main__'s copy
    from crawler.child import main as child_main

    sys.exit(child_main(sys.argv[1]))
