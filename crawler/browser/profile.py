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


# What a copy of a person's own profile leaves out: caches (large, and nothing a site is told from them), crash
# reports, and the running browser's locks (a copied SingletonLock would make Chromium think the profile is in use).
PROFILE_SKIP = frozenset({"Cache", "Code Cache", "GPUCache", "ShaderCache", "GrShaderCache", "GraphiteDawnCache",
                          "DawnCache", "DawnGraphiteCache", "CacheStorage", "ScriptCache", "Crashpad", "Crash Reports",
                          "component_crx_cache", "extensions_crx_cache", "optimization_guide_model_store",
                          "SingletonLock", "SingletonSocket", "SingletonCookie", "BrowserMetrics",
                          "lockfile", "LOCK"})
PROFILE_COPY_MAX = 2 * 1024 ** 3  # bytes copied from a person's profile, caches left out


def new_profile(root: str | None = None, template: str | None = None) -> str:
    """Create a profile directory for one visit; returns its path. Empty with our preferences, or, with
    `template` (a person's own Chromium profile: `mouchard me crawl --browser-profile`), a copy of it, so the
    visit has their cookies and logins while their own folder is never written to."""
    folder = Path(tempfile.mkdtemp(prefix="mouchard-profile-", dir=root))
    if template:
        copy_profile(Path(template), folder)
        return str(folder)
    (folder / "Default").mkdir()
    (folder / "Default" / "Preferences").write_text(json.dumps(PREFERENCES), encoding="utf-8")
    return str(folder)


def check_template(path: str) -> str:
    """A person's Chromium profile folder (the user data dir, holding `Local State` or `Default/`), or a
    one-line UserError."""
    from mouchard.errors import UserError

    folder = Path(path).expanduser()
    if not folder.is_dir() or folder.is_symlink():
        raise UserError(f"--browser-profile {path}: not a folder")
    if not ((folder / "Local State").is_file() or (folder / "Default").is_dir()):
        raise UserError(f"--browser-profile {path}: not a Chromium profile folder (no 'Local State' or 'Default/'): "
                        "give the user data dir, e.g. ~/.config/chromium")
    return str(folder.resolve())


def copy_profile(source: Path, target: Path) -> None:
    """Copy `source` into the existing folder `target`, caches and locks left out; symbolic links are copied as
    links, never followed, and special files are skipped. Over PROFILE_COPY_MAX bytes: UserError."""
    from mouchard.errors import UserError

    copied = 0
    for top, dirs, files in os.walk(source, followlinks=False):
        rel = Path(top).relative_to(source)
        dirs[:] = sorted(d for d in dirs if d not in PROFILE_SKIP)
        (target / rel).mkdir(parents=True, exist_ok=True)
        for name in sorted(files):
            if name in PROFILE_SKIP:
                continue
            src, dst = Path(top) / name, target / rel / name
            if src.is_symlink():
                os.symlink(os.readlink(src), dst)
                continue
            if not src.is_file():
                continue
            copied += src.stat().st_size
            if copied > PROFILE_COPY_MAX:
                raise UserError(f"--browser-profile {source}: over {PROFILE_COPY_MAX // 1024 ** 3} GB without its "
                                "caches; close the browser and clear its history, or use a smaller profile")
            shutil.copy2(src, dst, follow_symlinks=False)


def ensure_preferences(path: str) -> None:
    """Write our preferences into `path` unless it already holds a profile (scrapy-playwright passes the path)."""
    prefs = Path(path) / "Default" / "Preferences"
    if not prefs.exists():
        prefs.parent.mkdir(parents=True, exist_ok=True)
        prefs.write_text(json.dumps(PREFERENCES), encoding="utf-8")


def remove_profile(path: str | None) -> None:
    if path and Path(path).name.startswith("mouchard-profile-"):
        shutil.rmtree(path, ignore_errors=True)
