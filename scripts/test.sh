#!/usr/bin/env bash
# The one test command (README and CI): create .venv, install with test extras, run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
# PostgreSQL on loopback for the register tests, when the server binaries exist.
if [ -z "${MINORGUARD_TEST_PG_URL:-}" ]; then
  if url=$(bash scripts/start_test_postgres.sh 2>/dev/null); then export MINORGUARD_TEST_PG_URL="$url"; fi
fi
.venv/bin/python -m ruff check .
exec .venv/bin/python -m pytest -q "$@"
