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
#   compare    creates, alternating CHANGEGATE_BIN_BEFORE (a binary built
#              from an older commit) and this tree's binary, ROUNDS [2]
#              rounds, each on fresh instances and a fresh schema; prints
#              every run and the after/before ratio of each round.
#   longpolls  LISTENERS idle _changes longpolls split over both
#              instances, then one write through the first; the time from
#              the write to each answer (feedsload -url2).
#
# Usage: bash bench/scale-out.sh [creates] [compare] [changesets] [longpolls]
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
ROUNDS=${ROUNDS:-2}
PIDS=()

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	psql -q "$PG_DSN" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}

# teardown stops both instances and drops the schema, for a fresh setup.
teardown() {
	kill "$PID_A" "$PID_B" 2>/dev/null || true
	wait "$PID_A" "$PID_B" 2>/dev/null || true
	PIDS=()
	psql -q "$PG_DSN" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null
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

# cpu_ticks: CPU time (clock ticks) of both instances, and of the
# PostgreSQL backends serving them (named after the schema).
cpu_ticks() {
	local p cg=0 pg=0
	for p in $PID_A $PID_B; do cg=$((cg + $(awk '{print $14+$15}' "/proc/$p/stat"))); done
	for p in $(psql -qAt "$PG_DSN" -c "SELECT pid FROM pg_stat_activity WHERE application_name LIKE '$SCHEMA/%'"); do
		pg=$((pg + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$cg $pg"
}

# creates_run LABEL N: CONNS writers over both instances and the first N
# collections, DURATION; prints the creations per second of all together
# and the CPU milliseconds per creation of the instances and of their
# PostgreSQL backends.
creates_run() {
	local label=$1 n=$2 per i out total=0 rps count=0 before after hz
	hz=$(getconf CLK_TCK)
	read -r -a before <<<"$(cpu_ticks)"
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
	read -r -a after <<<"$(cpu_ticks)"
	for out in "$WORK"/w-"$label"-*; do
		grep -q 'statuses 201:[0-9]*$' "$out" || die "$label: not every creation answered 201: $(cat "$out")"
		rps=$(awk '{print $4}' "$out")
		total=$((total + rps))
		count=$((count + $(awk '{print $2}' "$out")))
	done
	printf '| %s | %d | %d | %d | %s | %s |\n' "$label" "$n" "$((per * 2 * n))" "$total" \
		"$(awk -v t=$((after[0] - before[0])) -v n=$count -v hz="$hz" 'BEGIN{printf "%.2f", t*1000/hz/n}')" \
		"$(awk -v t=$((after[1] - before[1])) -v n=$count -v hz="$hz" 'BEGIN{printf "%.2f", t*1000/hz/n}')"
	LAST_RATE=$total
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
	printf '| run | collections | connections | creations/s (both instances) | changegate CPU ms/creation | PostgreSQL CPU ms/creation |\n|---|---:|---:|---:|---:|---:|\n'
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

compare() {
	local after=$BIN round which n before_one before_spread
	[[ -n ${CHANGEGATE_BIN_BEFORE:-} ]] || die "compare needs CHANGEGATE_BIN_BEFORE"
	psql -qAt "$PG_DSN" -c "SHOW synchronous_commit" | grep -qx on || die "synchronous_commit is not on"
	log "creations before/after, $ROUNDS rounds, $DURATION each"
	printf '| round | binary | run | collections | connections | creations/s (both instances) | changegate CPU ms/creation | PostgreSQL CPU ms/creation |\n|---|---|---|---:|---:|---:|---:|---:|\n'
	for ((round = 1; round <= ROUNDS; round++)); do
		for which in before after; do
			teardown
			BIN=$after
			[[ $which == before ]] && BIN=$CHANGEGATE_BIN_BEFORE
			setup
			for n in 1 "$COLLECTIONS"; do
				printf '| %d | %s ' "$round" "$which"
				creates_run "c$n-$which-$round" "$n"
				[[ $which == before ]] && printf -v "before_$n" %s "$LAST_RATE"
				[[ $which == after ]] && log "round $round, $n collection(s): after/before $(awk -v a="$LAST_RATE" -v b="$(eval echo \$before_$n)" 'BEGIN{printf "%.2f", a/b}')"
			done
		done
	done
	BIN=$after
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
