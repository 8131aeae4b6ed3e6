#!/usr/bin/env bash
# The password flood of docs/benchmarks.md: starts `gitgate serve` with its
# defaults (SQLite), creates bob with a password and a public repository,
# then fires 100 concurrent wrong-password requests at it (internal/pwflood)
# and prints the server's peak memory.
#
# Usage: docs/bench/password-flood.sh [N]   (N concurrent requests, default 100)
# Environment: GITGATE_BIN=binary to measure (default: bin/gitgate, built),
#   any GITGATE_* setting (e.g. GITGATE_PASSWORD_CONCURRENCY).
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-100}
if [ -z "${GITGATE_BIN:-}" ]; then
    make -s build
    GITGATE_BIN=$(pwd)/bin/gitgate
fi
work=$(mktemp -d /tmp/gitgate-pwflood.XXXXXX)
export GITGATE_DATA_DIR=$work/data GITGATE_HTTP_ADDR=${GITGATE_HTTP_ADDR:-127.0.0.1:18280} GITGATE_SSH_ADDR=${GITGATE_SSH_ADDR:-127.0.0.1:12422}
export GITGATE_INITIAL_ROOT_PASSWORD=bench-root-password GITGATE_LOG_LEVEL=warn
"$GITGATE_BIN" user create --username bob --email bob@example.com --password-stdin <<<"bobs-real-password" >/dev/null
"$GITGATE_BIN" repo create bob/public --visibility public >/dev/null
"$GITGATE_BIN" serve > "$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://$GITGATE_HTTP_ADDR/-/readiness" >/dev/null 2>&1 && break; sleep 0.1; done
# Let the start-up garbage go back to the system before measuring.
sleep 2
go run ./internal/pwflood -url "http://$GITGATE_HTTP_ADDR/bob/public.git" -user bob -pid "$pid" -n "$n"
