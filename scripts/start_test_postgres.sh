#!/usr/bin/env bash
# Start a throw-away PostgreSQL on 127.0.0.1 for the tests and print its URL.
set -euo pipefail
initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)
[ -n "$initdb" ] || exit 1
bin=$(dirname "$initdb")
dir=${TMPDIR:-/tmp}/minorguard-pg
port=${MINORGUARD_PG_PORT:-55432}
run_as=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || exit 1
  run_as=(runuser -u postgres --)
fi
if ! "${run_as[@]}" "$bin/pg_isready" -h 127.0.0.1 -p "$port" >/dev/null 2>&1; then
  rm -rf "$dir"; mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
  "${run_as[@]}" "$bin/initdb" -D "$dir/data" -U minorguard --auth=trust >/dev/null
  "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -o "-h 127.0.0.1 -p $port -k $dir" -l "$dir/log" -w start >/dev/null
fi
echo "postgresql+psycopg://minorguard@127.0.0.1:$port/postgres"
