#!/usr/bin/env bash
# Runs the load tool (cmd/gitgate-load) against a throwaway gitgate server:
# `make loadtest` (64 clients, 60 s) and `make soak` (16 clients, 10 minutes).
#
# Usage: docs/bench/loadtest.sh [-c CLIENTS] [-d DURATION] [-o PREFIX] [-t TITLE]
#   -c  concurrent clients (default 64)       -d  duration (default 60s)
#   -o  report prefix: PREFIX.md, .csv, .png (default /tmp/gitgate-loadtest-DATE)
#   -t  report title
# Environment: CORPUS (default /tmp/gitbench-corpus, from ../shared/bench/mkrepos.sh):
#   its small.git seeds LOAD_REPOS repositories (default 4); without it a repository
#   of 200 commits is generated. MEDIUM=1 adds the corpus's medium.git as one more.
#   LOAD_MIX (default clone=2,fetch=5,push=3), LOAD_HTTP_PORT (18190),
#   LOAD_SSH_PORT (12390); GITGATE_* settings reach the server (e.g.
#   GITGATE_GIT_MAX_CONCURRENT). Exits non-zero when any operation failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
clients=64 duration=60s prefix=/tmp/gitgate-loadtest-$(date +%F) title=""
while getopts "c:d:o:t:" o; do
    case $o in
        c) clients=$OPTARG ;;
        d) duration=$OPTARG ;;
        o) prefix=$OPTARG ;;
        t) title=$OPTARG ;;
        *) sed -n '2,15p' "$0"; exit 2 ;;
    esac
done
corpus=${CORPUS:-/tmp/gitbench-corpus}
nrepos=${LOAD_REPOS:-4}

make -s build
go build -o bin/gitgate-load ./cmd/gitgate-load
gg=$root/bin/gitgate
work=$(mktemp -d /tmp/gitgate-load.XXXXXX)
export GITGATE_DATA_DIR=$work/data
export GITGATE_HTTP_ADDR=127.0.0.1:${LOAD_HTTP_PORT:-18190} GITGATE_SSH_ADDR=127.0.0.1:${LOAD_SSH_PORT:-12390}
export GITGATE_INITIAL_ROOT_PASSWORD=load-root-password GITGATE_LOG_LEVEL=warn
export GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
"$gg" serve > "$work/serve.log" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for _ in $(seq 1 100); do curl -fsS "http://$GITGATE_HTTP_ADDR/-/readiness" >/dev/null 2>&1 && break; sleep 0.1; done
if ! curl -fsS "http://$GITGATE_HTTP_ADDR/-/readiness" >/dev/null 2>&1; then
    echo "loadtest: the server did not start:" >&2; cat "$work/serve.log" >&2; exit 1
fi

"$gg" user create --username load --email load@example.com >/dev/null
token=$("$gg" token create --user load --name load --scopes write_repository)
ssh-keygen -q -t ed25519 -N '' -f "$work/load_key"
"$gg" key add --user load --title load --file "$work/load_key.pub" >/dev/null

src=$corpus/small.git
if [ ! -d "$src" ]; then
    src=$work/generated
    echo "loadtest: no $corpus/small.git; generating a repository of 200 commits" >&2
    git init -q -b main "$src"
    for i in $(seq 1 200); do
        mkdir -p "$src/d$((i % 20))"
        head -c 12000 /dev/urandom | base64 > "$src/d$((i % 20))/f$((i % 60)).txt"
        git -C "$src" add -A
        git -C "$src" -c user.name=load -c user.email=load@example.com commit -q -m "commit $i"
    done
fi
http=http://load:$token@$GITGATE_HTTP_ADDR/load
repos=()
for i in $(seq 1 "$nrepos"); do repos+=("small-$i"); done
[ "${MEDIUM:-0}" = 1 ] && repos+=(medium)
for r in "${repos[@]}"; do
    "$gg" repo create "load/$r" >/dev/null
    from=$src
    [ "$r" = medium ] && from=$corpus/medium.git
    git -C "$from" push -q "$http/$r.git" '+refs/heads/*:refs/heads/*' '+refs/tags/*:refs/tags/*'
done
# Let the housekeeping the seeding pushes scheduled finish first: the
# load measures the steady state, not the first repacks.
for _ in $(seq 1 120); do
    m=$(curl -fsS "http://$GITGATE_HTTP_ADDR/-/metrics" || true)
    grep -q '^gitgate_housekeeping_pending 0$' <<< "$m" && break
    sleep 1
done

[ -n "$title" ] || title="gitgate load test, $clients clients for $duration, $(date -u +%F)"
mkdir -p "$(dirname "$prefix")"
status=0
"$root/bin/gitgate-load" -http "$http" -ssh "ssh://git@$GITGATE_SSH_ADDR/load" -ssh-key "$work/load_key" \
    -repos "$(IFS=,; echo "${repos[*]}")" -clients "$clients" -duration "$duration" -mix "${LOAD_MIX:-clone=2,fetch=5,push=3}" \
    -server-pid "$pid" -metrics "http://$GITGATE_HTTP_ADDR/-/metrics" -out "$prefix" -title "$title" -work "$work/clients" || status=$?
if ! kill -0 "$pid" 2>/dev/null; then
    echo "loadtest: the server died during the run:" >&2; tail -20 "$work/serve.log" >&2; status=1
fi
if [ "$status" != 0 ]; then
    cp "$work/serve.log" "$prefix.serve.log"
    echo "loadtest: the server's log (warnings and errors): $prefix.serve.log" >&2
fi
echo "loadtest: report $prefix.md, time series $prefix.csv, plot $prefix.png" >&2
exit $status
