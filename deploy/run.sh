#!/usr/bin/env bash
# Runs the whole system locally: broker, Temporal (with UI), database, every service, the gateway.
# Ctrl-C stops everything. Extra arguments go to deploy/local/stack.py (e.g. --check). With
# DATABASE_URL the services use that PostgreSQL (a local one is started if needed), else SQLite
# files under var/.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
# Warn (never stop) when this year or, from 1 November, next year has no official holiday arrangement.
.venv/bin/python -m services.common.calendar_status || true
exec .venv/bin/python -m deploy.local.stack "$@"
