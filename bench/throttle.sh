#!/usr/bin/env bash
# bench/throttle.sh: HTTP benchmark of the throttle directive, measured
# against Caddy's own `respond` of the same 1 KB body, all in ONE
# changegate process, with rounds interleaved (bench/run.sh explains why a
# same-run baseline: the ratio cancels the machine and its noise out).
#
# Workloads:
#   memory-1-key      memory store, every wrk connection is the same client
#                     (the client IP): the store's lock at its busiest;
#   memory-10k-keys   memory store, a wrk Lua script rotates 10,000 client
#                     keys through an X-Client header (sent to every site);
#   memory-x-only     memory store with disable_ietf_headers (three fields);
#   redis             Redis store, one script per request;
#   redis-pipeline    Redis store with `pipeline` (go-redis autopipelining).
# Each memory workload runs three sites in rotating order: the throttled
# one, the plain 1 KB respond, and respond of the same bytes, the 1 KB
# body with the rate limit fields the throttled site sends set to the
# same values by Caddy's `header` directive (checked byte for byte). The
# second baseline is what the fields the issue requires on every response
# cost without any limiter; the Redis workloads run against the plain one.
# The limit (1,000,000 per second) never refuses: every request pays for a
# full decision and its headers, and wrk fails the run on any non-2xx.
#
# Measured per round, for each site: req/s and latency (wrk), and
# changegate's CPU time per request (/proc/PID/stat around each wrk run).
# Targets (issue 6): memory store overhead ≤ 5%, judged on the median
# per-round ratio of CPU per request against respond of the same bytes
# (≤ 1.05), with a 95% bootstrap interval of that median; the ratios
# against the plain respond, and of req/s, are reported beside it. Redis:
# at most one command per request, counted by the Redis server (INFO
# commandstats) over every request wrk sent (a command is one round trip,
# or less when pipelined); p50/p99 for all.
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
# See measure: by workload, each ratio against respond and, with SAME_ in
# front, against respond of the same bytes.
declare -A CPU_ROUNDS # by site: CPU µs per request of each round
declare -A COMMANDS MEDIAN MEDIAN_CI CPU_US CPU_RATIO CPU_CI SAME_MEDIAN SAME_MEDIAN_CI SAME_CPU_RATIO SAME_CPU_CI

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

# same_fields ZONE [x-only] prints a header block setting the rate limit
# fields to the values throttle sends for a fresh client of ZONE with the
# bench's limit; the reset second is any ten-digit one, like throttle's.
same_fields() {
	printf '\theader {\n'
	printf '\t\tX-RateLimit-Limit 1000000\n\t\tX-RateLimit-Remaining 999999\n\t\tX-RateLimit-Reset 1795324173\n'
	if [[ ${2:-} != x-only ]]; then
		printf '\t\tRateLimit-Policy `"%s";q=1000000;w=1`\n\t\tRateLimit `"%s";r=999999;t=1`\n' "$1" "$1"
	fi
	printf '\t}\n'
}

write_caddyfile() {
	cat <<EOF
$(global_options "$ADMIN_PORT")
EOF
	site "$PORT_BASE"
	site "$PORT_MEM" "		zone one {
			$LIMIT
		}"
	site "$PORT_SAME" "" "$(same_fields one)"
	site "$PORT_SAME_MANY" "" "$(same_fields many)"
	site "$PORT_SAME_X" "" "$(same_fields one x-only)"
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

# check_site PORT [SAME_PORT] fails unless the site answers the
# baseline's bytes with the rate limit headers of a decision, and the same
# header fields as the site that is to send the same bytes.
check_site() {
	local port=$1 same=${2:-} headers
	headers=$(curl -fsS -D - -o "$WORK/check.body" -H 'X-Client: check' "http://127.0.0.1:$port/") ||
		die "GET on :$port failed"
	cmp -s "$WORK/body.json" "$WORK/check.body" || die ":$port answers other bytes than the baseline"
	grep -qi '^X-RateLimit-Limit: 1000000' <<<"$headers" || die ":$port sent no X-RateLimit-Limit: $headers"
	[[ -n $same ]] || return 0
	local want
	want=$(curl -fsS -D - -o /dev/null -H 'X-Client: check' "http://127.0.0.1:$same/") || die "GET on :$same failed"
	[[ $(comparable_fields <<<"$headers") == $(comparable_fields <<<"$want") ]] ||
		die ":$same does not send the fields of :$port: $headers --- $want"
}

# comparable_fields prints a response head's fields in order, without
# the values that differ from one response to the next but keep their
# width: Date and the reset second.
comparable_fields() {
	sort | grep -iv '^date:' | sed 's/^\(X-Ratelimit-Reset: \).*/\1/'
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

# measure NAME PORT SAME_PORT [LUA]: the throttle site against the
# baseline (and, unless SAME_PORT is -, against respond of the same bytes)
# in interleaved rounds whose order rotates and reverses from round to
# round, plus changegate's CPU time per request on each site of each
# round: on a shared machine, CPU per request moves much less with the
# neighbours' load than req/s does. Sets RPS/P50/P99/REQS (summarize) of
# NAME/throttle, NAME/respond and NAME/same, RATIO (mean req/s ratio),
# SPREAD, MEDIAN (median per-round req/s ratio), CPU_US (µs per request,
# median), CPU_RATIO (median per-round CPU ratio), MEDIAN_CI and CPU_CI
# (95% bootstrap intervals of those medians, "low-high"), the same with
# SAME_ against the same bytes, and for Redis sites COMMANDS.
measure() {
	local name=$1 port=$2 same=$3 lua=${4:-} r k i m lo hi before=0
	local -a labels=("$name/throttle" "$name/respond") urls=("http://127.0.0.1:$port/" "http://127.0.0.1:$PORT_BASE/")
	[[ $same != - ]] && labels+=("$name/same") urls+=("http://127.0.0.1:$same/")
	local n=${#labels[@]} f u
	local -a warm=() ratios=() cpu_ratios=() same_ratios=() same_cpu_ratios=() rps cpu
	[[ $name == redis* ]] && before=$(redis_commands)
	log "$name: ${labels[*]}, warm-up $WARMUP then $ROUNDS x $DURATION each"
	for ((k = 0; k < n; k++)); do
		warm+=("$(wrk_once "${labels[k]}" warmup "$WARMUP" "${urls[k]}" "$lua")")
	done
	for ((r = 1; r <= ROUNDS; r++)); do
		# Each site takes each place in the order equally often: whatever
		# a run inherits from the one before (a warmer cache, a GC cycle,
		# the neighbours' bursts) falls on every site alike.
		for ((k = 0; k < n; k++)); do
			i=$(((r % 2 ? k : n - 1 - k) + r / 2))
			i=$((i % n))
			read -r f u < <(timed_wrk "${labels[i]}" "$r" "${urls[i]}" "$lua")
			rps[i]=$(wrk_field "$f" rps) cpu[i]=$u
		done
		CPU_ROUNDS[$name/throttle]+=" ${cpu[0]}" CPU_ROUNDS[$name/respond]+=" ${cpu[1]}"
		ratios+=("$(ratio "${rps[0]}" "${rps[1]}" 4)")
		cpu_ratios+=("$(ratio "${cpu[0]}" "${cpu[1]}" 4)")
		if ((n == 3)); then
			CPU_ROUNDS[$name/same]+=" ${cpu[2]}"
			same_ratios+=("$(ratio "${rps[0]}" "${rps[2]}" 4)")
			same_cpu_ratios+=("$(ratio "${cpu[0]}" "${cpu[2]}" 4)")
		fi
		log "  round $r: CPU per request ${cpu[*]} µs, req/s ${rps[*]}"
	done
	for ((k = 0; k < n; k++)); do
		summarize "${labels[k]}" "${warm[k]}"
		CPU_US[${labels[k]}]=$(tr ' ' '\n' <<<"${CPU_ROUNDS[${labels[k]}]# }" | median)
	done
	RATIO[$name]=$(ratio "${RPS[$name/throttle]}" "${RPS[$name/respond]}")
	SPREAD[$name]=$(printf '%s\n' "${ratios[@]}" | sort -g | sed -n '1p;$p' | xargs printf '%.2f\n' | paste -sd '-')
	read -r m lo hi < <(printf '%s\n' "${ratios[@]}" | median_ci)
	MEDIAN[$name]=$m MEDIAN_CI[$name]=$lo-$hi
	read -r m lo hi < <(printf '%s\n' "${cpu_ratios[@]}" | median_ci)
	CPU_RATIO[$name]=$m CPU_CI[$name]=$lo-$hi
	if ((n == 3)); then
		read -r m lo hi < <(printf '%s\n' "${same_ratios[@]}" | median_ci)
		SAME_MEDIAN[$name]=$m SAME_MEDIAN_CI[$name]=$lo-$hi
		read -r m lo hi < <(printf '%s\n' "${same_cpu_ratios[@]}" | median_ci)
		SAME_CPU_RATIO[$name]=$m SAME_CPU_CI[$name]=$lo-$hi
	fi
	if [[ $name == redis* ]]; then
		COMMANDS[$name]=$(ratio "$(($(redis_commands) - before))" "${REQS[$name/throttle]}")
	fi
}

run_workloads() {
	measure memory-1-key "$PORT_MEM" "$PORT_SAME"
	measure memory-10k-keys "$PORT_KEYS" "$PORT_SAME_MANY" "$WORK/keys.lua"
	measure memory-x-only "$PORT_LEGACY" "$PORT_SAME_X"
	if [[ -n $REDIS_PORT ]]; then
		measure redis "$PORT_REDIS" -
		measure redis-pipeline "$PORT_PIPE" -
	fi
}

# --- report --------------------------------------------------------------------

MISSED=()
# result NAME TARGET_TEXT MET [COMMANDS]
result() {
	local name=$1 target=$2 met=$3 cmds=${4:--} same=-
	[[ -n ${SAME_CPU_RATIO[$name]:-} ]] && same="${SAME_CPU_RATIO[$name]} (${SAME_CPU_CI[$name]})"
	printf '| %s | %s / %s / %s | %s / %s / %s µs | **%s** | %s (%s) | %s (%s) | %s (%s) | %s / %s | %s / %s | %s | %s %s |\n' "$name" \
		"${RPS[$name/throttle]}" "${RPS[$name/respond]}" "${RPS[$name/same]:--}" \
		"${CPU_US[$name/throttle]}" "${CPU_US[$name/respond]}" "${CPU_US[$name/same]:--}" \
		"$same" "${CPU_RATIO[$name]}" "${CPU_CI[$name]}" \
		"${SAME_MEDIAN[$name]:--}" "${SAME_MEDIAN_CI[$name]:--}" "${MEDIAN[$name]}" "${MEDIAN_CI[$name]}" \
		"${P50[$name/throttle]}" "${P99[$name/throttle]}" "${P50[$name/respond]}" "${P99[$name/respond]}" \
		"$cmds" "$target" "$([[ $met == 1 ]] && echo met || echo '**MISSED**')"
	[[ $met == 1 ]] || MISSED+=("$name")
}

throttle_report() {
	local name met
	echo
	echo "changegate throttle bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $SOURCE_DESC"
	machine_line
	echo "wrk -t $THREADS -c $CONNS: warm-up $WARMUP, then $ROUNDS rounds of $DURATION per site, in rotating order; body $BODY_BYTES B${REDIS_PORT:+; $(redis-server --version | cut -d' ' -f1-3)}"
	echo "Ratios are medians of per-round ratios, with 95% bootstrap intervals; \"same bytes\" is respond with the same rate limit fields set by \`header\`."
	echo
	echo "| workload | req/s throttle / respond / same bytes | CPU per request throttle / respond / same bytes | CPU ratio to same bytes | CPU ratio to respond | req/s ratio to same bytes | req/s ratio to respond | throttle p50 / p99 ms | respond p50 / p99 ms | Redis commands / request | target |"
	echo "|---|---|---|---|---|---|---|---|---|---:|---|"
	for name in memory-1-key memory-10k-keys memory-x-only; do
		at_least "$TARGET_MEMORY" "${SAME_CPU_RATIO[$name]}" && met=1 || met=0
		result "$name" "CPU ratio to same bytes ≤ $TARGET_MEMORY" $met
	done
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
	pick_port PORT_SAME
	pick_port PORT_SAME_MANY
	pick_port PORT_SAME_X
	pick_port PORT_LEGACY
	pick_port PORT_REDIS
	pick_port PORT_PIPE
	start_changegate
	check_site "$PORT_MEM" "$PORT_SAME"
	check_site "$PORT_KEYS" "$PORT_SAME_MANY"
	check_site "$PORT_LEGACY" "$PORT_SAME_X"
	for port in ${REDIS_PORT:+"$PORT_REDIS" "$PORT_PIPE"}; do
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
