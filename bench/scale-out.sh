#!/usr/bin/env bash
# bench/scale-out.sh: two changegate instances on one PostgreSQL schema.
#
#   creates    HTTP creations (POST .../records) with synchronous_commit
#              on, from both instances at once: into one collection, then
#              spread over COLLECTIONS collections (writesload, CONNS
#              connections per instance in all).
#   changesets GET of one collection's changeset (100 records, cached)
#              through B, from 1 connection then CONNS, DURATION each;
#              prints requests/s and the CPU per request of B and of the
#              PostgreSQL backends of both instances (set CHANGEGATE_BIN
#              to an older build to compare).
#   longpolls  LISTENERS idle _changes longpolls split over both
#              instances, then one write through the first; the time from
#              the write to each answer (feedsload -url2).
#
# Usage: bash bench/scale-out.sh [creates] [changesets] [longpolls]
#        (default: creates longpolls)
# Environment (defaults in brackets):
#   PG_DSN [postgres://postgres@127.0.0.1:5432/test?sslmode=disable] the server; the run
#          uses a fresh schema, dropped at the end; needs psql
#   DURATION [10s] each creation run    CONNS [64] writers, over both instances
#   COLLECTIONS [16]   LISTENERS [10000]   CHANGEGATE_BIN (else built)
# Everything listens on 127.0.0.1; the servers stop on exit.
set -euo pipefail

PG_DSN=${PG_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
COLLECTIONS=${COLLECTIONS:-16}
LISTENERS=${LISTENERS:-10000}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d)
SCHEMA=cg_bench_$$
PIDS=()

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	psql -q "$PG_DSN" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

build() {
	BIN=${CHANGEGATE_BIN:-}
	if [[ -z $BIN ]]; then
		log "building changegate, writesload, feedsload"
		BIN=$WORK/changegate
		(cd "$REPO" && go build -o "$BIN" ./cmd/changegate)
	fi
	(cd "$REPO" && go build -o "$WORK/writesload" ./bench/writesload && go build -o "$WORK/feedsload" ./bench/feedsload)
}

# start_instance NAME: one changegate on the schema; sets PORT_<NAME>.
start_instance() {
	local name=$1 port admin dsn
	port=$(free_port) admin=$(free_port)
	dsn="$PG_DSN?pool_max_conns=16&search_path=$SCHEMA&application_name=$SCHEMA"
	[[ $PG_DSN == *\?* ]] && dsn="$PG_DSN&pool_max_conns=16&search_path=$SCHEMA&application_name=$SCHEMA"
	cat >"$WORK/$name.Caddyfile" <<EOF
{
	admin 127.0.0.1:$admin
	auto_https off
	persist_config off
}
http://127.0.0.1:$port {
	changes {
		resources /buckets/bench
	}
	docstore {
		storage postgres "$dsn"
		userid_hmac_secret bench-secret-0123456789abcdef
		insecure_allow_all
	}
}
EOF
	ulimit -n 65536 2>/dev/null || true
	"$BIN" run --config "$WORK/$name.Caddyfile" --adapter caddyfile >"$WORK/$name.log" 2>&1 &
	PIDS+=($!)
	printf -v "PORT_$name" %s "$port"
	printf -v "PID_$name" %s "$!"
	for _ in $(seq 100); do
		curl -fsS "http://127.0.0.1:$port/v1/" >/dev/null 2>&1 && return
		sleep 0.1
	done
	tail -20 "$WORK/$name.log" >&2
	die "instance $name did not start"
}

api() { curl -fsS -o /dev/null -X "$1" -H 'Content-Type: application/json' --data-binary "${3:-{\}}" "$2" || die "$1 $2"; }

setup() {
	psql -q "$PG_DSN" -c "CREATE SCHEMA $SCHEMA" >/dev/null
	start_instance A
	start_instance B
	A=http://127.0.0.1:$PORT_A/v1 B=http://127.0.0.1:$PORT_B/v1
	api PUT "$A/buckets/bench"
	for ((i = 0; i < COLLECTIONS; i++)); do api PUT "$A/buckets/bench/collections/c$i"; done
	log "instances A :$PORT_A and B :$PORT_B on schema $SCHEMA; load $(cut -d' ' -f1-3 /proc/loadavg)"
}

# creates_run LABEL N: CONNS writers over both instances and the first N
# collections, DURATION; prints the creations per second of all together.
creates_run() {
	local label=$1 n=$2 per i out total=0 rps
	per=$((CONNS / (2 * n)))
	((per < 1)) && per=1
	for ((i = 0; i < n; i++)); do
		for inst in A B; do
			local v1=${!inst}
			"$WORK/writesload" -method POST -url "$v1/buckets/bench/collections/c$i/records" -c "$per" -d "$DURATION" \
				>"$WORK/w-$label-$i-$inst" &
		done
	done
	wait_jobs
	for out in "$WORK"/w-"$label"-*; do
		grep -q 'statuses 201:[0-9]*$' "$out" || die "$label: not every creation answered 201: $(cat "$out")"
		rps=$(awk '{print $4}' "$out")
		total=$((total + rps))
	done
	printf '| %s | %d | %d | %d |\n' "$label" "$n" "$((per * 2 * n))" "$total"
}

# wait_jobs waits for the load tools (not the servers).
wait_jobs() {
	local p
	for p in $(jobs -p); do
		[[ " ${PIDS[*]} " == *" $p "* ]] || wait "$p"
	done
}

creates() {
	log "creations, $DURATION each, synchronous_commit on"
	psql -qAt "$PG_DSN" -c "SHOW synchronous_commit" | grep -qx on || die "synchronous_commit is not on"
	printf '| run | collections | connections | creations/s (both instances) |\n|---|---:|---:|---:|\n'
	creates_run one 1
	creates_run spread "$COLLECTIONS"
}

# cpu_ms PID...: user+system CPU of the processes, in ms.
cpu_ms() {
	local p t=0 tick
	tick=$(getconf CLK_TCK)
	for p in "$@"; do
		[[ -r /proc/$p/stat ]] || continue
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
	done
	echo $((t * 1000 / tick))
}

# pg_pids: the PostgreSQL backends of both instances.
pg_pids() { psql -qAt "$PG_DSN" -c "SELECT pid FROM pg_stat_activity WHERE application_name LIKE '$SCHEMA/%'"; }

changesets() {
	local c out n b0 b1 p0 p1 pids rps
	log "changeset reads through B, $DURATION each"
	api PUT "$A/buckets/bench/collections/cs"
	for i in $(seq 100); do api PUT "$A/buckets/bench/collections/cs/records/r$i" '{"data":{"n":1}}'; done
	local url="$B/buckets/bench/collections/cs/changeset?_expected=1"
	"$WORK/writesload" -method GET -body '' -url "$url" -c 4 -d 1s >/dev/null
	printf '| connections | requests/s | B CPU µs/request | PostgreSQL CPU µs/request |\n|---:|---:|---:|---:|\n'
	for c in 1 "$CONNS"; do
		pids=$(pg_pids)
		b0=$(cpu_ms "$PID_B") p0=$(cpu_ms $pids)
		out=$("$WORK/writesload" -method GET -body '' -url "$url" -c "$c" -d "$DURATION")
		b1=$(cpu_ms "$PID_B") p1=$(cpu_ms $pids)
		grep -q 'statuses 200:[0-9]*$' <<<"$out" || die "changesets: not every read answered 200: $out"
		rps=$(awk '{print $4}' <<<"$out")
		n=$(sed -E 's/.*statuses 200:([0-9]+)$/\1/' <<<"$out")
		printf '| %d | %d | %d | %d |\n' "$c" "$rps" $(((b1 - b0) * 1000 / n)) $(((p1 - p0) * 1000 / n))
	done
}

longpolls() {
	log "$LISTENERS longpolls over A and B, one write through A"
	api PUT "$A/buckets/bench/collections/feed"
	"$WORK/feedsload" -n "$LISTENERS" -url "$A/buckets/bench/collections/feed/_changes?feed=longpoll&since=now&timeout=120000" \
		-url2 "$B/buckets/bench/collections/feed/_changes?feed=longpoll&since=now&timeout=120000" \
		-write-url "$A/buckets/bench/collections/feed/records/wake" -pid "$PID_A" -pid2 "$PID_B"
}

main() {
	local what=("$@")
	((${#what[@]})) || what=(creates longpolls)
	build
	setup
	for w in "${what[@]}"; do "$w"; done
	log "done; load $(cut -d' ' -f1-3 /proc/loadavg)"
}

main "$@"
