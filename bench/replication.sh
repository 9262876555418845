#!/usr/bin/env bash
# bench/replication.sh: a one-shot PouchDB pull of RECORDS records into a
# memory PouchDB (pouchdb-adapter-memory), from a changegate collection
# and from pouchdb-server (--in-memory) holding the same documents (ids,
# revs, bodies), in the same run, rounds interleaved with the order
# rotating, after a warm-up round that is not counted (the first pulls
# of a Node.js process run colder); also, reported, through a changegate sidecar in front of the
# same store. Reports per source the median time, requests and
# server CPU, and their ratio. The client (Node.js, PouchDB 9 from
# clients/node_modules) runs on the same CPUs as the servers.
#
# Usage: bash bench/replication.sh
# Environment (defaults in brackets): RECORDS [10000], ROUNDS [5],
#   CHANGEGATE_BIN (else built from this tree), KEEP_TMP [0].
# pouchdb-server is installed with npm into bench/out/peer (git-ignored)
# when absent, as bench/feeds.sh does.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RECORDS=${RECORDS:-10000}
ROUNDS=${ROUNDS:-5}
PEER_DIR=$REPO/bench/out/peer
WORK=$(mktemp -d)
PIDS=()
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[[ ${KEEP_TMP:-0} == 1 ]] && log "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 150); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done; return 1; }

[[ -d $REPO/clients/node_modules/pouchdb-replication ]] || die "run npm ci --prefix clients first"
command -v jq >/dev/null || die "jq is needed"
BIN=${CHANGEGATE_BIN:-$WORK/changegate}
if [[ -z ${CHANGEGATE_BIN:-} ]]; then
	log "building changegate"
	(cd "$REPO" && go build -o "$BIN" ./cmd/changegate)
fi
if [[ ! -x $PEER_DIR/node_modules/.bin/pouchdb-server ]]; then
	log "installing pouchdb-server into $PEER_DIR"
	mkdir -p "$PEER_DIR"
	npm install --prefix "$PEER_DIR" --no-audit --no-fund --loglevel=error pouchdb-server@4.2.0 >&2 ||
		die "cannot install pouchdb-server"
fi

CG_PORT=$(free_port)
ADMIN_PORT=$(free_port)
cat >"$WORK/Caddyfile" <<CADDY
{
	admin localhost:$ADMIN_PORT
	auto_https off
	persist_config off
}
:$CG_PORT {
	changes
	docstore {
		storage bolt $WORK/data.db
		userid_hmac_secret bench-secret-0123456789abcdef
	}
}
CADDY
"$BIN" run --config "$WORK/Caddyfile" --adapter caddyfile >"$WORK/changegate.log" 2>&1 &
CG_PID=$!
PIDS+=("$CG_PID")
CG=http://127.0.0.1:$CG_PORT/v1
wait_up "$CG/" || die "changegate did not start: $(tail -5 "$WORK/changegate.log")"
AUTH="Basic $(printf 'bench:pw' | base64)"
export AUTH
curl -fsS -o /dev/null -X PUT -H "Authorization: $AUTH" "$CG/buckets/bench"
curl -fsS -o /dev/null -X PUT -H "Authorization: $AUTH" "$CG/buckets/bench/collections/pull"
log "seeding $RECORDS records"
for ((i = 0; i < RECORDS; i += 25)); do
	jq -nc --argjson from "$i" --argjson to "$((i + 25 < RECORDS ? i + 25 : RECORDS))" \
		'{defaults: {method: "PUT"}, requests: [range($from; $to) | {path: "/buckets/bench/collections/pull/records/doc-\(.)", body: {data: {n: ., title: "record number \(.) of the replication benchmark"}}}]}'
done | while read -r batch; do
	curl -fsS -o /dev/null -H "Authorization: $AUTH" -H 'Content-Type: application/json' --data-binary "$batch" "$CG/batch"
done

# A sidecar in front of the same store: its documents come from the
# store's Kinto API (one records-list request per _bulk_get).
SC_PORT=$(free_port)
SC_ADMIN=$(free_port)
cat >"$WORK/Caddyfile.sidecar" <<CADDY
{
	admin localhost:$SC_ADMIN
	auto_https off
	persist_config off
}
:$SC_PORT {
	changes {
		resources /buckets/bench
		upstream $CG {
			auth basic bench pw
		}
	}
	reverse_proxy 127.0.0.1:$CG_PORT
}
CADDY
"$BIN" run --config "$WORK/Caddyfile.sidecar" --adapter caddyfile >"$WORK/sidecar.log" 2>&1 &
SC_PID=$!
PIDS+=("$SC_PID")
SC=http://127.0.0.1:$SC_PORT/v1
wait_up "$SC/" || die "sidecar did not start: $(tail -5 "$WORK/sidecar.log")"

PEER_PORT=$(free_port)
mkdir -p "$WORK/peer"
(cd "$WORK/peer" && exec "$PEER_DIR/node_modules/.bin/pouchdb-server" --in-memory -p "$PEER_PORT" -o 127.0.0.1 -n) >"$WORK/peer.log" 2>&1 &
PEER_PID=$!
PIDS+=("$PEER_PID")
PEER=http://127.0.0.1:$PEER_PORT
wait_up "$PEER/" || die "pouchdb-server did not start: $(tail -5 "$WORK/peer.log")"
curl -fsS -o /dev/null -X PUT "$PEER/pull"
node "$REPO/bench/replication-pull.mjs" copy "$CG/buckets/bench/collections/pull" "$PEER/pull"

log "pulling $RECORDS docs, $ROUNDS rounds"
node "$REPO/bench/replication-pull.mjs" pull "$((ROUNDS + 1))" \
	"changegate=$CG/buckets/bench/collections/pull@$CG_PID" "pouchdb-server=$PEER/pull@$PEER_PID" \
	"sidecar=$SC/buckets/bench/collections/pull@$SC_PID" | tee "$WORK/pulls.jsonl" >&2

jq -rs --arg cpu "$(nproc)" '
	def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def fig(src): map(select(.source == src and .round > 0)) | {ms: (map(.ms) | median), min: (map(.ms) | min), max: (map(.ms) | max),
		requests: (map(.requests) | median), cpu: (map(.server_cpu_ms) | median), docs: (.[0].docs)};
	fig("changegate") as $c | fig("pouchdb-server") as $p | fig("sidecar") as $s |
	"| source | docs | time, median (min-max) | requests | server CPU |",
	"|---|---|---|---|---|",
	"| changegate | \($c.docs) | \($c.ms) ms (\($c.min)-\($c.max)) | \($c.requests) | \($c.cpu) ms |",
	"| pouchdb-server --in-memory | \($p.docs) | \($p.ms) ms (\($p.min)-\($p.max)) | \($p.requests) | \($p.cpu) ms |",
	"| changegate sidecar in front of the same store | \($s.docs) | \($s.ms) ms (\($s.min)-\($s.max)) | \($s.requests) | \($s.cpu) ms (sidecar process only) |",
	"",
	"time ratio pouchdb-server / changegate: \(($p.ms / $c.ms * 100 | round) / 100); server CPU ratio: \(if $c.cpu > 0 then ($p.cpu / $c.cpu * 100 | round) / 100 else "n/a" end) (\(length / 3 - 1) pulls each after a warm-up round, \($cpu) CPUs shared by client and servers)"
' "$WORK/pulls.jsonl"
