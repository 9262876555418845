#!/usr/bin/env bash
# bench/refused_writes.sh: how many fsyncs refused writes cost.
#
# Starts changegate (basicauth on, no insecure_allow_all) on a bbolt file
# on the real disk, creates bucket b and collection c as alice, then for
# each workload sends the same write from CONNS connections for DURATION
# (bench/writesload) while `strace -c` counts the server's fdatasync and
# fsync calls:
#   anon-401    anonymous PUT of a record     (refused: 401)
#   bob-403     bob's PUT of a record         (refused: 403)
#   alice-200   alice's PUT of the same record (accepted: the baseline,
#               every answer is a durable commit)
# and once more without strace, for the request rate.
#
# With BEFORE_REF set, the same runs are made first with a binary built
# from that commit (git archive), so the report compares before and after
# in one run. Everything listens on 127.0.0.1 and stops by itself.
#
# Usage: [BEFORE_REF=<commit>] [DURATION=5s] [CONNS=8] bash bench/refused_writes.sh
set -euo pipefail

DURATION=${DURATION:-5s}
CONNS=${CONNS:-8}
BEFORE_REF=${BEFORE_REF:-}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d /var/tmp/changegate-refused.XXXXXX)
PID=

cleanup() {
	if [[ -n $PID ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

die() { echo "refused_writes: $*" >&2; exit 1; }
command -v strace >/dev/null || die "needs strace"

basic() { printf 'Basic %s' "$(printf '%s:pw' "$1" | base64)"; }

# build <name> [<ref>] builds ./cmd/changegate from the work tree or ref.
build() {
	local src=$REPO
	if [[ -n ${2:-} ]]; then
		src=$WORK/src-$1
		mkdir -p "$src"
		git -C "$REPO" archive "$2" | tar -x -C "$src"
	fi
	(cd "$src" && go build -o "$WORK/$1" ./cmd/changegate) || die "building $1"
}

# start <binary> starts the server on a fresh bolt file and seeds it.
start() {
	local port=$(( 20000 + RANDOM % 20000 )) admin=$(( 40000 + RANDOM % 20000 ))
	rm -rf "$WORK/data"
	cat >"$WORK/Caddyfile" <<CADDY
{
	admin localhost:$admin
	http_port $port
	auto_https off
	persist_config off
}
:$port {
	docstore {
		storage bolt $WORK/data/data.db
		userid_hmac_secret bench-secret-0123456789
	}
}
CADDY
	"$WORK/$1" run --config "$WORK/Caddyfile" --adapter caddyfile >"$WORK/server.log" 2>&1 &
	PID=$!
	BASE=http://127.0.0.1:$port/v1
	for _ in $(seq 100); do curl -sf "$BASE/" >/dev/null && break; sleep 0.1; done
	curl -sf -XPUT "$BASE/buckets/b" -H "Authorization: $(basic alice)" -H 'Content-Type: application/json' -d '{}' >/dev/null || die "seeding"
	curl -sf -XPUT "$BASE/buckets/b/collections/c" -H "Authorization: $(basic alice)" -H 'Content-Type: application/json' -d '{}' >/dev/null || die "seeding"
}

stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }

# measure <label> <auth> prints one table row: fsyncs during a traced run,
# fsyncs per second, per request, and the untraced request rate.
measure() {
	local label=$1 auth=$2 out calls traced rps
	strace -f -c -e trace=fdatasync,fsync -p "$PID" -o "$WORK/strace.txt" 2>/dev/null &
	local st=$!
	sleep 0.5
	out=$("$WORK/load" -url "$BASE/buckets/b/collections/c/records/r" -auth "$auth" -c "$CONNS" -d "$DURATION")
	kill -INT "$st"; wait "$st" 2>/dev/null || true
	calls=$(awk '$NF=="fdatasync"||$NF=="fsync"{n+=$4} END{print n+0}' "$WORK/strace.txt")
	traced=$(sed -E 's/^requests ([0-9]+).*/\1/' <<<"$out")
	rps=$("$WORK/load" -url "$BASE/buckets/b/collections/c/records/r" -auth "$auth" -c "$CONNS" -d "$DURATION" | sed -E 's/.*rps ([0-9]+).*/\1/')
	local secs=${DURATION%s}
	printf '| %s | %s | %s | %d | %.0f | %.3f | %s |\n' "$BIN_LABEL" "$label" "$(sed -E 's/.*statuses //' <<<"$out")" \
		"$calls" "$(echo "$calls / $secs" | bc -l)" "$(echo "$calls / $traced" | bc -l)" "$rps"
}

run_binary() {
	BIN_LABEL=$2
	start "$1"
	measure anon-401 ""
	measure bob-403 "$(basic bob)"
	measure alice-200 "$(basic alice)"
	stop
}

(cd "$REPO" && go build -o "$WORK/load" ./bench/writesload) || die "building bench/writesload"
build after
[[ -n $BEFORE_REF ]] && build before "$BEFORE_REF"
echo "| binary | workload | statuses (traced run) | fsyncs | fsyncs/s | fsyncs/request | req/s untraced |"
echo "|---|---|---|---|---|---|---|"
[[ -n $BEFORE_REF ]] && run_binary before "before ($(git -C "$REPO" rev-parse --short "$BEFORE_REF"))"
run_binary after "after ($(git -C "$REPO" rev-parse --short HEAD))"
