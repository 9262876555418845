#!/usr/bin/env bash
# bench/feeds.sh: the CouchDB-style _changes feeds (issue 7), in ONE
# changegate process, against Caddy's `respond` (and `file_server`) of the
# same bytes in the same run, and against pouchdb-server (--in-memory) as a
# peer, also in the same run.
#
# Workloads:
#   idle-longpoll   LISTENERS idle longpoll listeners (since=now) on one
#                   collection: server memory per listener (RSS growth,
#                   connections included), then one write and the time
#                   until each listener has its whole answer
#                   (p99 ≤ 200 ms, ≤ 16 KB per listener). PEER_LISTENERS
#                   on pouchdb-server and on changegate, same tool.
#   normal-10k      GET _changes of a 10,000-record collection vs respond
#                   of the same bytes (ratio ≥ 0.5), and file_server
#   normal-1k       GET _changes of a 1,000-doc database: changegate vs
#                   pouchdb-server (reported)
#   continuous      feed=continuous&timeout=0 over STREAM_ROWS records,
#                   rows/s, plain and through `encode gzip`
#
# The load tool for idle-longpoll is bench/feedsload (Go, one raw HTTP/1.1
# connection per listener). pouchdb-server is installed with npm into
# bench/out/peer (git-ignored) when absent; PEER=0 skips it.
#
# Usage: bash bench/feeds.sh
# Environment (defaults in brackets): DURATION [4s], ROUNDS [2],
#   WARMUP [1s], CONNS [16], THREADS [2], CHANGEGATE_BIN, BUILD_REF,
#   KEEP_TMP [0], STRICT [0] (see run.sh); LISTENERS [10000],
#   PEER_LISTENERS [1000], STREAM_ROWS [100000], PEER [1], NODE [1] (the
#   idle-longpoll workload again with a Node.js client).
set -euo pipefail

# Shorter runs than run.sh's defaults (set before sourcing it, which
# keeps values already set): this script has more workloads.
DURATION=${DURATION:-4s}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-1s}
CONNS=${CONNS:-16}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/run.sh
source "$REPO/bench/run.sh"

LISTENERS=${LISTENERS:-10000}
PEER_LISTENERS=${PEER_LISTENERS:-1000}
STREAM_ROWS=${STREAM_ROWS:-100000}
PEER=${PEER:-1}
NODE=${NODE:-1}
SEED_PARALLEL=${SEED_PARALLEL:-4}
TARGET_P99_MS=200
TARGET_BYTES=16384
TARGET_NORMAL=0.5

PEER_DIR=$REPO/bench/out/peer
PEER_PID=""
LOAD=""
declare -A FIG # figures for the report

feeds_cleanup() {
	local rc=$?
	stop_pid "$PEER_PID"
	(exit "$rc")
	cleanup
}

# --- Caddyfiles ---------------------------------------------------------------

caddyfile_feeds() {
	cat <<EOF
$(global_options "$ADMIN_PORT")

http://:$PORT_A {
	changes {
		resources /buckets/bench
	}
	docstore {
		storage bolt $WORK/bench.db
		userid_hmac_secret bench-secret-0123456789abcdef
		insecure_allow_all
		batch_max_requests 1000
	}
}

# The same store behind encode gzip, for the continuous feed.
http://:$PORT_C {
	encode gzip
	changes {
		resources /buckets/bench
	}
	docstore {
		storage bolt $WORK/bench.db
		userid_hmac_secret bench-secret-0123456789abcdef
		insecure_allow_all
	}
}
EOF
}
caddyfile_docstore() { caddyfile_feeds; }

# caddyfile_baselines adds respond and file_server sites serving the
# captured 10k-row answer on the same path. The body (CRLF separators,
# final LF LF) goes into a backtick token verbatim; check_same_bytes
# proves it is served unchanged.
caddyfile_baselines() {
	caddyfile_feeds
	printf '\nhttp://:%s {\n\thandle %s {\n\t\theader Content-Type application/json\n\t\theader Cache-Control must-revalidate\n\t\trespond `' "$PORT_B" "$NORMAL_PATH"
	cat "$WORK/normal.body"
	printf '` 200\n\t}\n}\n'
	mkdir -p "$WORK/files${NORMAL_PATH%/*}"
	cp "$WORK/normal.body" "$WORK/files$NORMAL_PATH"
	printf '\nhttp://:%s {\n\theader Content-Type application/json\n\troot * %s\n\tfile_server\n}\n' "$PORT_P" "$WORK/files"
}

# --- seeding ------------------------------------------------------------------

# seed_collection NAME N creates bench/NAME with N records of ~100 B
# through /v1/batch, 1,000 per batch.
seed_collection() {
	local name=$1 n=$2 dir=$WORK/seed-$1 i b=0 done=0
	api PUT "$URL_A/v1/buckets/bench/collections/$name" '{}' >/dev/null
	mkdir -p "$dir"
	while ((done < n)); do
		{
			printf '{"defaults":{"method":"POST","path":"/buckets/bench/collections/%s/records"},"requests":[' "$name"
			for ((i = 0; i < 1000 && done < n; i++, done++)); do
				((i > 0)) && printf ','
				printf '{"body":{"data":{"n":%d,"title":"record number %d of the feeds benchmark"}}}' "$done" "$done"
			done
			printf ']}'
		} >"$dir/batch-$(printf %05d $b).json"
		b=$((b + 1))
	done
	printf '%s\n' "$dir"/batch-*.json |
		xargs -P "$SEED_PARALLEL" -I{} curl -fsS -o {}.out -H 'Content-Type: application/json' \
			--data-binary @{} "$URL_A/v1/batch" || die "a seed batch of $name failed"
	local bad
	bad=$(jq -s '[.[].responses[].status | select(. >= 300)] | length' "$dir"/*.out)
	((bad == 0)) || die "$bad seed sub-requests of $name failed"
}

seed() {
	local start=$SECONDS
	api PUT "$URL_A/v1/buckets/bench" '{}' >/dev/null
	api PUT "$URL_A/v1/buckets/bench/collections/idle" '{}' >/dev/null
	seed_collection n1k 1000
	seed_collection n10k 10000
	seed_collection big "$STREAM_ROWS"
	log "seeded 1,000 + 10,000 + $STREAM_ROWS records in $((SECONDS - start))s"
}

capture() {
	NORMAL_PATH=/v1/buckets/bench/collections/n10k/_changes
	curl -fsS -o "$WORK/normal.body" "$URL_A$NORMAL_PATH" || die "capturing the 10k feed"
	local rows
	rows=$(jq '.results | length' "$WORK/normal.body")
	[[ $rows == 10000 ]] || die "the 10k feed has $rows rows"
	grep -q '`' "$WORK/normal.body" && die "the 10k feed holds a backtick"
	FIG[normal-bytes]=$(wc -c <"$WORK/normal.body")
}

reload_with_baselines() {
	caddyfile_baselines >"$WORK/Caddyfile.full"
	log "reloading with the respond (:$PORT_B) and file_server (:$PORT_P) baselines"
	XDG_DATA_HOME=$WORK/xdg XDG_CONFIG_HOME=$WORK/xdg \
		"$BIN" reload --config "$WORK/Caddyfile.full" --adapter caddyfile \
		--address "localhost:$ADMIN_PORT" >>"$WORK/server.log" 2>&1 || die "reload failed"
	local port
	for port in "$PORT_A" "$PORT_B" "$PORT_P"; do
		curl -fsS -o "$WORK/check.body" "http://127.0.0.1:$port$NORMAL_PATH" || die "GET on :$port failed"
		cmp -s "$WORK/normal.body" "$WORK/check.body" || die "the body on :$port differs from the captured one"
	done
	log "normal-10k: changes, respond and file_server serve the same ${FIG[normal-bytes]} bytes"
}

# --- workloads ----------------------------------------------------------------

# idle_longpoll LABEL N URL WRITE_URL PID [WRITE_BODY [TOOL_FLAGS...]]:
# parks N listeners and records the tool's figures under LABEL.
idle_longpoll() {
	local label=$1 n=$2 url=$3 wurl=$4 pid=$5 body=${6:-'{"data":{}}'} out
	shift $(($# < 6 ? $# : 6))
	out=$WORK/load-$label.txt
	log "$label: $n idle longpoll listeners $*"
	"$LOAD" -url "$url" -n "$n" -pid "$pid" -write-url "$wurl" -write-body "$body" "$@" >"$out" 2>&1 ||
		die "$label: $(cat "$out")"
	load_figures "$label" "$out"
}

# idle_longpoll_node LABEL N URL WRITE_URL PID: the same with Node's http
# client and a keep-alive Agent, as nano and PouchDB hold longpolls
# (bench/feedsload/node.mjs).
idle_longpoll_node() {
	local label=$1 n=$2 url=$3 wurl=$4 pid=$5 out
	out=$WORK/load-$label.txt
	log "$label: $n idle longpoll listeners, Node.js client"
	node "$REPO/bench/feedsload/node.mjs" "$url" "$n" "$pid" "$wurl" >"$out" 2>&1 || die "$label: $(cat "$out")"
	load_figures "$label" "$out"
}

# load_figures LABEL FILE: a load tool's output lines into FIG ("-" for
# a figure the tool does not give: node.mjs has no memory figure).
load_figures() {
	local label=$1 out=$2 name
	cat "$out" >&2
	FIG[$label-park]=$(grep -o 'in [0-9.]*s' "$out" | head -1 | tr -dc '0-9.')
	for name in parked:parked bytes:per_listener_bytes marginal:marginal_bytes answered:answered failed:failed \
		p50:p50_ms p99:p99_ms max:max_ms cpu:server_cpu_ms client-cpu:client_cpu_ms; do
		FIG[$label-${name%%:*}]=$(load_field "${name#*:}" "$out")
	done
}

# load_field NAME FILE: the value of NAME=value in FILE, or "-".
load_field() {
	local v
	v=$(grep -o "$1=[0-9.-]*" "$2" | head -1 | cut -d= -f2) || true
	echo "${v:--}"
}

# continuous LABEL URL [CURL_ARGS...]: one continuous feed read to its
# end; rows/s.
continuous() {
	local label=$1 url=$2 secs rows
	shift 2
	secs=$(curl -fsS "$@" -o "$WORK/cont-$label.body" -w '%{time_total}' "$url") || die "$label: curl failed"
	rows=$(grep -c '^{"seq"' "$WORK/cont-$label.body")
	((rows == STREAM_ROWS)) || die "$label: $rows rows, want $STREAM_ROWS"
	tail -n 2 "$WORK/cont-$label.body" | grep -q '^{"last_seq":' || die "$label: no last line"
	FIG[$label-rows-s]=$(awk -v r="$rows" -v s="$secs" 'BEGIN { printf "%.0f", r / s }')
	FIG[$label-secs]=$secs
	log "$label: $rows rows in ${secs}s"
}

# --- pouchdb-server -------------------------------------------------------------

start_peer() {
	[[ $PEER == 1 ]] || return 0
	if [[ ! -x $PEER_DIR/node_modules/.bin/pouchdb-server ]]; then
		log "installing pouchdb-server into $PEER_DIR"
		mkdir -p "$PEER_DIR"
		npm install --prefix "$PEER_DIR" --no-audit --no-fund --loglevel=error pouchdb-server@4.2.0 >&2 ||
			die "cannot install pouchdb-server"
	fi
	pick_port PEER_PORT
	PEER_URL=http://127.0.0.1:$PEER_PORT
	mkdir -p "$WORK/peer"
	(cd "$WORK/peer" && exec "$PEER_DIR/node_modules/.bin/pouchdb-server" --in-memory -p "$PEER_PORT" -o 127.0.0.1 -n) \
		>"$WORK/peer.log" 2>&1 &
	PEER_PID=$!
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "$PEER_URL/" 2>/dev/null && break
		sleep 0.2
	done
	curl -fsS -o /dev/null "$PEER_URL/" || die "pouchdb-server did not start: $(tail -5 "$WORK/peer.log")"
	curl -fsS -o /dev/null -X PUT "$PEER_URL/bench" || die "creating the peer database"
	curl -fsS -o /dev/null -X PUT "$PEER_URL/idle" || die "creating the peer idle database"
	jq -nc '{docs: [range(1000) | {_id: ("doc-\(.)"), n: ., title: "record number \(.) of the feeds benchmark"}]}' >"$WORK/peer-docs.json"
	curl -fsS -o /dev/null -H 'Content-Type: application/json' --data-binary @"$WORK/peer-docs.json" "$PEER_URL/bench/_bulk_docs" ||
		die "seeding the peer"
	log "pouchdb-server (pid $PEER_PID) on :$PEER_PORT with 1,000 docs"
}

# wrk_rps LABEL URL: one round of wrk; prints req/s.
wrk_rps() {
	local f
	f=$(wrk_once "$1" 1 "$DURATION" "$2")
	wrk_field "$f" rps
}

run_workloads() {
	local c=/v1/buckets/bench/collections
	measure_pair normal-10k "$URL_A$NORMAL_PATH" normal/changes "http://127.0.0.1:$PORT_B$NORMAL_PATH" normal/respond
	measure_pair normal-10k-file "$URL_A$NORMAL_PATH" normal/changes2 "http://127.0.0.1:$PORT_P$NORMAL_PATH" normal/file_server
	FIG[normal-1k-rps]=$(wrk_rps n1k/changes "$URL_A$c/n1k/_changes")
	continuous continuous "$URL_A$c/big/_changes?feed=continuous&timeout=0"
	continuous continuous-gzip "$URL_C$c/big/_changes?feed=continuous&timeout=0" --compressed
	idle_longpoll cg-peer "$PEER_LISTENERS" "$URL_A$c/idle/_changes?feed=longpoll&since=now" "$URL_A$c/idle/records/w1" "$SERVER_PID"
	idle_longpoll cg "$LISTENERS" "$URL_A$c/idle/_changes?feed=longpoll&since=now" "$URL_A$c/idle/records/w2" "$SERVER_PID"
	idle_longpoll cg-close "$LISTENERS" "$URL_A$c/idle/_changes?feed=longpoll&since=now" "$URL_A$c/idle/records/w3" "$SERVER_PID" '{"data":{}}' -close-each
	if [[ $NODE == 1 ]]; then
		idle_longpoll_node cg-node "$LISTENERS" "$URL_A$c/idle/_changes?feed=longpoll&since=now" "$URL_A$c/idle/records/w4" "$SERVER_PID"
	fi
	if [[ $PEER == 1 ]]; then
		FIG[peer-1k-rps]=$(wrk_rps n1k/peer "$PEER_URL/bench/_changes")
		idle_longpoll peer "$PEER_LISTENERS" "$PEER_URL/idle/_changes?feed=longpoll&since=now" "$PEER_URL/idle/w1" "$PEER_PID" '{}'
	fi
}

# --- report -------------------------------------------------------------------

report() {
	local met_p99 met_mem met_normal
	awk -v a="${FIG[cg-p99]}" -v b="$TARGET_P99_MS" -v f="${FIG[cg-failed]}" 'BEGIN { exit !(a <= b && f == 0) }' && met_p99=met || met_p99='**MISSED**'
	awk -v a="${FIG[cg-bytes]}" -v b="$TARGET_BYTES" 'BEGIN { exit !(a <= b) }' && met_mem=met || met_mem='**MISSED**'
	at_least "${RATIO[normal-10k]}" "$TARGET_NORMAL" && met_normal=met || met_normal='**MISSED**'
	echo
	echo "changegate feeds bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $SOURCE_DESC"
	echo "$(machine_line) (at the end; load from other jobs lengthens every latency here)"
	echo "idle-longpoll latencies run from the write to each listener's whole answer (the chunked body's end), client (bench/feedsload, one raw connection per listener) on the same 2 CPUs; it closes its connections once every answer is in unless -close-each"
	echo "wrk -t $THREADS -c $CONNS, warm-up $WARMUP then $ROUNDS rounds of $DURATION; normal-10k body ${FIG[normal-bytes]} B"
	echo
	echo "| workload | changegate | baseline / peer | target |"
	echo "|---|---|---|---|"
	echo "| $LISTENERS idle longpoll listeners: memory per listener (server RSS growth incl. connections; the second half's growth per listener) | ${FIG[cg-bytes]} B (${FIG[cg-marginal]} B) | - | ≤ $TARGET_BYTES B $met_mem |"
	echo "| one write → all $LISTENERS answered: p50 / p99 / max | ${FIG[cg-p50]} / ${FIG[cg-p99]} / ${FIG[cg-max]} ms (${FIG[cg-answered]} answered, ${FIG[cg-failed]} failed; CPU until the last answer: server ${FIG[cg-cpu]} ms, client ${FIG[cg-client-cpu]} ms) | - | p99 ≤ $TARGET_P99_MS ms $met_p99 |"
	echo "| the same, each client closing as soon as it has its answer (-close-each: over loopback its close and the server's receipt of its FIN run on these 2 CPUs inside the timed window) | ${FIG[cg-close-p50]} / ${FIG[cg-close-p99]} / ${FIG[cg-close-max]} ms (${FIG[cg-close-answered]} answered, ${FIG[cg-close-failed]} failed; server ${FIG[cg-close-cpu]} ms, client ${FIG[cg-close-client-cpu]} ms) | - | reported |"
	if [[ $NODE == 1 ]]; then
		echo "| the same with a Node.js client (http, keep-alive Agent: it closes each socket at its answer's end, as the server said close) | ${FIG[cg-node-p50]} / ${FIG[cg-node-p99]} / ${FIG[cg-node-max]} ms (${FIG[cg-node-answered]} answered, ${FIG[cg-node-failed]} failed; server ${FIG[cg-node-cpu]} ms, client ${FIG[cg-node-client-cpu]} ms) | - | reported |"
	fi
	if [[ $PEER == 1 ]]; then
		echo "| one write → all $PEER_LISTENERS answered: p50 / p99 / max | ${FIG[cg-peer-p50]} / ${FIG[cg-peer-p99]} / ${FIG[cg-peer-max]} ms, server CPU ${FIG[cg-peer-cpu]} ms, ${FIG[cg-peer-bytes]} B/listener | pouchdb-server: ${FIG[peer-p50]} / ${FIG[peer-p99]} / ${FIG[peer-max]} ms (${FIG[peer-answered]} answered, ${FIG[peer-failed]} failed; parked in ${FIG[peer-park]} s), server CPU ${FIG[peer-cpu]} ms, ${FIG[peer-bytes]} B/listener | reported |"
		echo "| normal feed, 1,000 changes: req/s | ${FIG[normal-1k-rps]} | pouchdb-server: ${FIG[peer-1k-rps]} | reported |"
	fi
	echo "| normal feed, 10,000 changes: req/s (p50 / p99 ms) | ${RPS[normal/changes]} (${P50[normal/changes]} / ${P99[normal/changes]}) | respond: ${RPS[normal/respond]}, ratio ${RATIO[normal-10k]} (${SPREAD[normal-10k]}) | ratio ≥ $TARGET_NORMAL $met_normal |"
	echo "| same, against file_server | ${RPS[normal/changes2]} | file_server: ${RPS[normal/file_server]}, ratio ${RATIO[normal-10k-file]} (${SPREAD[normal-10k-file]}) | reported |"
	echo "| continuous, $STREAM_ROWS rows (timeout=0) | ${FIG[continuous-rows-s]} rows/s (${FIG[continuous-secs]} s) | - | reported |"
	echo "| the same through encode gzip | ${FIG[continuous-gzip-rows-s]} rows/s (${FIG[continuous-gzip-secs]} s) | - | reported |"
}

feeds_main() {
	trap feeds_cleanup EXIT
	trap 'exit 130' INT TERM
	ensure_tools
	make_dirs
	build_binary
	LOAD=$WORK/feedsload
	(cd "$REPO" && go build -o "$LOAD" ./bench/feedsload) || die "building bench/feedsload"
	local attempt
	for attempt in 1 2 3; do
		pick_ports
		start_server && break
		((attempt < 3)) || die "the ports picked kept being taken"
	done
	seed
	capture
	reload_with_baselines
	start_peer
	run_workloads
	report
	log "done in ${SECONDS}s"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	feeds_main "$@"
fi
