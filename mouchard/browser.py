"""Find a Chromium to drive and the flags every mouchard browser starts with.

No Playwright import here: the core stays importable without it, and the version is read from the binary.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from mouchard.errors import UserError

ENV_BROWSER = "MOUCHARD_BROWSER"

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
    choice = explicit or os.environ.get(ENV_BROWSER)
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


def base_args(extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Chromium flags for every mouchard browser, then `extra` (e.g. --browser-arg, host-resolver rules)."""
    args = list(QUIET_ARGS)
    if running_as_root():
        # Chromium refuses to start its sandbox as root; crawl machines and CI run as root.
        args.append("--no-sandbox")
    args.extend(extra)
    return args


@lru_cache(maxsize=8)
def browser_version(executable: str) -> str:
    """'Chromium 156.0.8078.73' as the binary reports it, or 'unknown'."""
    try:
        out = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=20)
        return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "unknown"
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"
