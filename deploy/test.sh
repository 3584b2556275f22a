#!/usr/bin/env bash
# Runs the whole test suite: unit, time-skipping workflow tests, and connected tests that start
# their own broker, Temporal dev server and services against PostgreSQL on 127.0.0.1:5432.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
ensure_local_postgres
# The console's browser tests drive Debian's chromium (Playwright never downloads a browser here).
# A CJK font too: the console is in Chinese, and its screenshot should be readable (the annual
# report's PDF embeds it). poppler-utils: the report's test renders its pages (pdftoppm, pdftotext).
if { [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/truetype/wqy ] || [ ! -x /usr/bin/pdftoppm ]; } \
  && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium, a CJK font and poppler-utils for the browser and report tests" >&2
  { apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei poppler-utils; } >/dev/null \
    || echo "could not install chromium: the browser tests will fail" >&2
fi
exec .venv/bin/python -m pytest "$@"
