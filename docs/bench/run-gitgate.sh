#!/usr/bin/env bash
# Measures gitgate's HTTP and SSH doors next to the reference servers in one
# run of the shared harness (../shared/bench), writing docs/bench/*.md|csv.
#
# Usage: docs/bench/run-gitgate.sh [-q] [-t TESTS] [-p PREFIX] [CORPUS_DIR]
#   CORPUS_DIR  corpora from ../shared/bench/mkrepos.sh (default /tmp/gitbench-corpus;
#               generated when missing, ~1 min)
#   -q, -t      passed to run.sh (quick run, test list)
#   -p PREFIX   result file prefix (default gitgate: docs/bench/gitgate-DATE.md)
# Environment: BENCH=path of the shared harness (default ../shared/bench),
#   GITGATE_DATABASE_URL to measure on PostgreSQL (default SQLite),
#   ANCHORS="file http-backend sshd" reference targets to include; "floor"
#   adds floor-http, gitgate-replay in front of gitgate's HTTP door: every
#   request answered from memory after the first, the git client's own time.
# Needs lighttpd and openssh-server (apt-get install -y lighttpd openssh-server).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
BENCH=${BENCH:-$root/../shared/bench}
ANCHORS=${ANCHORS:-"file http-backend sshd"}
runargs=()
prefix=gitgate
while getopts "qt:p:" o; do
    case $o in
        q) runargs+=(-q) ;;
        t) runargs+=(-t "$OPTARG") ;;
        p) prefix=$OPTARG ;;
        *) sed -n '2,14p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
corpus=${1:-/tmp/gitbench-corpus}
[ -d "$corpus/medium.git" ] || "$BENCH/mkrepos.sh" "$corpus"

make -s build
gg=$root/bin/gitgate
work=$(mktemp -d /tmp/gitgate-bench.XXXXXX)
export GITGATE_DATA_DIR=$work/data GITGATE_HTTP_ADDR=127.0.0.1:18180 GITGATE_SSH_ADDR=127.0.0.1:12322
export GITGATE_INITIAL_ROOT_PASSWORD=bench-root-password GITGATE_LOG_LEVEL=warn
"$gg" serve > "$work/serve.log" 2>&1 &
pid=$!
echo "$pid" > "$work/gitgate.pid"
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; "$BENCH/anchors.sh" stop >/dev/null 2>&1 || true' EXIT
for _ in $(seq 1 100); do curl -fsS "http://$GITGATE_HTTP_ADDR/-/readiness" >/dev/null 2>&1 && break; sleep 0.1; done

"$gg" user create --username bench --email bench@example.com >/dev/null
for r in small medium scratch bigpush; do "$gg" repo create "bench/$r" >/dev/null; done
token=$("$gg" token create --user bench --name bench --scopes write_repository)
ssh-keygen -q -t ed25519 -N '' -f "$work/bench_key"
"$gg" key add --user bench --title bench --file "$work/bench_key.pub" >/dev/null

http="gitgate-http=http://bench:$token@$GITGATE_HTTP_ADDR/bench,watch=$work/gitgate.pid"
ssh="gitgate-ssh=ssh://git@$GITGATE_SSH_ADDR/bench,key=$work/bench_key,watch=$work/gitgate.pid"
"$BENCH/run.sh" -S "$corpus" "$http"
# A server that just received four mirrors writes their bitmaps and
# commit-graphs in the background; measure the steady state, as with the
# reference servers' prepared repositories.
sleep 1
until curl -fsS "http://$GITGATE_HTTP_ADDR/-/metrics" | grep -q '^gitgate_housekeeping_pending 0$'; do sleep 1; done

"$BENCH/anchors.sh" start "$corpus" >/dev/null
anchors=()
if [[ " $ANCHORS " == *" floor "* ]]; then
    go build -o "$work/gitgate-replay" ./cmd/gitgate-replay
    "$work/gitgate-replay" -listen 127.0.0.1:18181 -upstream "http://$GITGATE_HTTP_ADDR" 2> "$work/replay.log" &
    echo $! > "$work/replay.pid"
    trap 'kill $pid $(cat "$work/replay.pid") 2>/dev/null; wait $pid 2>/dev/null; "$BENCH/anchors.sh" stop >/dev/null 2>&1 || true' EXIT
    for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:18181/" && break; sleep 0.1; done
    anchors+=("floor-http=http://bench:$token@127.0.0.1:18181/bench,watch=$work/replay.pid")
fi
while read -r spec; do
    for a in $ANCHORS; do [ "${spec%%=*}" = "$a" ] && anchors+=("$spec"); done
done < <("$BENCH/anchors.sh" targets)

"$BENCH/run.sh" "${runargs[@]}" -p "$prefix" -o "$root/docs/bench" "$http" "$ssh" "${anchors[@]}"
