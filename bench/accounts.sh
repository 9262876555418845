#!/usr/bin/env bash
# Record GET authenticated by an account (verified-credentials cache) vs
# plain basicauth: BenchmarkRecordGetAuth in docstore, the two modes run
# in alternation for ROUNDS rounds so that both see the same machine
# load; prints each round's ratio and the median. Stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-10}
bin=$(mktemp -d)/docstore.test
trap 'rm -rf "$(dirname "$bin")"' EXIT
go test -c -o "$bin" ./docstore/
ns() { "$bin" -test.run x -test.bench "RecordGetAuth/$1\$" -test.benchtime 1s | awk '/cpu-ns\/op/ {for (i = 1; i < NF; i++) if ($(i+1) == "cpu-ns/op") print $i}'; }
ratios=()
for i in $(seq "$ROUNDS"); do
	b=$(ns basicauth); a=$(ns accounts)
	r=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f", a/b}')
	ratios+=("$r")
	echo "round $i: basicauth $b CPU ns/request, accounts $a, ratio $r"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "median ratio accounts/basicauth: %.3f (min %s, max %s)\n", m, v[1], v[NR]}'
