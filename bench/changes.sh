#!/usr/bin/env bash
# bench/changes.sh: HTTP benchmark of the changes directive (Kinto change
# aggregation) against Caddy's own `respond` of the very same bytes, in ONE
# changegate process, rounds interleaved (bench/run.sh explains why a
# same-run baseline: the ratio cancels the machine and its noise).
#
# Setup: a docstore (bolt file on disk) with changes in front of it;
# bucket "bench" holds COLLECTIONS monitored collections with one record
# each, bucket "cs" holds collection "big" with RECORDS records of about
# 100 bytes (~1 MB changeset). The answers are captured, then a reload adds
# a site serving them with `respond` (and one with `file_server`, a
# stricter reference: respond runs Caddy's placeholder replacer over its
# body on every request, file_server copies the file).
#
# Workloads (targets from issue 4):
#   monitor         GET .../monitor/collections/changes/changeset?_expected=0
#                   over the COLLECTIONS entries    vs respond   ratio ≥ 0.7
#   changeset       GET /v1/buckets/cs/collections/big/changeset?_expected=T
#                   served from the changeset cache vs respond   ratio ≥ 0.8
#   monitor-since   the monitor with _since at the 10th newest entry
#                   (what a Firefox poll looks like), reported only
#   under-writes    the changeset while a writer adds a record to "big"
#                   every WRITE_INTERVAL: the cache hit rate, counted from
#                   each answer's Cache-Status, reported only (wrk's Lua
#                   response() copies every 1 MB body: its req/s measure
#                   wrk, not changegate)
#   first-after-write  SAMPLES times: write a record, then time the first
#                   changeset request (a cache miss: one storage read and
#                   render of RECORDS records)   p50 and max ≤ 50 ms
# Each measured workload reports req/s, p50/p99 and changegate's CPU time
# per request (/proc/PID/stat around each wrk run); the CPU ratio barely
# moves with the neighbours' load on a shared machine, req/s ratios do.
#
# Usage: bash bench/changes.sh
# Environment (defaults in brackets): DURATION [5s], ROUNDS [3],
#   WARMUP [2s], CONNS [32], THREADS [2], CHANGEGATE_BIN, BUILD_REF,
#   KEEP_TMP [0], STRICT [0] (exit 3 when a target is missed), see run.sh;
#   COLLECTIONS [1000], RECORDS [10000], SAMPLES [30],
#   WRITE_INTERVAL [0.1] seconds between writes in under-writes.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The docstore bench's helpers: log, die, ensure_tools, make_dirs,
# build_binary, pick_port, wrk_once, wrk_field, summarize, median, ratio,
# at_least, cleanup. Sourcing it does not run it.
# shellcheck source=bench/run.sh
source "$REPO/bench/run.sh"

COLLECTIONS=${COLLECTIONS:-1000}
RECORDS=${RECORDS:-10000}
SAMPLES=${SAMPLES:-30}
WRITE_INTERVAL=${WRITE_INTERVAL:-0.1}
TARGET_MONITOR=0.7
TARGET_CHANGESET=0.8
TARGET_FIRST_MS=50

declare -A CPU_US CPU_RATIO
WRITER_PID=""

changes_cleanup() {
	local rc=$?
	[[ -n $WRITER_PID ]] && kill "$WRITER_PID" 2>/dev/null
	(exit "$rc")
	cleanup
}

# --- Caddyfiles ---------------------------------------------------------------

# caddyfile_changes prints the global options and the site under test.
caddyfile_changes() {
	cat <<EOF
$(global_options "$ADMIN_PORT")

http://:$PORT_A {
	changes {
		resources /buckets/bench
		http_host bench.example
		since_max_age_days -1
	}
	docstore {
		storage bolt $WORK/bench.db
		userid_hmac_secret bench-secret-0123456789abcdef
		insecure_allow_all
	}
}
EOF
}

# run.sh's start_server starts the process with this Caddyfile.
caddyfile_docstore() { caddyfile_changes; }

# caddyfile_baselines adds the respond and file_server sites serving the
# captured bodies on the same paths.
caddyfile_baselines() {
	caddyfile_changes
	printf '\nhttp://:%s {\n' "$PORT_B"
	respond_block "$MONITOR_PATH" "$WORK/monitor.body" application/json
	respond_block "$CS_PATH" "$WORK/changeset.body" application/json
	printf '\thandle {\n\t\trespond 404\n\t}\n}\n'
	mkdir -p "$WORK/files${MONITOR_PATH%/*}" "$WORK/files${CS_PATH%/*}"
	cp "$WORK/monitor.body" "$WORK/files$MONITOR_PATH"
	cp "$WORK/changeset.body" "$WORK/files$CS_PATH"
	printf '\nhttp://:%s {\n\theader Content-Type application/json\n\troot * %s\n\tfile_server\n}\n' "$PORT_C" "$WORK/files"
}

# --- seeding ------------------------------------------------------------------

# batch_file N prints a POST /v1/batch body from "METHOD PATH BODY" lines.
batch_lines() {
	printf '{"requests":['
	local first=1 method path body
	while read -r method path body; do
		((first)) || printf ','
		first=0
		printf '{"method":"%s","path":"%s","body":%s}' "$method" "$path" "$body"
	done
	printf ']}'
}

# seed_batches posts the batch files SEED_PARALLEL at a time and checks
# every sub-response.
seed_batches() {
	local dir=$1 bad
	printf '%s\n' "$dir"/batch-*.json |
		xargs -P "$SEED_PARALLEL" -I{} curl -fsS -o {}.out -H 'Content-Type: application/json' \
			--data-binary @{} "$URL_A/v1/batch" || die "a seed batch failed"
	bad=$(jq -s '[.[].responses[].status | select(. >= 300)] | length' "$dir"/*.out)
	((bad == 0)) || die "$bad seed sub-requests failed"
}

seed() {
	local start=$SECONDS i b pad
	api PUT "$URL_A/v1/buckets/bench" '{}' >/dev/null
	api PUT "$URL_A/v1/buckets/cs" '{}' >/dev/null
	api PUT "$URL_A/v1/buckets/cs/collections/big" '{}' >/dev/null
	mkdir -p "$WORK/seed-c" "$WORK/seed-r"
	# 12 collections (PUT + one record) per batch of 24.
	for ((i = 0; i < COLLECTIONS; i++)); do
		printf 'PUT /buckets/bench/collections/c%04d {}\nPOST /buckets/bench/collections/c%04d/records {"data":{"n":%d}}\n' "$i" "$i" "$i"
	done | split -l 24 - "$WORK/seed-c/lines-"
	# ~100-byte records: {"n":N,"pad":"…","id":"<uuid>","last_modified":T}.
	pad=$(printf '%22s' '' | tr ' ' x)
	for ((i = 0; i < RECORDS; i++)); do
		printf 'POST /buckets/cs/collections/big/records {"data":{"n":%d,"pad":"%s"}}\n' "$i" "$pad"
	done | split -l 25 - "$WORK/seed-r/lines-"
	for dir in "$WORK/seed-c" "$WORK/seed-r"; do
		b=0
		for f in "$dir"/lines-*; do
			batch_lines <"$f" >"$dir/batch-$(printf %05d $b).json"
			b=$((b + 1))
		done
		seed_batches "$dir"
	done
	log "seeded $COLLECTIONS collections and $RECORDS records in $((SECONDS - start))s"
}

# capture saves the answers to measure.
capture() {
	local ts n
	MONITOR_PATH=/v1/buckets/monitor/collections/changes/changeset
	MONITOR_URL="$URL_A$MONITOR_PATH?_expected=0"
	curl -fsS -o "$WORK/monitor.body" "$MONITOR_URL" || die "monitor failed"
	n=$(jq '.changes | length' "$WORK/monitor.body")
	[[ $n == "$COLLECTIONS" ]] || die "monitor lists $n collections, want $COLLECTIONS"
	ts=$(jq '.changes[10].last_modified' "$WORK/monitor.body")
	SINCE_URL="$MONITOR_URL&_since=$ts"

	CS_PATH=/v1/buckets/cs/collections/big/changeset
	ts=$(curl -fsS -I "$URL_A/v1/buckets/cs/collections/big/records" | tr -d '\r' | awk -F': ' 'tolower($1) == "etag" {gsub(/"/, "", $2); print $2}')
	CS_URL="$URL_A$CS_PATH?_expected=$ts"
	curl -fsS -o "$WORK/changeset.body" "$CS_URL" || die "changeset failed"
	n=$(jq '.changes | length' "$WORK/changeset.body")
	[[ $n == "$RECORDS" ]] || die "changeset lists $n records, want $RECORDS"
	log "monitor body $(wc -c <"$WORK/monitor.body") B, changeset body $(wc -c <"$WORK/changeset.body") B"
}

reload_with_baselines() {
	caddyfile_baselines >"$WORK/Caddyfile.full"
	log "reloading with the respond (:$PORT_B) and file_server (:$PORT_C) baselines"
	XDG_DATA_HOME=$WORK/xdg XDG_CONFIG_HOME=$WORK/xdg \
		"$BIN" reload --config "$WORK/Caddyfile.full" --adapter caddyfile \
		--address "localhost:$ADMIN_PORT" >>"$WORK/server.log" 2>&1 || die "reload failed"
	local name url port
	for name in monitor changeset; do
		url=$MONITOR_URL
		[[ $name == changeset ]] && url=$CS_URL
		for port in "$PORT_A" "$PORT_B" "$PORT_C"; do
			curl -fsS -o "$WORK/check.body" "${url/:$PORT_A/:$port}" || die "$name on :$port failed"
			cmp -s "$WORK/$name.body" "$WORK/check.body" || die "$name on :$port differs from the captured body"
		done
	done
	log "changes, respond and file_server serve the same bytes"
}

# --- measuring ----------------------------------------------------------------

# measure NAME URL_D D URL_B B: warm-up, then ROUNDS interleaved rounds;
# fills RPS/P50/P99/REQS per side, RATIO and SPREAD (req/s), CPU_US per
# side and CPU_RATIO (baseline CPU / changes CPU, so above 1 is cheaper).
measure() {
	local name=$1 url_d=$2 d=$3 url_b=$4 b=$5 r fd fb c0 c1 c2
	local -a warm=() ratios=() cpu_d=() cpu_b=() cpu_ratios=()
	log "$name: $d vs $b, warm-up $WARMUP then $ROUNDS x $DURATION each"
	warm+=("$(wrk_once "$d" warmup "$WARMUP" "$url_d")" "$(wrk_once "$b" warmup "$WARMUP" "$url_b")")
	for ((r = 1; r <= ROUNDS; r++)); do
		c0=$(cpu_ticks)
		fd=$(wrk_once "$d" "$r" "$DURATION" "$url_d")
		c1=$(cpu_ticks)
		fb=$(wrk_once "$b" "$r" "$DURATION" "$url_b")
		c2=$(cpu_ticks)
		ratios+=("$(ratio "$(wrk_field "$fd" rps)" "$(wrk_field "$fb" rps)")")
		cpu_d+=("$(per_request_us $((c1 - c0)) "$(wrk_field "$fd" reqs)")")
		cpu_b+=("$(per_request_us $((c2 - c1)) "$(wrk_field "$fb" reqs)")")
		cpu_ratios+=("$(ratio "${cpu_b[-1]}" "${cpu_d[-1]}")")
		log "  round $r: req/s ratio ${ratios[-1]}, CPU per request ${cpu_d[-1]} vs ${cpu_b[-1]} µs"
	done
	summarize "$d" "${warm[0]}"
	summarize "$b" "${warm[1]}"
	RATIO[$name]=$(ratio "${RPS[$d]}" "${RPS[$b]}")
	SPREAD[$name]=$(printf '%s\n' "${ratios[@]}" | sort -g | sed -n '1p;$p' | paste -sd '-')
	CPU_US[$d]=$(printf '%s\n' "${cpu_d[@]}" | median)
	CPU_US[$b]=$(printf '%s\n' "${cpu_b[@]}" | median)
	CPU_RATIO[$name]=$(printf '%s\n' "${cpu_ratios[@]}" | median)
}

# writer adds a record to "big" every WRITE_INTERVAL until killed.
writer() {
	local i=0
	while :; do
		curl -fsS -o /dev/null -H 'Content-Type: application/json' \
			--data-binary "{\"data\":{\"w\":$i}}" "$URL_A/v1/buckets/cs/collections/big/records" || true
		i=$((i + 1))
		sleep "$WRITE_INTERVAL"
	done
}

# under_writes polls the changeset with wrk while the writer writes, and
# counts the answers' Cache-Status in a wrk script.
under_writes() {
	local lua=$WORK/cache-status.lua out before
	cat >"$lua" <<'EOF'
-- Counts the answers' Cache-Status per thread: "hit" (from the cache),
-- "stored" (this request read storage), "collapsed" (it waited for
-- another request's read); sums them at the end.
local threads = {}
function setup(thread) table.insert(threads, thread) end
hits, stored, collapsed = 0, 0, 0
function response(status, headers, body)
  local cs = headers["Cache-Status"] or ""
  if cs:find("; hit", 1, true) then hits = hits + 1
  elseif cs:find("stored", 1, true) then stored = stored + 1
  else collapsed = collapsed + 1 end
end
function done(summary, latency, requests)
  local h, s, c = 0, 0, 0
  for _, t in ipairs(threads) do
    h = h + t:get("hits"); s = s + t:get("stored"); c = c + t:get("collapsed")
  end
  io.write(string.format("cache-status hits %d stored %d collapsed %d\n", h, s, c))
end
EOF
	# The writer moves the collection on: poll its latest _expected (any
	# value is served the same; the cache key is the collection's state).
	before=$(total_records "$URL_A/v1/buckets/cs/collections/big")
	writer &
	WRITER_PID=$!
	out=$(wrk_once under-writes 1 "$DURATION" "$CS_URL" "$lua")
	kill "$WRITER_PID" 2>/dev/null
	wait "$WRITER_PID" 2>/dev/null || true
	WRITER_PID=""
	read -r HITS STORED COLLAPSED < <(awk '/^cache-status/ { print $3, $5, $7 }' "$out")
	WRITES=$(($(total_records "$URL_A/v1/buckets/cs/collections/big") - before))
	UNDER_RPS=$(wrk_field "$out" rps)
	UNDER_P50=$(wrk_field "$out" 50%)
	UNDER_P99=$(wrk_field "$out" 99%)
	HIT_RATE=$(awk -v h="$HITS" -v s="$STORED" -v c="$COLLAPSED" 'BEGIN { printf "%.4f", (h + s + c > 0 ? h / (h + s + c) : 0) }')
	log "under-writes: $UNDER_RPS req/s, $WRITES writes; answers: $HITS hits, $STORED storage reads, $COLLAPSED waited for a read (hit rate $HIT_RATE)"
}

# first_after_write times, SAMPLES times, the first changeset request
# after a write to the collection.
first_after_write() {
	local i ms status
	: >"$WORK/first.ms"
	for ((i = 0; i < SAMPLES; i++)); do
		api POST "$URL_A/v1/buckets/cs/collections/big/records" "{\"data\":{\"s\":$i}}" >/dev/null
		read -r ms status < <(curl -fsS -o "$WORK/first.body" -D "$WORK/first.headers" \
			-w '%{time_total} %{http_code}\n' "$CS_URL")
		[[ $status == 200 ]] || die "first-after-write: HTTP $status"
		grep -qi '^Cache-Status: changegate; fwd=miss' "$WORK/first.headers" || die "first-after-write: not a cache miss"
		grep -q "\"s\":$i" "$WORK/first.body" || die "first-after-write: the write is not in the answer"
		awk -v s="$ms" 'BEGIN { printf "%.2f\n", s * 1000 }' >>"$WORK/first.ms"
		sleep 0.05
	done
	FIRST_P50=$(median <"$WORK/first.ms")
	FIRST_P90=$(sort -g "$WORK/first.ms" | awk '{ v[NR] = $1 } END { i = int(NR * 0.9 + 0.999); print v[i] }')
	FIRST_MAX=$(sort -g "$WORK/first.ms" | tail -1)
	log "first-after-write over $SAMPLES samples: p50 $FIRST_P50 ms, p90 $FIRST_P90 ms, max $FIRST_MAX ms"
}

run_workloads() {
	measure monitor "$MONITOR_URL" monitor/changes "${MONITOR_URL/:$PORT_A/:$PORT_B}" monitor/respond
	measure monitor-file "$MONITOR_URL" monitor-file/changes "${MONITOR_URL/:$PORT_A/:$PORT_C}" monitor/file_server
	measure changeset "$CS_URL" changeset/changes "${CS_URL/:$PORT_A/:$PORT_B}" changeset/respond
	measure changeset-file "$CS_URL" changeset-file/changes "${CS_URL/:$PORT_A/:$PORT_C}" changeset/file_server
	measure monitor-since "$SINCE_URL" monitor-since/changes "${MONITOR_URL/:$PORT_A/:$PORT_B}" monitor/respond-full
	under_writes
	first_after_write
}

# --- report -------------------------------------------------------------------

line() {
	local name=$1 d=$2 b=$3 target=$4 met=$5
	printf '| %s | %s | %s | %s (%s) | %s / %s | %s / %s | %s / %s µs (%s) | %s %s |\n' \
		"$name" "${RPS[$d]}" "${RPS[$b]}" "${RATIO[$name]}" "${SPREAD[$name]}" \
		"${P50[$d]}" "${P99[$d]}" "${P50[$b]}" "${P99[$b]}" \
		"${CPU_US[$d]}" "${CPU_US[$b]}" "${CPU_RATIO[$name]}" "$target" "$met"
}

verdict() { [[ $1 == 1 ]] && echo met || echo '**MISSED**'; }

# report_head NAME SIDE [DETAILS] prints a report's title, machine, method
# and table header; SIDE names the measured column ("changes", "target").
report_head() {
	local name=$1 side=$2 details=${3:-}
	echo
	echo "changegate $name bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $SOURCE_DESC"
	machine_line
	echo "wrk -t $THREADS -c $CONNS: warm-up $WARMUP, then $ROUNDS rounds of $DURATION per target, interleaved;" \
		"$COLLECTIONS monitored collections (monitor body $(wc -c <"$WORK/monitor.body") B), changeset of $RECORDS records ($(wc -c <"$WORK/changeset.body") B)$details"
	echo
	echo "| workload | $side req/s | baseline req/s | req/s ratio (per-round min-max) | $side p50 / p99 ms | baseline p50 / p99 ms | CPU per request $side / baseline (baseline/$side) | target |"
	echo "|---|---:|---:|---|---|---|---|---|"
}

report() {
	local m1 m2 m3
	at_least "${RATIO[monitor]}" "$TARGET_MONITOR" && m1=1 || m1=0
	at_least "${RATIO[changeset]}" "$TARGET_CHANGESET" && m2=1 || m2=0
	at_least "$TARGET_FIRST_MS" "$FIRST_MAX" && m3=1 || m3=0
	report_head changes changes
	line "monitor" monitor/changes monitor/respond "vs respond, ratio ≥ $TARGET_MONITOR" "$(verdict $m1)"
	line "monitor-file" monitor-file/changes monitor/file_server "vs file_server, reported" ""
	line "changeset" changeset/changes changeset/respond "vs respond, ratio ≥ $TARGET_CHANGESET" "$(verdict $m2)"
	line "changeset-file" changeset-file/changes changeset/file_server "vs file_server, reported" ""
	line "monitor-since" monitor-since/changes monitor/respond-full "vs respond of the full monitor, reported" ""
	echo
	echo "under-writes: $UNDER_RPS req/s on the changeset (p50 $UNDER_P50 ms, p99 $UNDER_P99 ms) while $WRITES records were written (one every ${WRITE_INTERVAL}s);" \
		"answers from the cache $HITS, from their own storage read $STORED, from another request's read $COLLAPSED: hit rate $HIT_RATE, $STORED storage reads for $WRITES changes"
	echo "first changeset request after a write ($SAMPLES samples, each a cache miss answering the whole body): p50 $FIRST_P50 ms, p90 $FIRST_P90 ms, max $FIRST_MAX ms (target every one ≤ $TARGET_FIRST_MS ms: $(verdict $m3)); all samples: $(paste -sd ' ' "$WORK/first.ms")"
	((m1 && m2 && m3)) || MISSED+=(changes)
}

changes_main() {
	trap changes_cleanup EXIT
	trap 'exit 130' INT TERM
	ensure_tools
	make_dirs
	# No tmpfs reference here.
	[[ -n $SHM ]] && rmdir "$SHM"
	SHM=""
	build_binary
	local attempt
	for attempt in 1 2 3; do
		pick_port ADMIN_PORT
		pick_port PORT_A
		pick_port PORT_B
		pick_port PORT_C
		URL_A=http://127.0.0.1:$PORT_A
		start_server && break
		((attempt < 3)) || die "the ports picked kept being taken"
	done
	seed
	capture
	reload_with_baselines
	run_workloads
	report
	log "done in ${SECONDS}s"
	if ((${#MISSED[@]})) && [[ $STRICT == 1 ]]; then
		exit 3
	fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	changes_main "$@"
fi
