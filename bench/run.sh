#!/usr/bin/env bash
# bench/run.sh: HTTP benchmark of the docstore directive against Caddy's own
# `respond` serving the very same bytes, all in ONE changegate process.
#
# Why a `respond` baseline: absolute req/s on a shared, noisy machine mean
# little, but the ratio "docstore / respond of identical bytes", measured
# back to back in the same process with the same wrk settings, cancels out
# most of the machine (CPU speed, Caddy's HTTP stack, wrk itself, the noise
# of the moment) and leaves the cost of docstore's own work.
#
# Steps (one function each, called from main at the bottom):
#   1. ensure the tools (wrk, jq, curl), build the binary into a temp dir;
#   2. start changegate with the docstore sites only (disk bolt file, and a
#      reference bolt file on tmpfs /dev/shm where fsync is nearly free);
#   3. seed bucket "bench", collection "c" with RECORDS records through
#      POST /v1/batch, 25 requests per batch, SEED_PARALLEL batches at once;
#   4. capture the exact docstore answers to measure, then `changegate
#      reload` (same process) a Caddyfile that adds a `respond` site serving
#      those bytes on the same paths, and check the bytes are identical;
#   5. run wrk for each workload: docstore then baseline, back to back, in
#      ROUNDS alternating rounds;
#   6. print a markdown table.
#
# Everything listens on 127.0.0.1 only; the server is stopped on exit.
#
# Usage: bash bench/run.sh
# Environment (defaults in brackets):
#   DURATION [5s]    one measured wrk run
#   ROUNDS   [3]     measured runs per target, alternating docstore/baseline
#   WARMUP   [2s]    unmeasured wrk run per target before the rounds (0 = none)
#   CONNS    [32]    wrk connections        THREADS [2]  wrk threads
#   RECORDS  [10000] seeded records         PAD_BYTES [207] pad length, which
#                    makes a stored record (data incl. id, last_modified) ~300 B
#   SEED_PARALLEL [8] concurrent batch requests while seeding
#   BUILD_REF        build this git commit (via git archive) instead of the
#                    work tree, e.g. BUILD_REF=HEAD while others are mid-edit
#   CHANGEGATE_BIN   use this binary instead of building one
#   KEEP_TMP [0]     1 keeps the temp dir (Caddyfiles, wrk outputs, logs)
#   STRICT   [0]     1 exits with status 3 when a target is missed
#   STORAGE_DSN      put the store under test on PostgreSQL at this DSN (an
#                    empty database or schema, e.g.
#                    postgres://postgres@127.0.0.1/test?options=-csearch_path%3Dbench)
#                    instead of the bolt file on disk; needs psql
set -euo pipefail

DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
RECORDS=${RECORDS:-10000}
PAD_BYTES=${PAD_BYTES:-207}
SEED_PARALLEL=${SEED_PARALLEL:-8}
CHANGEGATE_BIN=${CHANGEGATE_BIN:-}
BUILD_REF=${BUILD_REF:-}
KEEP_TMP=${KEEP_TMP:-0}
STRICT=${STRICT:-0}
STORAGE_DSN=${STORAGE_DSN:-}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$REPO/bench
LIST_LIMIT=100 # records in the list-100-since answer

# Targets (docstore/respond ratios, and creations per second with fsync).
TARGET_RECORD_GET=0.5
TARGET_LIST=0.3
TARGET_CREATE=1000
TARGET_PERMS=0.9   # permission checks add at most 10% (issue 3)

WORK=""         # temp dir: binary, Caddyfiles, bolt file, wrk outputs
SHM=""          # temp dir on /dev/shm for the tmpfs reference store
SERVER_PID=""
BIN=""
SOURCE_DESC="" # what was built, for the report
declare -A RPS P50 P99 REQS # wrk results, keyed by target label (record-get/docstore...)
declare -A HEADER           # extra request header per target label
declare -A RATIO SPREAD   # docstore/baseline ratios, keyed by workload

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
	log "FAIL: $*"
	exit 1
}

# --- setup and teardown ------------------------------------------------------

# cleanup stops the server we started (by its pid only) and removes the temp
# dirs; on failure it shows the end of the server log, which is usually where
# the reason is.
# stop_pid PID stops a server we started, if it still runs: Caddy shuts
# down gracefully, but we do not wait more than 5 seconds for it.
stop_pid() {
	local pid=$1
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# global_options PORT prints the Caddyfile global options of every bench
# server, with its admin endpoint on PORT.
global_options() {
	cat <<EOF
{
	admin localhost:$1
	auto_https off
	persist_config off
	# Loopback only: this is a local benchmark.
	default_bind 127.0.0.1
}
EOF
}

# machine_line describes the host a report was measured on.
machine_line() {
	echo "machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

cleanup() {
	local rc=$?
	stop_pid "$SERVER_PID"
	if ((rc != 0)) && [[ -n $WORK && -f $WORK/server.log ]]; then
		log "last lines of the server log:"
		tail -n 20 "$WORK/server.log" >&2 || true
	fi
	if [[ $KEEP_TMP == 1 ]]; then
		log "kept $WORK ${SHM:+and $SHM}"
	else
		[[ -n $WORK ]] && rm -rf "$WORK"
		[[ -n $SHM ]] && rm -rf "$SHM"
	fi
	exit "$rc"
}

# ensure_tool installs a missing command with apt-get (the bench machines
# run as root), refreshing the package lists only if the first try fails.
ensure_tool() {
	local cmd=$1 pkg=${2:-$1}
	command -v "$cmd" >/dev/null && return
	log "installing $pkg"
	apt-get install -y "$pkg" >/dev/null 2>&1 ||
		{ apt-get update >/dev/null && apt-get install -y "$pkg" >/dev/null; } ||
		die "cannot install $pkg"
}

ensure_tools() {
	ensure_tool curl
	ensure_tool jq
	ensure_tool wrk
}

make_dirs() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/changegate-bench.XXXXXX")
	mkdir -p "$WORK/seed" "$WORK/xdg"
	# The fsync-cost reference needs a tmpfs; skip it where there is none.
	if [[ -d /dev/shm && -w /dev/shm ]]; then
		SHM=$(mktemp -d /dev/shm/changegate-bench.XXXXXX)
	else
		log "no writable /dev/shm: the tmpfs create reference is skipped"
	fi
}

# build_binary builds ./cmd/changegate from the work tree, or, with
# BUILD_REF, from that commit exported with `git archive` (read-only for the
# repository), which benchmarks a commit while the work tree is mid-edit.
# SOURCE_DESC says what was measured, for the report.
build_binary() {
	local src=$REPO sha
	if [[ -n $CHANGEGATE_BIN ]]; then
		BIN=$CHANGEGATE_BIN
		SOURCE_DESC="binary $BIN"
		log "using $BIN"
		return
	fi
	if [[ -n $BUILD_REF ]]; then
		sha=$(git -C "$REPO" rev-parse --short "$BUILD_REF^{commit}") || die "unknown BUILD_REF $BUILD_REF"
		src=$WORK/src
		mkdir -p "$src"
		git -C "$REPO" archive "$sha" | tar -x -C "$src"
		SOURCE_DESC="commit $sha ($BUILD_REF)"
	else
		sha=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')
		SOURCE_DESC="work tree at $sha"
		# Changes outside bench/ mean the binary is not exactly that commit.
		if [[ -n $(git -C "$REPO" status --porcelain -- . ':!bench' 2>/dev/null) ]]; then
			SOURCE_DESC+=" + uncommitted changes"
		fi
	fi
	BIN=$WORK/changegate
	log "building ./cmd/changegate from $SOURCE_DESC"
	(cd "$src" && go build -o "$BIN" ./cmd/changegate) || die "build failed"
}

# pick_port sets the variable named $1 to a free TCP port on 127.0.0.1 that
# is not one of the ports already picked (so the sites cannot collide). It
# picks below the kernel's ephemeral range: ports in that range are handed to
# outgoing connections (wrk and curl open thousands, other jobs on the box
# too), so one could be taken between this check and Caddy's bind.
PICKED_PORTS=" "
pick_port() {
	local -n out=$1
	local p lo=32768
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	((lo > 12000)) || lo=60000
	for _ in $(seq 200); do
		p=$((10000 + RANDOM % (lo - 10000)))
		[[ $PICKED_PORTS == *" $p "* ]] && continue
		if command -v ss >/dev/null; then
			# No socket in any state uses it.
			[[ -z $(ss -Htan "sport = :$p") ]] || continue
		else
			# A refused connection means nothing listens there.
			(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
		fi
		PICKED_PORTS+="$p "
		out=$p
		return
	done
	die "no free port found"
}

pick_ports() {
	pick_port ADMIN_PORT
	pick_port PORT_A
	pick_port PORT_B
	pick_port PORT_C
	pick_port PORT_P
	URL_A=http://127.0.0.1:$PORT_A
	URL_C=http://127.0.0.1:$PORT_C
}

# --- Caddyfiles ---------------------------------------------------------------

# caddyfile_docstore prints the global options and the docstore sites; the
# respond site is appended later, once the bodies it serves are known.
# store_under_test is the storage line of the store under test.
store_under_test() {
	if [[ -n $STORAGE_DSN ]]; then
		printf 'storage postgres "%s"' "$STORAGE_DSN"
	else
		printf 'storage bolt %s' "$WORK/bench.db"
	fi
}

caddyfile_docstore() {
	cat <<EOF
$(global_options "$ADMIN_PORT")

# The store under test: a bolt file on the real disk, fsync on every commit
# (or PostgreSQL with synchronous_commit on, given STORAGE_DSN).
http://:$PORT_A {
	docstore {
		$(store_under_test)
		# Required since basicauth ids exist (any value: no one logs in).
		userid_hmac_secret bench-secret-0123456789abcdef
		insecure_allow_all
	}
}
EOF
	cat <<EOF

# The same store with permissions enforced (issue 3): requests come from an
# authenticated basicauth user who reads through a bucket-level grant.
http://:$PORT_P {
	docstore {
		$(store_under_test)
		userid_hmac_secret bench-secret-0123456789abcdef
	}
}
EOF
	if [[ -n $SHM ]]; then
		cat <<EOF

# fsync-cost reference: the same docstore on a tmpfs bolt file, where
# fsync returns almost at once. Only the create workload uses it.
http://:$PORT_C {
	docstore {
		storage bolt $SHM/bench.db
		userid_hmac_secret bench-secret-0123456789abcdef
		insecure_allow_all
	}
}
EOF
	fi
}

# respond_block prints a `handle` for path $1 that answers with the bytes of
# file $2 and Content-Type $3. The body goes in a backtick-quoted Caddyfile
# token, which takes everything up to the next backtick literally; bodies
# with a backtick, or with `{$` (Caddyfile environment substitution, done on
# the whole file before parsing), cannot be written that way, so refuse them.
# The bytes actually served are compared with the file after the reload.
respond_block() {
	local path=$1 file=$2 ctype=$3 body
	body=$(<"$file")
	[[ $body == *'`'* || $body == *'{$'* ]] && die "$file cannot be put in a backtick token"
	[[ $(wc -c <"$file") -eq ${#body} ]] || die "$file ends with a newline or is not ASCII; respond would differ"
	printf '\thandle %s {\n\t\theader Content-Type "%s"\n\t\trespond `%s` 200\n\t}\n' "$path" "$ctype" "$body"
}

# --- server -------------------------------------------------------------------

# start_server starts changegate with the docstore sites and waits until it
# answers; it returns 1 if a port turned out to be taken.
start_server() {
	caddyfile_docstore >"$WORK/Caddyfile"
	log "starting changegate (docstore :$PORT_A${SHM:+, tmpfs docstore :$PORT_C}, admin :$ADMIN_PORT)"
	launch_changegate "http://127.0.0.1:$PORT_A/v1/__heartbeat__"
}

# launch_changegate READY_URL runs changegate on $WORK/Caddyfile and waits
# until READY_URL answers; it returns 1 if a port turned out to be taken.
# Every bench script starts its server this way.
launch_changegate() {
	# XDG dirs in the temp dir, so nothing is written to the user's Caddy
	# data or config directories.
	XDG_DATA_HOME=$WORK/xdg XDG_CONFIG_HOME=$WORK/xdg \
		"$BIN" run --config "$WORK/Caddyfile" --adapter caddyfile >"$WORK/server.log" 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 100); do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			wait "$SERVER_PID" || true
			SERVER_PID=""
			# Someone else took a port meanwhile: the caller tries others.
			grep -q 'address already in use' "$WORK/server.log" && return 1
			die "changegate exited at start"
		fi
		curl -fsS -o /dev/null "$1" 2>/dev/null && return
		sleep 0.1
	done
	die "changegate did not answer within 10s"
}

# cpu_ticks prints the CPU time (user + system, all threads, in clock
# ticks) the server has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }

# per_request_us TICKS REQUESTS prints CPU microseconds per request.
per_request_us() {
	awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (n > 0 ? t * 1e6 / hz / n : 0) }'
}

# reload_with_respond adds the respond site (same paths as the docstore, so
# wrk's URLs differ only by port) and loads it into the running process.
reload_with_respond() {
	{
		caddyfile_docstore
		printf '\n# Baseline: Caddy answering the captured docstore bytes with respond.\nhttp://:%s {\n' "$PORT_B"
		respond_block "$RECORD_PATH" "$WORK/record-get.body" "$RECORD_CTYPE"
		respond_block "$LIST_PATH" "$WORK/list.body" "$LIST_CTYPE"
		printf '\thandle {\n\t\trespond 404\n\t}\n}\n'
	} >"$WORK/Caddyfile.full"
	log "reloading with the respond baseline on :$PORT_B"
	XDG_DATA_HOME=$WORK/xdg XDG_CONFIG_HOME=$WORK/xdg \
		"$BIN" reload --config "$WORK/Caddyfile.full" --adapter caddyfile \
		--address "localhost:$ADMIN_PORT" >>"$WORK/server.log" 2>&1 || die "reload failed"
	kill -0 "$SERVER_PID" 2>/dev/null || die "changegate exited during the reload"
	check_same_bytes "record-get" "$RECORD_URL" "$WORK/record-get.body" "$RECORD_CTYPE"
	check_same_bytes "list-100-since" "$LIST_URL" "$WORK/list.body" "$LIST_CTYPE"
}

# check_same_bytes fails unless both the docstore and the respond site now
# answer the captured body, byte for byte, with the same Content-Type.
check_same_bytes() {
	local name=$1 url=$2 want=$3 ctype=$4 port got
	for port in "$PORT_A" "$PORT_B"; do
		got=$(curl -fsS -o "$WORK/check.body" -w '%{content_type}' "${url/:$PORT_A/:$port}") ||
			die "$name: GET on :$port failed"
		[[ $got == "$ctype" ]] || die "$name: Content-Type on :$port is '$got', want '$ctype'"
		cmp -s "$want" "$WORK/check.body" || die "$name: body on :$port differs from the captured one"
	done
	log "$name: docstore and respond serve the same $(wc -c <"$want") bytes"
}

# --- seeding and capture ------------------------------------------------------

# api METHOD URL [BODY]: a JSON request that must succeed (2xx); prints the body.
api() {
	local method=$1 url=$2 out=$WORK/api.out code args=()
	(($# > 2)) && args=(--data-binary "$3")
	code=$(curl -sS -o "$out" -w '%{http_code}' -X "$method" -H 'Content-Type: application/json' \
		"${args[@]}" "$url") || die "$method $url: curl failed"
	[[ $code == 2* ]] || die "$method $url: HTTP $code: $(head -c 300 "$out")"
	cat "$out"
}

# total_records prints the Total-Records header of a collection (HEAD).
total_records() {
	curl -fsS -I "$1/records" | tr -d '\r' | awk -F': ' 'tolower($1) == "total-records" {print $2}'
}

create_collections() {
	api PUT "$URL_A/v1/buckets/bench" '{}' >/dev/null
	api PUT "$URL_A/v1/buckets/bench/collections/c" '{}' >/dev/null
	# "w" receives the create workload, so that "c" stays as captured.
	api PUT "$URL_A/v1/buckets/bench/collections/w" '{}' >/dev/null
	# Authenticated users may read the bucket; the permission workloads
	# read as one of them.
	api PATCH "$URL_A/v1/buckets/bench" '{"permissions":{"read":["system.Authenticated"]}}' >/dev/null
	if [[ -n $SHM ]]; then
		api PUT "$URL_C/v1/buckets/bench" '{}' >/dev/null
		api PUT "$URL_C/v1/buckets/bench/collections/w" '{}' >/dev/null
	fi
}

# write_batches writes the POST /v1/batch bodies, 25 creations each (the
# server's batch_max_requests), records {"n":N,"pad":"xxx…"}.
write_batches() {
	local pad n=0 b=0 i
	pad=$(printf "%${PAD_BYTES}s" '' | tr ' ' x)
	while ((n < RECORDS)); do
		{
			printf '{"defaults":{"method":"POST","path":"/buckets/bench/collections/c/records"},"requests":['
			for ((i = 0; i < 25 && n < RECORDS; i++, n++)); do
				((i > 0)) && printf ','
				printf '{"body":{"data":{"n":%d,"pad":"%s"}}}' "$n" "$pad"
			done
			printf ']}'
		} >"$WORK/seed/batch-$(printf %05d $b).json"
		b=$((b + 1))
	done
}

# seed posts the batches SEED_PARALLEL at a time: concurrent writes share
# bolt commits (group commit), so this is much faster than one at a time.
# A batch answers 200 even when a sub-request fails, so every sub-response
# status is checked, and then the record count.
seed() {
	local start=$SECONDS bad count
	write_batches
	log "seeding $RECORDS records in $(ls "$WORK/seed" | wc -l) batches, $SEED_PARALLEL at a time"
	printf '%s\n' "$WORK"/seed/batch-*.json |
		xargs -P "$SEED_PARALLEL" -I{} curl -fsS -o {}.out -H 'Content-Type: application/json' \
			--data-binary @{} "$URL_A/v1/batch" || die "a seed batch failed"
	bad=$(jq -s '[.[].responses[].status | select(. != 201)] | length' "$WORK"/seed/*.out)
	((bad == 0)) || die "$bad seed sub-requests did not answer 201"
	count=$(total_records "$URL_A/v1/buckets/bench/collections/c")
	[[ $count == "$RECORDS" ]] || die "collection c holds '$count' records, want $RECORDS"
	log "seeded $count records in $((SECONDS - start))s"
	if [[ -n $STORAGE_DSN ]]; then
		# What autovacuum would do within a minute of the bulk load: without
		# statistics the planner scans the collection for one record.
		psql -q "$STORAGE_DSN" -c ANALYZE || die "ANALYZE on $STORAGE_DSN failed"
	fi
}

# capture picks the URLs to measure and saves the docstore's exact answers.
capture() {
	local coll=/v1/buckets/bench/collections/c/records ts id n
	# Records list newest first: the (LIST_LIMIT+1)th has the timestamp above
	# which exactly LIST_LIMIT records are newer (timestamps are unique
	# within a collection).
	api GET "$URL_A$coll?_limit=$((LIST_LIMIT + 1))" >"$WORK/newest.json"
	ts=$(jq -r ".data[$LIST_LIMIT].last_modified" "$WORK/newest.json")
	id=$(jq -r '.data[50].id' "$WORK/newest.json")
	[[ $ts =~ ^[0-9]+$ ]] || die "no timestamp for _since: $ts"

	RECORD_PATH=$coll/$id
	RECORD_URL=$URL_A$RECORD_PATH
	RECORD_CTYPE=$(curl -fsS -o "$WORK/record-get.body" -w '%{content_type}' "$RECORD_URL")

	LIST_PATH=$coll
	LIST_URL="$URL_A$coll?_since=$ts&_limit=$LIST_LIMIT"
	LIST_CTYPE=$(curl -fsS -o "$WORK/list.body" -w '%{content_type}' "$LIST_URL")
	n=$(jq '.data | length' "$WORK/list.body")
	[[ $n == "$LIST_LIMIT" ]] || die "list answer has $n records, want $LIST_LIMIT"
	# Without _limit the same _since must also give exactly LIST_LIMIT.
	n=$(api GET "$URL_A$coll?_since=$ts" | jq '.data | length')
	[[ $n == "$LIST_LIMIT" ]] || die "_since=$ts matches $n records, want exactly $LIST_LIMIT"
	log "record-get body: $(wc -c <"$WORK/record-get.body") bytes; list-100-since body: $(wc -c <"$WORK/list.body") bytes"
}

# --- wrk ----------------------------------------------------------------------

# wrk_once LABEL RUN DURATION URL [LUA]: one wrk run, output in
# $WORK/wrk-LABEL-RUN.txt (printed on stdout), checked for errors.
wrk_once() {
	local label=$1 run=$2 dur=$3 url=$4 lua=${5:-} out args
	out=$WORK/wrk-${label//\//-}-$run.txt
	args=(--latency -t "$THREADS" -c "$CONNS" -d "$dur")
	[[ -n $lua ]] && args+=(-s "$lua")
	[[ -n ${HEADER[$label]:-} ]] && args+=(-H "${HEADER[$label]}")
	PAD_BYTES=$PAD_BYTES wrk "${args[@]}" "$url" >"$out" 2>&1 || die "$label: wrk failed: $(cat "$out")"
	check_wrk "$label ($run)" "$out"
	echo "$out"
}

# check_wrk fails on wrk's "Non-2xx or 3xx responses" line and on connect,
# read or write errors, since a fast error is not a result; timeouts (a slow
# answer on a loaded box) only warn.
check_wrk() {
	local label=$1 out=$2 line
	if line=$(grep -o 'Non-2xx or 3xx responses.*' "$out"); then
		cat "$out" >&2
		die "$label: wrk counted error answers: $line"
	fi
	if line=$(grep -o 'Socket errors.*' "$out"); then
		if [[ $line =~ connect\ ([0-9]+),\ read\ ([0-9]+),\ write\ ([0-9]+),\ timeout\ ([0-9]+) ]]; then
			if ((BASH_REMATCH[1] + BASH_REMATCH[2] + BASH_REMATCH[3] > 0)); then
				cat "$out" >&2
				die "$label: wrk socket errors: $line"
			fi
			log "WARNING $label: $line"
		else
			die "$label: unexpected wrk line: $line"
		fi
	fi
	grep -q '^Requests/sec:' "$out" && grep -q '^ *99%' "$out" || die "$label: cannot parse wrk output: $(cat "$out")"
}

# wrk_field FILE FIELD prints req/s ("rps"), the request count ("reqs"), or
# a latency percentile ("50%", "99%") in milliseconds.
wrk_field() {
	awk -v f="$2" '
		function ms(v) {
			if (v ~ /us$/) return v / 1000
			if (v ~ /ms$/) return v + 0
			if (v ~ /s$/) return v * 1000
			return v * 60000 # minutes
		}
		f == "rps" && /^Requests\/sec:/ { print $2 }
		f == "reqs" && / requests in / { print $1 }
		$1 == f { printf "%.2f\n", ms($2) }' "$1"
}

# measure_pair NAME URL_D LABEL_D URL_B LABEL_B [LUA] measures the docstore
# target D against its baseline B. Both get a warm-up, then ROUNDS rounds of
# D then B, back to back: on a shared box, interleaving spreads the bursts
# of noise over both sides instead of landing on one of them.
# Results: RPS (mean over rounds), P50/P99 (median over rounds, ms), REQS
# (sum, warm-up included), RATIO (mean D / mean B) and SPREAD (min-max of
# the per-round ratios).
measure_pair() {
	local name=$1 url_d=$2 d=$3 url_b=$4 b=$5 lua=${6:-} r fd fb rd rb
	local -a files_d=() files_b=() ratios=()
	log "$name: $d vs $b, warm-up $WARMUP then $ROUNDS x $DURATION each"
	if [[ $WARMUP != 0 && $WARMUP != 0s ]]; then
		files_d+=("$(wrk_once "$d" warmup "$WARMUP" "$url_d" "$lua")")
		files_b+=("$(wrk_once "$b" warmup "$WARMUP" "$url_b" "$lua")")
	fi
	for ((r = 1; r <= ROUNDS; r++)); do
		fd=$(wrk_once "$d" "$r" "$DURATION" "$url_d" "$lua")
		fb=$(wrk_once "$b" "$r" "$DURATION" "$url_b" "$lua")
		rd=$(wrk_field "$fd" rps)
		rb=$(wrk_field "$fb" rps)
		ratios+=("$(ratio "$rd" "$rb")")
		log "  round $r: $d $rd req/s, $b $rb req/s, ratio ${ratios[-1]}"
	done
	summarize "$d" "${files_d[@]}"
	summarize "$b" "${files_b[@]}"
	RATIO[$name]=$(ratio "${RPS[$d]}" "${RPS[$b]}")
	SPREAD[$name]=$(printf '%s\n' "${ratios[@]}" | sort -g | sed -n '1p;$p' | paste -sd '-')
}

# summarize LABEL WARMUP_FILES... fills RPS, P50, P99 and REQS for LABEL
# from its measured rounds (the warm-up files only count in REQS).
summarize() {
	local label=$1 f
	shift
	local -a rounds=("$WORK/wrk-${label//\//-}"-[0-9]*.txt)
	RPS[$label]=$(for f in "${rounds[@]}"; do wrk_field "$f" rps; done | awk '{ s += $1 } END { printf "%.0f", s / NR }')
	P50[$label]=$(for f in "${rounds[@]}"; do wrk_field "$f" 50%; done | median)
	P99[$label]=$(for f in "${rounds[@]}"; do wrk_field "$f" 99%; done | median)
	REQS[$label]=$(for f in "${rounds[@]}" "$@"; do wrk_field "$f" reqs; done | awk '{ s += $1 } END { print s }')
}

median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.2f\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# median_ci prints the median of its input lines and a 95% bootstrap
# interval of that median, "median low high": when the neighbours' load
# moves single rounds by 10% or more, the interval says which differences
# the rounds can tell apart. Plain awk (an insertion sort), seeded, so the
# same rounds always give the same interval.
median_ci() {
	awk '
	function med(a, n, i, j, t) {
		for (i = 2; i <= n; i++) {
			t = a[i]
			for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
			a[j + 1] = t
		}
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{ v[NR] = $1 }
	END {
		srand(1)
		for (b = 1; b <= 2000; b++) {
			for (i = 1; i <= NR; i++) s[i] = v[int(rand() * NR) + 1]
			m[b] = med(s, NR)
		}
		for (i = 1; i <= NR; i++) s[i] = v[i]
		mid = med(s, NR)
		med(m, 2000)
		printf "%.3f %.3f %.3f\n", mid, m[51], m[1950]
	}'
}

run_workloads() {
	measure_pair record-get "$RECORD_URL" record-get/docstore "${RECORD_URL/:$PORT_A/:$PORT_B}" record-get/respond
	measure_pair list-100-since "$LIST_URL" list/docstore "${LIST_URL/:$PORT_A/:$PORT_B}" list/respond

	# Permission checks: the same requests with permissions enforced,
	# authenticated, against insecure_allow_all on the same store.
	HEADER[record-get/perms]="Authorization: Basic $(printf 'reader:pw' | base64)"
	HEADER[list/perms]=${HEADER[record-get/perms]}
	measure_pair perms-record-get "${RECORD_URL/:$PORT_A/:$PORT_P}" record-get/perms "$RECORD_URL" record-get/allow-all
	measure_pair perms-list "${LIST_URL/:$PORT_A/:$PORT_P}" list/perms "$LIST_URL" list/allow-all

	local w=/v1/buckets/bench/collections/w/records before created counted
	before=$(total_records "$URL_A/v1/buckets/bench/collections/w")
	if [[ -n $SHM ]]; then
		measure_pair create "$URL_A$w" create/disk "$URL_C$w" create/tmpfs "$BENCH/lua/create.lua"
	else
		# No tmpfs: the disk store alone, still in rounds.
		local r
		for ((r = 1; r <= ROUNDS; r++)); do
			wrk_once create/disk "$r" "$DURATION" "$URL_A$w" "$BENCH/lua/create.lua" >/dev/null
		done
		summarize create/disk
	fi
	# Every creation wrk counted on the disk store (warm-up included) must
	# have stored a record; a few more may have been in flight when wrk
	# stopped, hence >=.
	created=$(($(total_records "$URL_A/v1/buckets/bench/collections/w") - before))
	counted=${REQS[create/disk]}
	((created >= counted)) || die "create: $created records were created, wrk counted $counted requests"
	log "create/disk: $created records stored, wrk counted $counted creations"
}

# --- report -------------------------------------------------------------------

# ratio A B [DECIMALS] prints A / B, to 2 decimals by default.
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { printf "%." d "f", (b > 0 ? a / b : 0) }'; }
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

MISSED=()
# row WORKLOAD DOCSTORE_LABEL BASELINE_NAME BASELINE_LABEL TARGET_TEXT MET
row() {
	local name=$1 d=$2 bname=$3 b=$4 target=$5 met=$6 r="-" brps="-" blat="-"
	if [[ -n $b ]]; then
		r="${RATIO[$name]} (${SPREAD[$name]})"
		brps=${RPS[$b]}
		blat="${P50[$b]} / ${P99[$b]}"
	fi
	printf '| %s | %s | %s | %s | %s | %s / %s | %s | %s %s |\n' "$name" "${RPS[$d]}" "$bname" "$brps" "$r" \
		"${P50[$d]}" "${P99[$d]}" "$blat" "$target" "$([[ $met == 1 ]] && echo met || echo '**MISSED**')"
	[[ $met == 1 ]] || MISSED+=("$name")
}

report() {
	local met
	echo
	echo "changegate bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $SOURCE_DESC"
	machine_line
	echo "wrk -t $THREADS -c $CONNS: warm-up $WARMUP, then $ROUNDS rounds of $DURATION per target, interleaved; $RECORDS seeded records;" \
		"bodies: record-get $(wc -c <"$WORK/record-get.body") B, list-100-since $(wc -c <"$WORK/list.body") B"
	echo
	echo "| workload | docstore req/s | baseline | baseline req/s | ratio (per-round min-max) | docstore p50 / p99 ms | baseline p50 / p99 ms | target |"
	echo "|---|---:|---|---:|---|---|---|---|"
	at_least "${RATIO[record-get]}" "$TARGET_RECORD_GET" && met=1 || met=0
	row record-get record-get/docstore respond record-get/respond "ratio ≥ $TARGET_RECORD_GET" $met
	at_least "${RATIO[list-100-since]}" "$TARGET_LIST" && met=1 || met=0
	row list-100-since list/docstore respond list/respond "ratio ≥ $TARGET_LIST" $met
	at_least "${RATIO[perms-record-get]}" "$TARGET_PERMS" && met=1 || met=0
	row perms-record-get record-get/perms "insecure_allow_all" record-get/allow-all "ratio ≥ $TARGET_PERMS" $met
	at_least "${RATIO[perms-list]}" "$TARGET_PERMS" && met=1 || met=0
	row perms-list list/perms "insecure_allow_all" list/allow-all "ratio ≥ $TARGET_PERMS" $met
	at_least "${RPS[create/disk]}" "$TARGET_CREATE" && met=1 || met=0
	if [[ -n $SHM ]]; then
		row create create/disk "docstore on tmpfs" create/tmpfs "≥ $TARGET_CREATE/s with fsync" $met
	else
		row create create/disk "(no /dev/shm)" "" "≥ $TARGET_CREATE/s with fsync" $met
	fi
	echo
	if [[ -n $SHM ]]; then
		awk -v r="${RATIO[create]}" 'BEGIN {
			printf "fsync cost: creations with fsync on disk run at %.2f of the tmpfs rate (%.0f%% of the throughput lost to fsync).\n", r, 100 * (1 - r) }'
	fi
	if ((${#MISSED[@]})); then
		echo "targets MISSED: ${MISSED[*]}"
	else
		echo "all targets met"
	fi
}

main() {
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	ensure_tools
	make_dirs
	build_binary
	local attempt
	for attempt in 1 2 3; do
		pick_ports
		start_server && break
		((attempt < 3)) || die "the ports picked kept being taken"
		log "a port was taken meanwhile; picking others"
	done
	create_collections
	seed
	capture
	reload_with_respond
	run_workloads
	report
	log "done in ${SECONDS}s"
	if ((${#MISSED[@]})) && [[ $STRICT == 1 ]]; then
		exit 3
	fi
}

# Run main unless sourced (sourcing lets one try a single function).
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
