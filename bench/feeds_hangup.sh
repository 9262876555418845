#!/usr/bin/env bash
# feeds_hangup.sh: the epoll hangup watcher (feeds/feed_hangup_linux.go)
# against one goroutine per parked longpoll (the same code built with
# -tags nohangupwatch), in the same run, alternating, a fresh server per
# round: LISTENERS idle longpolls parked by bench/feedsload, then one
# write. Per round and variant: RSS growth per listener (all, and the
# second half's), the server's goroutines with every listener parked
# (Caddy's admin pprof), p50/p99 of the write to every answer, server CPU.
#
# With BEFORE_REF set, the variants are instead a binary built from that
# commit (git archive) and one from this tree, both as shipped: the same
# rounds compare a change of the feeds before and after.
#
# Usage: [BEFORE_REF=<commit>] bash bench/feeds_hangup.sh
# Environment (defaults in brackets): LISTENERS [10000], ROUNDS [3],
#   KEEP_TMP [0], LOAD_FLAGS [] (more bench/feedsload flags, e.g. -close-each),
#   BEFORE_REF [] (see above).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/run.sh
source "$REPO/bench/run.sh"

LISTENERS=${LISTENERS:-10000}
ROUNDS=${ROUNDS:-3}
BEFORE_REF=${BEFORE_REF:-}

caddyfile_idle() {
	cat <<CF
$(global_options "$ADMIN_PORT")

http://:$PORT_A {
	changes {
		resources /buckets/bench
	}
	docstore {
		storage bolt $WORK/bench-$1.db
		userid_hmac_secret bench-secret-0123456789abcdef
		insecure_allow_all
	}
}
CF
}

# one_round VARIANT ROUND: a fresh server of that variant, LISTENERS
# parked, one write; the tool's line of figures on stdout.
one_round() {
	local variant=$1 round=$2 out c
	BIN=$WORK/changegate-$variant
	pick_ports
	caddyfile_idle "$variant-$round" >"$WORK/Caddyfile"
	launch_changegate "$URL_A/v1/__heartbeat__" || die "$variant: the ports picked were taken"
	c=$URL_A/v1/buckets/bench/collections/idle
	api PUT "$URL_A/v1/buckets/bench" '{}' >/dev/null
	api PUT "$c" '{}' >/dev/null
	out=$WORK/load-$variant-$round.txt
	"$WORK/feedsload" -url "$c/_changes?feed=longpoll&since=now" -n "$LISTENERS" -pid "$SERVER_PID" \
		-write-url "$c/records/w" ${LOAD_FLAGS:-} -goroutines-url "http://localhost:$ADMIN_PORT/debug/pprof/goroutine?debug=1" \
		>"$out" 2>&1 || die "$variant round $round: $(cat "$out")"
	stop_pid "$SERVER_PID"
	SERVER_PID=""
	echo "| $variant | $round | $(tr '\n' ' ' <"$out" | grep -o 'per_listener_bytes=[0-9]*\|marginal_bytes=[0-9]*\|server_goroutines=[0-9]*\|answered=[0-9]*\|failed=[0-9]*\|p50_ms=[0-9.]*\|p99_ms=[0-9.]*\|server_cpu_ms=[0-9]*' | cut -d= -f2 | paste -sd'|' | sed 's/|/ | /g') |"
}

# build_variants builds the two binaries compared, named after their
# variant, and the load tool; it prints the variants' names.
build_variants() {
	if [[ -z $BEFORE_REF ]]; then
		log "building changegate with the epoll watcher and with -tags nohangupwatch"
		(cd "$REPO" && go build -o "$WORK/changegate-epoll" ./cmd/changegate &&
			go build -tags nohangupwatch -o "$WORK/changegate-goroutine" ./cmd/changegate) >&2 || die "build failed"
		echo "epoll goroutine"
	else
		log "building changegate at $BEFORE_REF and from this tree"
		mkdir -p "$WORK/src-before"
		git -C "$REPO" archive "$BEFORE_REF" | tar -x -C "$WORK/src-before"
		(cd "$WORK/src-before" && go build -o "$WORK/changegate-before" ./cmd/changegate) >&2 || die "building $BEFORE_REF"
		(cd "$REPO" && go build -o "$WORK/changegate-after" ./cmd/changegate) >&2 || die "build failed"
		echo "before after"
	fi
	(cd "$REPO" && go build -o "$WORK/feedsload" ./bench/feedsload) >&2 || die "building bench/feedsload"
}

hangup_main() {
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	make_dirs
	local variants
	variants=$(build_variants) || die "build failed"
	echo "$(machine_line) (at the start); $LISTENERS listeners, git $(git -C "$REPO" rev-parse --short HEAD)${BEFORE_REF:+, before: $(git -C "$REPO" rev-parse --short "$BEFORE_REF")}"
	echo
	echo "| variant | round | B/listener (all) | B/listener (second half) | goroutines parked | answered | failed | p50 ms | p99 ms | server CPU ms |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	local r v
	for ((r = 1; r <= ROUNDS; r++)); do
		for v in $variants; do
			one_round "$v" "$r"
		done
	done
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	hangup_main "$@"
fi
