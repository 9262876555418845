#!/usr/bin/env bash
# bench/sidecar.sh: HTTP benchmark of `changes` in sidecar mode (issue 8),
# each workload against a baseline measured in the same run, rounds
# interleaved (bench/run.sh explains why a same-run baseline).
#
# Two changegate processes, as a sidecar is deployed:
#   upstream  a standalone docstore (bolt file on disk) on :PORT_U, the
#             "existing Kinto server"; bucket "bench" holds COLLECTIONS
#             collections with one record each, bucket "cs" holds
#             collection "big" with RECORDS records of about 100 bytes;
#   sidecar   the process measured (its CPU time is the one counted):
#             :PORT_A  changes { upstream … } + reverse_proxy (the sidecar)
#             :PORT_F  conditional, cache_control, pretty, jsonp, throttle,
#                      changes { upstream … } and reverse_proxy together
#             :PORT_N  the full stack without changes (what changes adds)
#             :PORT_P  bare reverse_proxy to the upstream
#             :PORT_B  respond of the captured sidecar answers (added by a
#                      reload once they are known, same paths)
#             :PORT_C  file_server of the same bytes, a stricter reference:
#                      respond runs Caddy's placeholder replacer over its
#                      body on every request, file_server copies a file
# Workloads (targets from issue 8):
#   monitor     GET …/monitor/collections/changes/changeset?_expected=0 over
#               the COLLECTIONS entries, sidecar   vs respond   ratio ≥ 0.7
#   changeset   GET /v1/buckets/cs/collections/big/changeset?_expected=T,
#               cached, anonymous (the upstream's yes is reused for
#               auth_cache_ttl 1s)                 vs respond   ratio ≥ 0.7
#   record-get  GET of one record through the full stack   vs bare
#               reverse_proxy: at most 15% more CPU per request in the
#               sidecar process (CPU ratio ≥ 0.87; the upstream's own
#               work is in the other process and not counted)
#
#   monitor-file, changeset-file: the same against file_server, reported
#   record-get-changes  the full stack vs the same without changes: the
#               sidecar's own cost on a proxied read, reported
#
# Usage: bash bench/sidecar.sh
# Environment (defaults in brackets): DURATION [3s], ROUNDS [3],
#   WARMUP [1s], CONNS [32], THREADS [2], CHANGEGATE_BIN, BUILD_REF,
#   KEEP_TMP [0], STRICT [0] (exit 3 when a target is missed), see run.sh;
#   COLLECTIONS [1000], RECORDS [1000].
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WARMUP=${WARMUP:-1s}
DURATION=${DURATION:-3s}
RECORDS=${RECORDS:-1000}
# The changes bench's helpers (and through it run.sh's): measure,
# batch_lines, seed_batches, line, verdict, log, die, wrk_once, ...
# Sourcing it does not run it.
# shellcheck source=bench/changes.sh
source "$REPO/bench/changes.sh"

TARGET_MONITOR=0.7
TARGET_CHANGESET=0.7
TARGET_PROXY_CPU=0.87 # 1 / 1.15: at most 15% more CPU per request

UP_PID=""

sidecar_cleanup() {
	local rc=$?
	stop_pid "$UP_PID"
	(exit "$rc")
	cleanup
}

# --- Caddyfiles ---------------------------------------------------------------

caddyfile_upstream() {
	global_options "$ADMIN_UP"
	cat <<EOF
http://:$PORT_U {
	docstore {
		storage bolt $WORK/upstream.db
		userid_hmac_secret bench-secret-0123456789abcdef
		insecure_allow_all
	}
}
EOF
}

# changes_block prints the sidecar's changes directive (default poll
# settings: what a user gets).
changes_block() {
	cat <<EOF
	changes {
		resources /buckets/bench
		http_host bench.example
		since_max_age_days -1
		upstream http://127.0.0.1:$PORT_U/v1
	}
EOF
}

# manners_block prints the full stack's other directives.
manners_block() {
	cat <<EOF
	throttle {
		zone api {
			key {remote_host}
			events 10000000
			window 1m
		}
	}
	conditional
	cache_control
	pretty
	jsonp
EOF
}

caddyfile_sidecar() {
	global_options "$ADMIN_PORT"
	printf 'http://:%s {\n' "$PORT_A"
	changes_block
	printf '\treverse_proxy 127.0.0.1:%s\n}\n' "$PORT_U"
	printf 'http://:%s {\n' "$PORT_F"
	manners_block
	changes_block
	printf '\treverse_proxy 127.0.0.1:%s\n}\n' "$PORT_U"
	printf 'http://:%s {\n' "$PORT_N"
	manners_block
	printf '\treverse_proxy 127.0.0.1:%s\n}\n' "$PORT_U"
	printf 'http://:%s {\n\treverse_proxy 127.0.0.1:%s\n}\n' "$PORT_P" "$PORT_U"
}

# changes.sh's caddyfile_baselines (respond on :PORT_B, file_server on
# :PORT_C, same paths) and reload_with_baselines (reload, then compare
# the bytes on :PORT_A, :PORT_B and :PORT_C) start from this.
caddyfile_changes() { caddyfile_sidecar; }

# --- processes ----------------------------------------------------------------

start_upstream() {
	caddyfile_upstream >"$WORK/Caddyfile.upstream"
	log "starting the upstream (docstore :$PORT_U)"
	XDG_DATA_HOME=$WORK/xdg-up XDG_CONFIG_HOME=$WORK/xdg-up \
		"$BIN" run --config "$WORK/Caddyfile.upstream" --adapter caddyfile >"$WORK/upstream.log" 2>&1 &
	UP_PID=$!
	for _ in $(seq 100); do
		kill -0 "$UP_PID" 2>/dev/null || die "the upstream exited at start: $(tail -5 "$WORK/upstream.log")"
		curl -fsS -o /dev/null "http://127.0.0.1:$PORT_U/v1/__heartbeat__" 2>/dev/null && return
		sleep 0.1
	done
	die "the upstream did not answer within 10s"
}

start_sidecar() {
	caddyfile_sidecar >"$WORK/Caddyfile"
	log "starting the sidecar (:$PORT_A, full stack :$PORT_F, bare proxy :$PORT_P)"
	launch_changegate "http://127.0.0.1:$PORT_P/v1/__heartbeat__" || die "a port was taken meanwhile"
}

# --- capture ------------------------------------------------------------------

capture_sidecar() {
	local ts n id
	MONITOR_PATH=/v1/buckets/monitor/collections/changes/changeset
	MONITOR_URL="http://127.0.0.1:$PORT_A$MONITOR_PATH?_expected=0"
	curl -fsS -o "$WORK/monitor.body" "$MONITOR_URL" || die "monitor failed"
	n=$(jq '.changes | length' "$WORK/monitor.body")
	[[ $n == "$COLLECTIONS" ]] || die "the sidecar's monitor lists $n collections, want $COLLECTIONS"

	CS_PATH=/v1/buckets/cs/collections/big/changeset
	ts=$(curl -fsS -I "http://127.0.0.1:$PORT_U/v1/buckets/cs/collections/big/records" | tr -d '\r' | awk -F': ' 'tolower($1) == "etag" {gsub(/"/, "", $2); print $2}')
	CS_URL="http://127.0.0.1:$PORT_A$CS_PATH?_expected=$ts"
	curl -fsS -o "$WORK/changeset.body" "$CS_URL" || die "changeset failed"
	n=$(jq '.changes | length' "$WORK/changeset.body")
	[[ $n == "$RECORDS" ]] || die "the sidecar's changeset lists $n records, want $RECORDS"
	curl -fsS -D "$WORK/cs.headers" -o /dev/null "$CS_URL"
	grep -qi '^Cache-Status: changegate; hit' "$WORK/cs.headers" || die "the second changeset request is not a cache hit"

	id=$(jq -r '.changes[0].id' "$WORK/changeset.body")
	RECORD_URL="http://127.0.0.1:$PORT_P/v1/buckets/cs/collections/big/records/$id"
	curl -fsS -o "$WORK/record.body" "$RECORD_URL" || die "record GET failed"
	curl -fsS -o "$WORK/record-full.body" "${RECORD_URL/:$PORT_P/:$PORT_F}" || die "record GET through the full stack failed"
	cmp -s "$WORK/record.body" "$WORK/record-full.body" || die "the full stack changes the record body"
	log "monitor $(wc -c <"$WORK/monitor.body") B, changeset $(wc -c <"$WORK/changeset.body") B, record $(wc -c <"$WORK/record.body") B"
}

# --- report -------------------------------------------------------------------

sidecar_report() {
	local m1 m2 m3
	at_least "${RATIO[monitor]}" "$TARGET_MONITOR" && m1=1 || m1=0
	at_least "${RATIO[changeset]}" "$TARGET_CHANGESET" && m2=1 || m2=0
	at_least "${CPU_RATIO[record-get]}" "$TARGET_PROXY_CPU" && m3=1 || m3=0
	report_head sidecar target ", record $(wc -c <"$WORK/record.body") B; CPU counted in the sidecar process only"
	line "monitor" monitor/sidecar monitor/respond "vs respond, req/s ratio ≥ $TARGET_MONITOR" "$(verdict $m1)"
	line "monitor-file" monitor-file/sidecar monitor/file_server "vs file_server, reported" ""
	line "changeset" changeset/sidecar changeset/respond "vs respond, req/s ratio ≥ $TARGET_CHANGESET" "$(verdict $m2)"
	line "changeset-file" changeset-file/sidecar changeset/file_server "vs file_server, reported" ""
	line "record-get" record-get/full-stack record-get/reverse_proxy "vs bare reverse_proxy, CPU ratio ≥ $TARGET_PROXY_CPU (≤ 15% more)" "$(verdict $m3)"
	line "record-get-changes" record-get-changes/full-stack record-get/without-changes "vs the same stack without changes, reported" ""
	((m1 && m2 && m3)) || MISSED+=(sidecar)
}

sidecar_main() {
	trap sidecar_cleanup EXIT
	trap 'exit 130' INT TERM
	ensure_tools
	make_dirs
	[[ -n $SHM ]] && rmdir "$SHM"
	SHM=""
	build_binary
	pick_port ADMIN_UP
	pick_port ADMIN_PORT
	pick_port PORT_U
	pick_port PORT_A
	pick_port PORT_F
	pick_port PORT_P
	pick_port PORT_N
	pick_port PORT_B
	pick_port PORT_C
	start_upstream
	URL_A=http://127.0.0.1:$PORT_U # seed writes straight to the upstream
	seed
	start_sidecar
	capture_sidecar
	reload_with_baselines
	measure monitor "$MONITOR_URL" monitor/sidecar "${MONITOR_URL/:$PORT_A/:$PORT_B}" monitor/respond
	measure monitor-file "$MONITOR_URL" monitor-file/sidecar "${MONITOR_URL/:$PORT_A/:$PORT_C}" monitor/file_server
	measure changeset "$CS_URL" changeset/sidecar "${CS_URL/:$PORT_A/:$PORT_B}" changeset/respond
	measure changeset-file "$CS_URL" changeset-file/sidecar "${CS_URL/:$PORT_A/:$PORT_C}" changeset/file_server
	measure record-get "${RECORD_URL/:$PORT_P/:$PORT_F}" record-get/full-stack "$RECORD_URL" record-get/reverse_proxy
	measure record-get-changes "${RECORD_URL/:$PORT_P/:$PORT_F}" record-get-changes/full-stack "${RECORD_URL/:$PORT_P/:$PORT_N}" record-get/without-changes
	sidecar_report
	log "done in ${SECONDS}s"
	if ((${#MISSED[@]})) && [[ $STRICT == 1 ]]; then
		exit 3
	fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	sidecar_main "$@"
fi
