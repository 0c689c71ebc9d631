#!/usr/bin/env bash
# The test command: installs what the checks need into .venv, then lint, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
# The sandbox's page is tested in a real headless browser: Debian's Chromium, driven by
# Playwright (which then downloads no browser of its own).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
  else
    sudo apt-get install -y -q chromium >/dev/null
  fi
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# Tests talk to fakes on 127.0.0.1 only; a proxy from the environment must not intercept.
unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy
# Three workers on two cores: most of a test's time is spent waiting on sockets and
# subprocesses, so a third worker fills the gaps (about 2.3x faster than one).
.venv/bin/python -m pytest -n 3 "$@"
