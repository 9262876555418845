#!/usr/bin/env bash
# bench/pg-cpu.sh BIN: where the CPU of a record GET and of a list of 100
# with _since goes on PostgreSQL. One changegate (BIN) on a fresh schema
# with 125 records; wrk -t2 -c32, 1 s warm-up then 5 s, per target; prints
# requests/s, the CPU per request of the process and of the PostgreSQL
# backends serving it (found by application_name; per backend, so that
# backends coming and going do not count twice), then the same for Caddy's
# respond of the same bytes in a second process. SEED_BIN seeds with
# another binary. Needs psql, wrk, python3; ports 47121-47122.
set -u
BIN=${1:?usage: bench/pg-cpu.sh BIN}
S=cg_getcpu_$RANDOM$RANDOM
DSN=postgres://postgres@127.0.0.1:5432/test
psql -q "$DSN" -c "CREATE SCHEMA $S"
W=$(mktemp -d)
cat > $W/Caddyfile <<EOC
{
	admin off
	auto_https off
	persist_config off
}
http://127.0.0.1:47121 {
	docstore {
		storage postgres "postgres://postgres@127.0.0.1:5432/test?sslmode=disable&search_path=$S&application_name=$S"
		userid_hmac_secret bench-secret-0123456789abcdef
		insecure_allow_all
	}
}
EOC
${SEED_BIN:-$BIN} run --config $W/Caddyfile --adapter caddyfile 2>/dev/null & P=$!
sleep 2.5
H=http://127.0.0.1:47121/v1
j() { curl -s -X$1 "$H$2" -d "${3:-{\}}" -H 'Content-Type: application/json' >/dev/null; }
j PUT /buckets/bench; j PUT /buckets/bench/collections/c
for i in $(seq 0 4); do
  body='{"requests":['; for k in $(seq 1 25); do n=$((i*25+k)); body+="{\"method\":\"PUT\",\"path\":\"/buckets/bench/collections/c/records/r$n\",\"body\":{\"data\":{\"n\":$n,\"pad\":\"$(head -c 200 /dev/zero | tr '\0' x)\"}}},"; done; body="${body%,}]}"
  curl -s -XPOST $H/batch -d "$body" -H 'Content-Type: application/json' >/dev/null
done
psql -q "$DSN" -c "ANALYZE $S.objects"
curl -s $H/buckets/bench/collections/c/records/r50 > $W/get.body
curl -s "$H/buckets/bench/collections/c/records?_since=1&_limit=100" > $W/list.body
if [[ -n ${SEED_BIN:-} ]]; then kill $P; wait $P 2>/dev/null; $BIN run --config $W/Caddyfile --adapter caddyfile 2>/dev/null & P=$!; sleep 2.5; fi
pgcpu() { for p in $(psql -qAt "$DSN" -c "select pid from pg_stat_activity where application_name like '$S/%'"); do awk -v p=$p '{print p":"$14+$15}' /proc/$p/stat 2>/dev/null; done | tr '\n' ' '; }
pgdelta() { awk -v a="$1" -v b="$2" 'BEGIN{n=split(a,x," "); for(i=1;i<=n;i++){split(x[i],y,":"); t0[y[1]]=y[2]} n=split(b,x," "); s=0; for(i=1;i<=n;i++){split(x[i],y,":"); s+=y[2]-(y[1] in t0 ? t0[y[1]] : 0)} print s}'; }
cgcpu() { awk '{print $14+$15}' /proc/$1/stat; }
measure() { # label pid url pg
  local g0 p0 g1 p1 out n
  wrk -t2 -c32 -d1s "$3" >/dev/null
  g0=$(cgcpu $2); p0=$(pgcpu)
  out=$(wrk -t2 -c32 -d5s "$3")
  g1=$(cgcpu $2); p1=$(pgcpu)
  p1=$(pgdelta "$p0" "$p1"); p0=0
  n=$(echo "$out" | awk '/requests in/{print $1}')
  echo "| $1 | $(echo "$out" | awk '/Requests\/sec/{printf "%d", $2}') | $(awk -v a=$g0 -v b=$g1 -v n=$n 'BEGIN{printf "%.1f", (b-a)*10000/n}') | $(awk -v a=$p0 -v b=$p1 -v n=$n -v pg=$4 'BEGIN{if (pg) printf "%.1f", (b-a)*10000/n; else printf "-"}') | load $(cut -d' ' -f1 /proc/loadavg) |"
}
echo "| target | req/s | changegate (or Caddy) CPU µs/request | PostgreSQL CPU µs/request | |"
echo "|---|---:|---:|---:|---|"
measure "record GET (docstore)" $P "$H/buckets/bench/collections/c/records/r50" 1
measure "list-100 _since (docstore)" $P "$H/buckets/bench/collections/c/records?_since=1&_limit=100" 1
kill $P; wait $P 2>/dev/null
psql -q "$DSN" -c "DROP SCHEMA $S CASCADE" 2>/dev/null
python3 - "$W" <<'PY'
import json,sys
w=sys.argv[1]
def lit(p):
    return json.dumps(open(p).read())
open(w+"/Caddyfile2","w").write("""{
	admin off
	auto_https off
	persist_config off
}
http://127.0.0.1:47122 {
	handle /get {
		header Content-Type application/json
		respond %s 200
	}
	handle /list {
		header Content-Type application/json
		respond %s 200
	}
}
""" % (lit(w+"/get.body"), lit(w+"/list.body")))
PY
$BIN run --config $W/Caddyfile2 --adapter caddyfile 2>/dev/null & P=$!
for _ in $(seq 50); do curl -fs -o /dev/null http://127.0.0.1:47122/get && break; sleep 0.2; done
measure "respond, record bytes" $P "http://127.0.0.1:47122/get" 0
measure "respond, list bytes" $P "http://127.0.0.1:47122/list" 0
kill $P; wait $P 2>/dev/null
rm -rf $W
