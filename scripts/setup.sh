#!/usr/bin/env bash
# Installs everything mouchard needs on a fresh machine, idempotently: system packages (Chromium, Node),
# a virtualenv with the newest Python >= 3.12 found, the project with its test extras, and the npm packages.
# On Debian/Ubuntu as root it uses apt-get; elsewhere it says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

need_apt=()
have_browser() {
  [ -n "${MOUCHARD_BROWSER:-}" ] && return 0
  ls "${PLAYWRIGHT_BROWSERS_PATH:-$HOME/.cache/ms-playwright}"/chromium-*/chrome-linux*/chrome >/dev/null 2>&1 && return 0
  command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]
}
have_browser || need_apt+=(chromium)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v make >/dev/null 2>&1 || need_apt+=(make)
# tshark decrypts and reassembles phone packet captures (PCAPdroid pcap/pcapng) for `mouchard import`.
command -v tshark >/dev/null 2>&1 || need_apt+=(tshark)
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing ${need_apt[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    say "please install: ${need_apt[*]} (browser: 'playwright install chromium' where it can download)" >&2
    case " ${need_apt[*]} " in *" chromium "*) exit 1;; esac
  fi
fi

# As root, mouchard starts Chromium as this unprivileged system user so that Chromium's sandbox stays on
# (mouchard/browser.py; without it the browser runs as 'nobody', with a warning).
if [ "$(id -u)" = 0 ] && command -v useradd >/dev/null 2>&1 && ! id -u mouchard-browser >/dev/null 2>&1; then
  say "creating system user mouchard-browser (the browser runs as it when mouchard runs as root)"
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin mouchard-browser
fi

# The newest Python >= 3.12 on this machine (pyenv installs included). 3.11 cannot work: Scrapy 2.19 needs
# brotli >= 1.2, mitmproxy 11 pins Brotli <= 1.1 and mitmproxy 12 needs 3.12 (pyproject's requires-python).
# CI also builds a second virtualenv with the OLDEST supported Python: MOUCHARD_VENV=.venv-oldest MOUCHARD_PYTHON=oldest.
MIN_PY=312
venv=${MOUCHARD_VENV:-.venv}
pick=${MOUCHARD_PYTHON:-newest}
case "$pick" in newest|oldest) ;; *) echo "[setup] MOUCHARD_PYTHON must be newest or oldest, not '$pick'" >&2; exit 1;; esac
pick_python() {
  local best="" bestv=0 older="" cand v
  for cand in python3.14 python3.13 python3.12 python3.11 python3 \
              "$HOME"/.pyenv/versions/3.1[1-9]*/bin/python3 /usr/local/bin/python3.1[1-9] /usr/bin/python3.1[1-9]; do
    command -v "$cand" >/dev/null 2>&1 || [ -x "$cand" ] || continue
    v=$("$cand" -c 'import sys; print(sys.version_info[0]*100+sys.version_info[1])' 2>/dev/null) || continue
    if [ "$v" -lt "$MIN_PY" ]; then older=$("$cand" --version 2>&1); continue; fi
    if { [ -z "$best" ] || { [ "$pick" = newest ] && [ "$v" -gt "$bestv" ]; } || { [ "$pick" = oldest ] && [ "$v" -lt "$bestv" ]; }; } \
       && "$cand" -c 'import venv, ensurepip' 2>/dev/null; then
      best=$cand; bestv=$v
    fi
  done
  if [ -z "$best" ]; then
    echo "[setup] mouchard needs Python >= 3.12${older:+ (found only $older, on which Scrapy 2.19 and mitmproxy cannot both install)}: install python3.12 or newer with venv (Debian 12: 'pyenv install 3.12'), then run make again" >&2
    exit 1
  fi
  echo "$best"
}

if [ -x "$venv/bin/python" ] && [ "$("$venv/bin/python" -c 'import sys; print(sys.version_info[0]*100+sys.version_info[1])')" -lt "$MIN_PY" ]; then
  say "removing $venv: it was made with $("$venv/bin/python" --version 2>&1), older than mouchard supports"
  rm -rf "$venv"
fi
# The npm packages download while Python's install: both mostly wait on the network.
npm_pid="" npm_log=$(mktemp)
# a failed Python install stops the script: its npm install stops with it (no orphan)
trap 'if [ -n "$npm_pid" ]; then kill "$npm_pid" 2>/dev/null; wait "$npm_pid" 2>/dev/null; fi; rm -f "$npm_log"' EXIT
if [ -f package.json ] && command -v npm >/dev/null 2>&1; then
  if [ ! -d node_modules ] || [ package.json -nt node_modules ]; then
    say "installing npm packages (autoconsent, CMP libraries, Prebid.js) in the background"
    npm install --no-audit --no-fund --loglevel=error >"$npm_log" 2>&1 &
    npm_pid=$!
  fi
fi
# Python packages into the virtualenv whose Python is $1: with uv (itself from PyPI; it resolves the same versions
# as pip and downloads in parallel: 20 s where pip takes a minute), else with pip. Bytecode is compiled at install,
# as pip does: uv does not by default, and where PYTHONDONTWRITEBYTECODE is set (CI machines) every crawl, worker
# and proxy process would otherwise compile Scrapy, Twisted, Playwright and mitmproxy again (minutes of CPU).
pip_into() {
  local py=$1; shift
  if "$py" -m pip install -q uv >/dev/null 2>&1 && "$py" -m uv pip install -q --compile-bytecode --python "$py" "$@"; then
    return 0
  fi
  say "uv could not install $*: installing with pip"
  "$py" -m pip install -q --upgrade pip && "$py" -m pip install -q "$@"
}
if [ ! -x "$venv/bin/python" ]; then
  py=$(pick_python)
  say "creating $venv with $py ($($py --version))"
  "$py" -m venv "$venv"
fi
stamp=$venv/.mouchard-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing mouchard and its dependencies into $venv"
  pip_into "$venv/bin/python" -e ".[test,scale,datasette]"
  touch "$stamp"
fi
# mouchard's own modules, compiled once here for the same reason (skipped when up to date; a module edited later is
# still read from its source: Python checks each file's time and size).
"$venv/bin/python" -m compileall -q -j 0 mouchard crawler addons audits demoweb >/dev/null
# pywb (the archives' replay in tests/test_archive_pywb.py and docs/archive.md) lives in its own virtualenv beside
# $venv, made with the same Python: pywb 2.10.0 pins redis 2.10 and fakeredis 0.16, which must not enter $venv.
# MOUCHARD_PYWB=0 skips it (the pywb test then skips locally, and fails under `make test` and in CI).
if [ "${MOUCHARD_PYWB:-1}" != 0 ]; then
  pywb_venv=${venv}-pywb
  pywb_stamp=$pywb_venv/.mouchard-pywb-2.10.0
  if [ ! -f "$pywb_stamp" ]; then
    if [ ! -x "$pywb_venv/bin/python" ]; then
      say "creating $pywb_venv for pywb (the archives' replay engine)"
      "$venv/bin/python" -m venv "$pywb_venv"  # a venv made from a venv's Python uses the same base Python
    fi
    say "installing pywb 2.10.0 into $pywb_venv"
    pip_into "$pywb_venv/bin/python" "pywb==2.10.0"
    touch "$pywb_stamp"
  fi
fi
if [ -n "$npm_pid" ]; then  # started above, beside the Python installs
  status=0
  wait "$npm_pid" || status=$?
  npm_pid=""
  if [ "$status" != 0 ]; then
    cat "$npm_log" >&2
    echo "[setup] npm install failed ($status)" >&2
    exit 1
  fi
  touch node_modules
fi
say "ready: $("$venv/bin/mouchard" --version | head -2 | tr '\n' ' ')"
