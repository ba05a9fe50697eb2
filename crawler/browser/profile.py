"""Fresh Chromium profiles, one per visit, that keep third-party cookies as a person's Chrome does.

Checked on Debian Chromium 156: `new_context()` and a default persistent profile block third-party cookies; a
persistent profile whose `Default/Preferences` holds `profile.cookie_controls_mode = 0` keeps them (command-line
flags and `Network.setCookieControls` had no effect). The profile is written before launch and deleted after.

When mouchard runs as root the browser runs as an unprivileged user (mouchard/browser.py): its launcher hands the
fresh profile to that user, and the folder holding the profiles must let it through (0711: it can reach its own
profile by name but cannot list or replace the others).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

PREFERENCES = {
    "profile": {"cookie_controls_mode": 0},  # 0: allow third-party cookies (1 blocks in incognito, 2 always)
    "intl": {"accept_languages": "en-US,en"},
    "download": {"prompt_for_download": False},
}


def new_profile_root(prefix: str = "mouchard-crawl-") -> str:
    """A private folder for a run's profiles, which the browser user may traverse but not list (0711)."""
    folder = tempfile.mkdtemp(prefix=prefix)
    os.chmod(folder, 0o711)
    return folder


def new_profile(root: str | None = None) -> str:
    """Create an empty profile directory with our preferences; returns its path."""
    folder = Path(tempfile.mkdtemp(prefix="mouchard-profile-", dir=root))
    (folder / "Default").mkdir()
    (folder / "Default" / "Preferences").write_text(json.dumps(PREFERENCES), encoding="utf-8")
    return str(folder)


def ensure_preferences(path: str) -> None:
    """Write our preferences into `path` unless it already holds a profile (scrapy-playwright passes the path)."""
    prefs = Path(path) / "Default" / "Preferences"
    if not prefs.exists():
        prefs.parent.mkdir(parents=True, exist_ok=True)
        prefs.write_text(json.dumps(PREFERENCES), encoding="utf-8")


def remove_profile(path: str | None) -> None:
    if path and Path(path).name.startswith("mouchard-profile-"):
        shutil.rmtree(path, ignore_errors=True)
