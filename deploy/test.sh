#!/usr/bin/env bash
# Runs the whole test suite: unit, time-skipping workflow tests, and connected tests that start
# their own broker, Temporal dev server and services against PostgreSQL on 127.0.0.1:5432.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
ensure_local_postgres
exec .venv/bin/python -m pytest "$@"
