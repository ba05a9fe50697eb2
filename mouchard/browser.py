"""Find a Chromium to drive and the flags every mouchard browser starts with.

No Playwright import here: the core stays importable without it, and the version is read from the binary.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from mouchard.errors import UserError
from mouchard.settings import ENV_BROWSER, default_browser  # noqa: F401  (ENV_BROWSER re-exported)

# Flags that keep Chromium quiet and deterministic on a crawl machine. The background-networking ones matter:
# without them Chromium's own traffic (updates, safe browsing, sync) mixes with the page's.
QUIET_ARGS = (
    "--disable-blink-features=AutomationControlled",  # navigator.webdriver false: CMPs and trackers hide from bots
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--metrics-recording-only",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--password-store=basic",
    "--use-mock-keychain",
    # As a person's browser after a click: an AudioContext created after navigation runs (not suspended), so
    # audio fingerprinting in `onaudioprocess` executes and is recorded (Blacklight launches with it too).
    "--autoplay-policy=no-user-gesture-required",
)

INSTALL_HINT = (
    "no Chromium found: on Debian/Ubuntu run 'apt-get install -y chromium', elsewhere "
    "'playwright install chromium'; or point --browser / MOUCHARD_BROWSER at a Chromium binary"
)


def playwright_chromium() -> str | None:
    """Playwright's own Chromium build, when `playwright install chromium` has run."""
    root = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or str(Path.home() / ".cache" / "ms-playwright")
    for pattern in ("chromium-*/chrome-linux*/chrome", "chromium-*/chrome-mac*/Chromium.app/Contents/MacOS/Chromium",
                    "chromium-*/chrome-win*/chrome.exe"):
        found = sorted(glob.glob(os.path.join(root, pattern)))
        if found:
            return found[-1]
    return None


def find_browser(explicit: str | None = None) -> str:
    """The Chromium executable: --browser, then $MOUCHARD_BROWSER, Playwright's build, the system's."""
    choice = explicit or default_browser()
    if choice:
        path = shutil.which(choice) or choice
        if not os.path.isfile(path) or not os.access(path, os.X_OK):
            raise UserError(f"browser not found or not executable: {choice}")
        return path
    found = playwright_chromium()
    if found:
        return found
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    for path in ("/usr/bin/chromium", "/usr/lib/chromium/chromium"):
        if os.access(path, os.X_OK):
            return path
    raise UserError(INSTALL_HINT)


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


# --- the sandbox ----------------------------------------------------------------------------------------------------
# Chromium refuses to start its sandbox as root, and Playwright adds --no-sandbox unless told otherwise: a hostile
# page that exploits the renderer would then run code as root. So, as root, Chromium is started as an unprivileged
# user through a small launcher script of ours, and its own sandbox (user namespaces, seccomp-bpf) stays on.
# Without the sandbox only on an explicit --no-sandbox, with a warning recorded in crawls.warnings.

BROWSER_USER = "mouchard-browser"  # created by scripts/setup.sh when run as root
FALLBACK_USER = "nobody"
SANDBOX_MODES = ("namespaces", "browser-user", "off")

# Written as is (the two numbers are the browser user's ids, from the password database, never from data). Playwright
# runs it as root with Chromium's arguments; Chromium is the `browser` symlink beside it. The pipes Playwright talks
# over (fd 3 and 4) are inherited through `env` and `setpriv`, which both exec.
LAUNCHER = """#!/bin/sh
# mouchard's browser launcher (mouchard/browser.py): runs Chromium as an unprivileged user, its sandbox on.
set -eu
uid=%(uid)d
gid=%(gid)d
here=${0%%/*}
profile=
for arg do
  case $arg in
    --user-data-dir=*) profile=${arg#--user-data-dir=} ;;
  esac
done
case $profile in
  /*) ;;
  *) echo "mouchard launcher: Chromium needs an absolute --user-data-dir" >&2; exit 64 ;;
esac
# The fresh profile (ours or Playwright's, created by root a moment ago) becomes the browser user's. Only a real
# directory still owned by root: never a symbolic link, never someone else's folder.
if [ -d "$profile" ] && [ ! -L "$profile" ] && [ "$(stat -c %%u -- "$profile")" = 0 ]; then
  chown -R -P -- "$uid:$gid" "$profile"
fi
# A clean environment: nothing of root's (tokens, session addresses) reaches the browser; HOME in the profile.
exec env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$profile" XDG_CONFIG_HOME="$profile/.config" \\
  XDG_CACHE_HOME="$profile/.cache" LANG="${LANG:-C.UTF-8}" ${TZ:+"TZ=$TZ"} \\
  setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$here/browser" "$@"
"""


@dataclass(frozen=True)
class Sandbox:
    """How mouchard's Chromium is confined: Chromium's own sandbox as this user ('namespaces'), as an unprivileged
    user when mouchard runs as root ('browser-user'), or not at all ('off', only on --no-sandbox)."""

    mode: str
    user: str | None = None
    uid: int | None = None
    gid: int | None = None
    warnings: tuple[str, ...] = ()

    @property
    def on(self) -> bool:
        return self.mode != "off"


def no_sandbox_warning() -> str:
    who = "root" if running_as_root() else "this user"
    return (f"the browser runs without Chromium's sandbox (--no-sandbox): a page that exploits the renderer runs "
            f"code as {who} on this machine")


def sandbox(no_sandbox: bool = False) -> Sandbox:
    """The confinement of this process's browsers; `no_sandbox` only from an explicit command-line flag."""
    if no_sandbox:
        return Sandbox("off", warnings=(no_sandbox_warning(),))
    if not running_as_root():
        return Sandbox("namespaces")
    if not shutil.which("setpriv"):
        raise UserError("running as root, mouchard starts Chromium as an unprivileged user with setpriv: install "
                        "util-linux, run mouchard as another user, or pass --no-sandbox (unsafe on hostile sites)")
    warnings: tuple[str, ...] = ()
    try:
        entry = pwd.getpwnam(BROWSER_USER)
    except KeyError:
        try:
            entry = pwd.getpwnam(FALLBACK_USER)
        except KeyError:
            raise UserError(f"running as root, mouchard starts Chromium as user {BROWSER_USER}: create it with "
                            "scripts/setup.sh (as root), or pass --no-sandbox (unsafe on hostile sites)") from None
        warnings = (f"user {BROWSER_USER} does not exist (run scripts/setup.sh as root to create it): the browser "
                    f"runs as {FALLBACK_USER}, shared with other services",)
    if entry.pw_uid == 0:
        raise UserError(f"user {entry.pw_name} has uid 0: the browser must run as an unprivileged user")
    return Sandbox("browser-user", entry.pw_name, entry.pw_uid, entry.pw_gid, warnings)


def _reachable(path: str, uid: int, gid: int) -> bool:
    """Whether user `uid` (group `gid`) can execute `path`: x on every folder above it and on the file."""
    target = Path(os.path.realpath(path))
    for folder in [*reversed(target.parents), target]:
        try:
            info = folder.stat()
        except OSError:
            return False
        bits = 0o100 if info.st_uid == uid else 0o010 if info.st_gid == gid else 0o001
        if not info.st_mode & bits:
            return False
    return True


_launchers: dict[tuple[str, int, int], str] = {}


def launcher(executable: str, box: Sandbox) -> str:
    """The launcher script that starts `executable` as the sandbox's user (written once per process)."""
    key = (os.path.abspath(executable), int(box.uid), int(box.gid))
    existing = _launchers.get(key)
    if existing and os.path.isfile(existing):
        return existing
    if not _reachable(key[0], key[1], key[2]):
        raise UserError(f"{executable} cannot be run by user {box.user}: install Chromium system-wide "
                        "(apt-get install chromium) or point --browser at a copy outside private folders")
    folder = tempfile.mkdtemp(prefix="mouchard-launcher-")  # root's, unpredictable: nobody else can replace a file
    os.chmod(folder, 0o755)  # the browser user reaches `browser` through it
    os.symlink(key[0], os.path.join(folder, "browser"))
    script = os.path.join(folder, "launch")
    fd = os.open(script, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(LAUNCHER % {"uid": key[1], "gid": key[2]})
    if not _launchers:
        atexit.register(_remove_launchers)
    _launchers[key] = script
    return script


def _remove_launchers() -> None:
    for script in _launchers.values():
        shutil.rmtree(os.path.dirname(script), ignore_errors=True)
    _launchers.clear()


def base_args(extra: list[str] | tuple[str, ...] = (), *, box: Sandbox | None = None) -> list[str]:
    """Chromium flags for every mouchard browser, then `extra` (e.g. --browser-arg, host-resolver rules)."""
    args = list(QUIET_ARGS)
    if box is not None and not box.on:
        args.append("--no-sandbox")  # asked for on the command line; Playwright would add it anyway
    args.extend(extra)
    return args


def launch_options(executable: str, extra: list[str] | tuple[str, ...] = (), *,
                   box: Sandbox | None = None) -> dict:
    """Playwright's `executable_path`, `args` and `chromium_sandbox` for a mouchard Chromium: every browser the
    project starts (crawls, brokers, reports, tests, benchmarks) is started with these."""
    box = box if box is not None else sandbox()
    path = launcher(executable, box) if box.mode == "browser-user" else executable
    return {"executable_path": path, "args": base_args(extra, box=box), "chromium_sandbox": box.on}


@lru_cache(maxsize=8)
def browser_version(executable: str) -> str:
    """'Chromium 156.0.8078.73' as the binary reports it, or 'unknown'."""
    command, env = [executable, "--version"], None
    if running_as_root() and shutil.which("setpriv"):
        try:  # even to print its version, Chromium does not run as root
            box = sandbox()
            command = ["setpriv", f"--reuid={box.uid}", f"--regid={box.gid}", "--clear-groups", "--", *command]
            env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}
        except UserError:
            pass
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=20, env=env)
        return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "unknown"
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"
