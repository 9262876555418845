#!/usr/bin/env bash
# bench/throttle.sh: HTTP benchmark of the throttle directive, measured
# against Caddy's own `respond` of the same 1 KB body, all in ONE
# changegate process, with rounds interleaved (bench/run.sh explains why a
# same-run baseline: the ratio cancels the machine and its noise out).
#
# Workloads (each: throttle site vs respond site, same bytes):
#   memory-1-key      memory store, every wrk connection is the same client
#                     (the client IP): the store's lock at its busiest;
#   memory-10k-keys   memory store, a wrk Lua script rotates 10,000 client
#                     keys through an X-Client header (sent to both sides);
#   redis             Redis store, one script per request;
#   redis-pipeline    Redis store with `pipeline` (go-redis autopipelining);
#   headers-only      no throttle, but `header` sets the same five fields
#                     statically: what sending the fields alone costs (a
#                     diagnostic, no target).
# The limit (1,000,000 per second) never refuses: every request pays for a
# full decision and its headers, and wrk fails the run on any non-2xx.
#
# Measured per round, for each side: req/s and latency (wrk), and
# changegate's CPU time per request (/proc/PID/stat around each wrk run).
# Targets (issue 6): memory store overhead ≤ 5%, judged on the median
# per-round ratio of CPU per request (throttle / respond ≤ 1.05; req/s
# ratios are shown too, but on a shared machine they swing by more than
# 5% from round to round); Redis at most one command per request, counted
# by the Redis server (INFO commandstats) over every request wrk sent (a
# command is one round trip, or less when pipelined); p50/p99 for all.
#
# Redis: a private redis-server on a free loopback port, no persistence, so
# a shared Redis neither disturbs the counts nor is disturbed; without
# redis-server the Redis workloads are skipped.
#
# Usage: bash bench/throttle.sh
# Environment (defaults in brackets): DURATION [5s], ROUNDS [3],
#   WARMUP [2s], CONNS [32], THREADS [2], CHANGEGATE_BIN, BUILD_REF,
#   KEEP_TMP [0], STRICT [0] (exit 3 when a target is missed); see run.sh.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The docstore bench's helpers: log, die, ensure_tool, build_binary,
# pick_port, measure_pair (wrk rounds, RPS/P50/P99/REQS/RATIO/SPREAD),
# ratio, at_least, cleanup. Sourcing it does not run it.
# shellcheck source=bench/run.sh
source "$REPO/bench/run.sh"

TARGET_MEMORY=1.05 # CPU per request, throttle / respond
TARGET_COMMANDS=1.0
BODY_BYTES=1024
KEYS=10000
LIMIT="events 1000000
			window 1s"

REDIS_PID=""
REDIS_PORT=""
declare -A COMMANDS MEDIAN CPU_US CPU_RATIO # see measure

# --- setup ---------------------------------------------------------------------

throttle_cleanup() {
	local rc=$?
	if [[ -n $REDIS_PID ]]; then
		kill "$REDIS_PID" 2>/dev/null || true
		wait "$REDIS_PID" 2>/dev/null || true
	fi
	(exit "$rc")
	cleanup
}

# write_body writes the 1 KB JSON body both sides answer.
write_body() {
	local pad
	pad=$(printf "%$((BODY_BYTES - 11))s" '' | tr ' ' x)
	printf '{"data":"%s"}' "$pad" >"$WORK/body.json"
	[[ $(wc -c <"$WORK/body.json") == "$BODY_BYTES" ]] || die "body is not $BODY_BYTES bytes"
}

# start_redis runs a private redis-server; without one, REDIS_PORT stays
# empty and the Redis workloads are skipped.
start_redis() {
	if ! command -v redis-server >/dev/null; then
		log "no redis-server: the Redis workloads are skipped"
		return
	fi
	ensure_tool redis-cli redis-tools
	pick_port REDIS_PORT
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
		--dir "$WORK" >"$WORK/redis.log" 2>&1 &
	REDIS_PID=$!
	for _ in $(seq 100); do
		[[ $(redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]] && return
		sleep 0.1
	done
	die "redis-server did not answer within 10s"
}

# site PORT [THROTTLE_BODY] prints a site answering the body, behind a
# throttle block when one is given.
site() {
	local port=$1 throttle=${2:-} extra=${3:-}
	printf 'http://:%s {\n' "$port"
	[[ -n $throttle ]] && printf '\tthrottle {\n%s\n\t}\n' "$throttle"
	[[ -n $extra ]] && printf '%s\n' "$extra"
	printf '\theader Content-Type application/json\n\trespond `%s` 200\n}\n' "$(<"$WORK/body.json")"
}

# static_fields prints a header block setting the five rate limit fields
# as throttle sends them, for the headers-only diagnostic.
static_fields() {
	cat <<'EOF'
	header {
		X-RateLimit-Limit 1000000
		X-RateLimit-Remaining 999999
		X-RateLimit-Reset 1795324173
		RateLimit-Policy `"one";q=1000000;w=1`
		RateLimit `"one";r=999999;t=1`
	}
EOF
}

write_caddyfile() {
	cat <<EOF
$(global_options "$ADMIN_PORT")
EOF
	site "$PORT_BASE"
	site "$PORT_MEM" "		zone one {
			$LIMIT
		}"
	site "$PORT_HDRS" "" "$(static_fields)"
	site "$PORT_LEGACY" "		zone one {
			$LIMIT
		}
		disable_ietf_headers"
	site "$PORT_KEYS" "		zone many {
			key {http.request.header.X-Client}
			$LIMIT
		}"
	if [[ -n $REDIS_PORT ]]; then
		site "$PORT_REDIS" "		zone redis {
			$LIMIT
		}
		store redis 127.0.0.1:$REDIS_PORT"
		site "$PORT_PIPE" "		zone pipe {
			$LIMIT
		}
		store redis 127.0.0.1:$REDIS_PORT {
			pipeline
		}"
	fi
}

start_changegate() {
	write_caddyfile >"$WORK/Caddyfile"
	log "starting changegate (admin :$ADMIN_PORT)"
	launch_changegate "http://127.0.0.1:$PORT_BASE/" || die "a port was taken meanwhile"
}

# check_site fails unless the site answers the baseline's bytes with the
# rate limit headers of a decision.
check_site() {
	local port=$1 headers
	headers=$(curl -fsS -D - -o "$WORK/check.body" -H 'X-Client: check' "http://127.0.0.1:$port/") ||
		die "GET on :$port failed"
	cmp -s "$WORK/body.json" "$WORK/check.body" || die ":$port answers other bytes than the baseline"
	grep -qi '^X-RateLimit-Limit: 1000000' <<<"$headers" || die ":$port sent no X-RateLimit-Limit: $headers"
}

write_keys_lua() {
	cat >"$WORK/keys.lua" <<EOF
-- Rotates $KEYS client keys through X-Client, one per request.
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, { ["X-Client"] = "client-" .. (n % $KEYS) })
end
EOF
}

# --- measuring -----------------------------------------------------------------

# redis_commands prints the commands clients have sent the Redis server:
# commandstats also counts the TIME, GET and SET the script runs inside
# Redis, which are no round trips, and INFO is ours.
redis_commands() {
	redis-cli -p "$REDIS_PORT" info commandstats |
		awk -F'[:=,]' '/^cmdstat_/ && $1 !~ /^cmdstat_(info|time|get|set)$/ { s += $3 } END { print s + 0 }'
}

# timed_wrk LABEL ROUND URL [LUA]: one measured wrk round; prints its
# result file and changegate's CPU µs per request during it.
timed_wrk() {
	local c0 f
	c0=$(cpu_ticks)
	f=$(wrk_once "$1" "$2" "$DURATION" "$3" "${4:-}")
	echo "$f $(per_request_us $(($(cpu_ticks) - c0)) "$(wrk_field "$f" reqs)")"
}

# measure NAME PORT [LUA]: the throttle site against the baseline in
# interleaved rounds, in alternating order, plus changegate's CPU
# time per request on each side of each round: on a shared machine, CPU
# per request moves much less with the neighbours' load than req/s does.
# Sets RPS/P50/P99/REQS (summarize), RATIO (mean req/s ratio), SPREAD,
# MEDIAN (median per-round req/s ratio), CPU_US (µs per request, median)
# and CPU_RATIO (median per-round CPU ratio); for Redis sites COMMANDS.
measure() {
	local name=$1 port=$2 lua=${3:-} d=$1/throttle b=$1/respond r fd fb ud ub before=0
	local -a warm_d=() warm_b=() ratios=() cpu_ratios=() cpu_d=() cpu_b=()
	[[ $name == redis* ]] && before=$(redis_commands)
	log "$name: throttle vs respond, warm-up $WARMUP then $ROUNDS x $DURATION each"
	warm_d+=("$(wrk_once "$d" warmup "$WARMUP" "http://127.0.0.1:$port/" "$lua")")
	warm_b+=("$(wrk_once "$b" warmup "$WARMUP" "http://127.0.0.1:$PORT_BASE/" "$lua")")
	for ((r = 1; r <= ROUNDS; r++)); do
		# Odd rounds run the throttled site first, even rounds the
		# baseline: whatever the second run of a pair inherits from the
		# first (a warmer cache, a GC cycle, the neighbours' bursts)
		# falls on each side alike.
		if ((r % 2)); then
			read -r fd ud < <(timed_wrk "$d" "$r" "http://127.0.0.1:$port/" "$lua")
			read -r fb ub < <(timed_wrk "$b" "$r" "http://127.0.0.1:$PORT_BASE/" "$lua")
		else
			read -r fb ub < <(timed_wrk "$b" "$r" "http://127.0.0.1:$PORT_BASE/" "$lua")
			read -r fd ud < <(timed_wrk "$d" "$r" "http://127.0.0.1:$port/" "$lua")
		fi
		cpu_d+=("$ud")
		cpu_b+=("$ub")
		ratios+=("$(ratio "$(wrk_field "$fd" rps)" "$(wrk_field "$fb" rps)")")
		cpu_ratios+=("$(ratio "${cpu_d[-1]}" "${cpu_b[-1]}")")
		log "  round $r: req/s ratio ${ratios[-1]}, CPU per request ${cpu_d[-1]} vs ${cpu_b[-1]} µs (ratio ${cpu_ratios[-1]})"
	done
	summarize "$d" "${warm_d[@]}"
	summarize "$b" "${warm_b[@]}"
	RATIO[$name]=$(ratio "${RPS[$d]}" "${RPS[$b]}")
	SPREAD[$name]=$(printf '%s\n' "${ratios[@]}" | sort -g | sed -n '1p;$p' | paste -sd '-')
	MEDIAN[$name]=$(printf '%s\n' "${ratios[@]}" | median)
	CPU_US[$d]=$(printf '%s\n' "${cpu_d[@]}" | median)
	CPU_US[$b]=$(printf '%s\n' "${cpu_b[@]}" | median)
	CPU_RATIO[$name]=$(printf '%s\n' "${cpu_ratios[@]}" | median)
	if [[ $name == redis* ]]; then
		COMMANDS[$name]=$(ratio "$(($(redis_commands) - before))" "${REQS[$d]}")
	fi
}

run_workloads() {
	measure memory-1-key "$PORT_MEM"
	measure memory-10k-keys "$PORT_KEYS" "$WORK/keys.lua"
	measure memory-x-only "$PORT_LEGACY"
	measure headers-only "$PORT_HDRS"
	if [[ -n $REDIS_PORT ]]; then
		measure redis "$PORT_REDIS"
		measure redis-pipeline "$PORT_PIPE"
	fi
}

# --- report --------------------------------------------------------------------

MISSED=()
# result NAME TARGET_TEXT MET [COMMANDS]
result() {
	local name=$1 target=$2 met=$3 cmds=${4:--}
	printf '| %s | %s / %s | %s (%s), median %s | %s / %s µs (%s) | %s / %s | %s / %s | %s | %s %s |\n' "$name" \
		"${RPS[$name/throttle]}" "${RPS[$name/respond]}" "${RATIO[$name]}" "${SPREAD[$name]}" "${MEDIAN[$name]}" \
		"${CPU_US[$name/throttle]}" "${CPU_US[$name/respond]}" "${CPU_RATIO[$name]}" \
		"${P50[$name/throttle]}" "${P99[$name/throttle]}" "${P50[$name/respond]}" "${P99[$name/respond]}" \
		"$cmds" "$target" "$([[ $met == 1 ]] && echo met || echo '**MISSED**')"
	[[ $met == 1 ]] || MISSED+=("$name")
}

throttle_report() {
	local name met
	echo
	echo "changegate throttle bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $SOURCE_DESC"
	machine_line
	echo "wrk -t $THREADS -c $CONNS: warm-up $WARMUP, then $ROUNDS rounds of $DURATION per target, interleaved in alternating order; body $BODY_BYTES B${REDIS_PORT:+; $(redis-server --version | cut -d' ' -f1-3)}"
	echo
	echo "| workload | req/s throttle / respond | req/s ratio (per-round min-max), median | changegate CPU per request, throttle / respond (median ratio) | throttle p50 / p99 ms | respond p50 / p99 ms | Redis commands / request | target |"
	echo "|---|---|---|---|---|---|---:|---|"
	for name in memory-1-key memory-10k-keys memory-x-only; do
		at_least "$TARGET_MEMORY" "${CPU_RATIO[$name]}" && met=1 || met=0
		result "$name" "CPU ratio ≤ $TARGET_MEMORY" $met
	done
	result headers-only "none (diagnostic)" 1
	for name in redis redis-pipeline; do
		[[ -n ${COMMANDS[$name]:-} ]] || continue
		at_least "$TARGET_COMMANDS" "${COMMANDS[$name]}" && met=1 || met=0
		result "$name" "≤ $TARGET_COMMANDS command / request" $met "${COMMANDS[$name]}"
	done
	echo
	if ((${#MISSED[@]})); then
		echo "targets MISSED: ${MISSED[*]}"
	else
		echo "all targets met"
	fi
}

throttle_main() {
	trap throttle_cleanup EXIT
	trap 'exit 130' INT TERM
	ensure_tool curl
	ensure_tool wrk
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/changegate-throttle-bench.XXXXXX")
	mkdir -p "$WORK/xdg"
	build_binary
	write_body
	write_keys_lua
	start_redis
	pick_port ADMIN_PORT
	pick_port PORT_BASE
	pick_port PORT_MEM
	pick_port PORT_KEYS
	pick_port PORT_HDRS
	pick_port PORT_LEGACY
	pick_port PORT_REDIS
	pick_port PORT_PIPE
	start_changegate
	for port in "$PORT_MEM" "$PORT_KEYS" "$PORT_HDRS" "$PORT_LEGACY" ${REDIS_PORT:+"$PORT_REDIS" "$PORT_PIPE"}; do
		check_site "$port"
	done
	run_workloads
	throttle_report
	log "done in ${SECONDS}s"
	if ((${#MISSED[@]})) && [[ $STRICT == 1 ]]; then
		exit 3
	fi
}

throttle_main "$@"
