#!/usr/bin/env bash
# bench/pretty_bound.sh: peak memory (VmHWM) of changegate answering
# ?pretty for the campaign's 18 KB document of 9,000 nested arrays,
# CONCURRENT requests at once, with `pretty` in front of `file_server`.
# Compares the binary built from BEFORE_REF (git archive) with the work
# tree's when BEFORE_REF is set. Listens on 127.0.0.1; stops by itself.
#
# Usage: [BEFORE_REF=<commit>] [CONCURRENT=3] bash bench/pretty_bound.sh
set -euo pipefail

CONCURRENT=${CONCURRENT:-3}
BEFORE_REF=${BEFORE_REF:-}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d)
PID=
cleanup() {
	if [[ -n $PID ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

build() {
	local src=$REPO
	if [[ -n ${2:-} ]]; then
		src=$WORK/src-$1
		mkdir -p "$src"
		git -C "$REPO" archive "$2" | tar -x -C "$src"
	fi
	(cd "$src" && go build -o "$WORK/$1" ./cmd/changegate)
}

# measure <binary> <label> prints one table row.
measure() {
	local port=$(( 20000 + RANDOM % 20000 )) admin=$(( 40000 + RANDOM % 20000 )) start sizes
	cat >"$WORK/Caddyfile" <<CADDY
{
	admin localhost:$admin
	http_port $port
	auto_https off
	persist_config off
}
:$port {
	pretty
	header Content-Type application/json
	root * $WORK/site
	file_server
}
CADDY
	"$WORK/$1" run --config "$WORK/Caddyfile" --adapter caddyfile >"$WORK/server.log" 2>&1 &
	PID=$!
	for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/bomb.json" && break; sleep 0.1; done
	local base
	base=$(awk '/VmHWM/{print $2}' "/proc/$PID/status")
	start=$(date +%s.%N)
	sizes=$(for _ in $(seq "$CONCURRENT"); do curl -s -o /dev/null -w '%{size_download}\n' --max-time 120 "http://127.0.0.1:$port/bomb.json?pretty" & done; wait)
	local secs peak
	secs=$(echo "$(date +%s.%N) - $start" | bc -l)
	peak=$(awk '/VmHWM/{print $2}' "/proc/$PID/status")
	printf '| %s | %s | %s | %.0f | %.0f | %.2f |\n' "$2" "$CONCURRENT" "$(sort -u <<<"$sizes" | paste -sd, -)" \
		"$(echo "$base / 1024" | bc -l)" "$(echo "$peak / 1024" | bc -l)" "$secs"
	kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
}

mkdir -p "$WORK/site"
python3 -c "print('['*9000+']'*9000, end='')" >"$WORK/site/bomb.json"
build after
[[ -n $BEFORE_REF ]] && build before "$BEFORE_REF"
echo "| binary | concurrent | bytes per answer | VmHWM before (MiB) | VmHWM after (MiB) | seconds |"
echo "|---|---|---|---|---|---|"
[[ -n $BEFORE_REF ]] && measure before "before ($(git -C "$REPO" rev-parse --short "$BEFORE_REF"))"
measure after "after ($(git -C "$REPO" rev-parse --short HEAD))"
